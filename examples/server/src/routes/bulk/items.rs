//! The body of a `_bulk` request → items and records, without HTTP.
//!
//! Pure: text in, items and records out, errors as [`logingest::Error`]
//! (the handler turns them into answers). It depends on nothing of the
//! server, so the `bulk` fuzz target (`fuzz/`) includes this very file and
//! fuzzes the parser the server runs, and `check.rs` (its check, also
//! replayed by the stable tests) reads the items.

use logingest::{parse_ecs_document, Error, ParseOptions, Record, RecordError};
use serde_json::{Map, Value};

/// One action of the request, in order.
#[derive(Debug)]
pub(crate) enum Item {
    /// A record to store, from an `index`/`create` action.
    Store {
        action: String,
        index: String,
        id: Option<String>,
        record: usize,
    },
    /// An item answered with an error without storing anything.
    Failed {
        action: String,
        index: String,
        id: Option<String>,
        status: u16,
        kind: &'static str,
        reason: String,
    },
}

/// Splits the body into items; valid sources become records (in item order).
///
/// `default_index` is the index of the path (`/{index}/_bulk`); an action's
/// own `_index` overrides it. Items that name neither are answered as index
/// `logs` and stored without an `_index` field. `meter` is told the memory
/// of each item and record before it is kept (as `parse_records_metered`
/// does); its error ends parsing.
pub(crate) fn parse_bulk<E: From<Error>>(
    text: &str,
    default_index: Option<&str>,
    limits: &logingest::Limits,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<(Vec<Item>, Vec<Record>), E> {
    let mut items = Vec::new();
    let mut records = Vec::new();
    let mut lines = lines_with_offsets(text).filter(|(_, l)| !l.trim().is_empty());
    // One receive time for the whole request, as `POST /logs` has.
    let options = ParseOptions::default()
        .limits(*limits)
        .receive_time(logingest::Timestamp::now());
    let mut actions = 0usize;
    // A whole-request error at byte `offset` of the body.
    let at = |offset: usize, reason: String| {
        E::from(Error::from(RecordError::at(
            text.as_bytes(),
            offset,
            reason,
        )))
    };
    while let Some((offset, line)) = lines.next() {
        // Every action counts, stored or not: the limit bounds the work and
        // the answer's size as it does for `POST /logs`.
        actions += 1;
        if actions > limits.max_records {
            return Err(Error::TooLarge(format!(
                "body has more than {} bulk items, the limit is {}",
                limits.max_records, limits.max_records
            ))
            .into());
        }
        let action: Map<String, Value> = serde_json::from_str(line).map_err(|e| {
            let column = e.column().max(1);
            let reason = e.to_string();
            let reason = reason
                .rsplit_once(" at line ")
                .map_or(&reason[..], |(r, _)| r);
            at(
                offset + column - 1,
                format!("malformed action/metadata line: {reason}"),
            )
        })?;
        let (name, meta) = match action.iter().next() {
            Some((name, Value::Object(meta))) if action.len() == 1 => (name.clone(), meta.clone()),
            _ => {
                return Err(at(offset, "malformed action/metadata line: expected one of index, create, update, delete with an object".to_owned()))
            }
        };
        let named_index = meta.get("_index").and_then(Value::as_str).or(default_index);
        let index = named_index.unwrap_or("logs").to_owned();
        let id = meta
            .get("_id")
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        // The item's answer, before its record (if any) is made.
        meter(size_of::<Item>() + index.len() + id.as_ref().map_or(0, String::len))?;
        match name.as_str() {
            "index" | "create" => {
                let Some((source_offset, source)) = lines.next() else {
                    return Err(at(offset, format!("`{name}` action without a source line")));
                };
                match parse_ecs_document(source, named_index, &options) {
                    Ok(record) => {
                        meter(record.memory())?;
                        records.push(record);
                        items.push(Item::Store {
                            action: name,
                            index,
                            id,
                            record: records.len() - 1,
                        });
                    }
                    Err(e) => {
                        let reason = in_body(text, source_offset, e);
                        meter(reason.len())?;
                        items.push(failed(name, index, id, reason));
                    }
                }
            }
            "update" => {
                lines.next();
                items.push(unsupported(
                    name,
                    index,
                    id,
                    "update is not supported: logs are append-only",
                ));
            }
            "delete" => {
                items.push(unsupported(
                    name,
                    index,
                    id,
                    "delete is not supported: use retention",
                ));
            }
            other => return Err(at(offset, format!("unknown bulk action `{other}`"))),
        }
    }
    Ok((items, records))
}

/// The lines of `text` (without their line ends), each with its byte offset.
fn lines_with_offsets(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |offset, line| {
        let start = *offset;
        *offset += line.len();
        let line = line.strip_suffix('\n').unwrap_or(line);
        Some((start, line.strip_suffix('\r').unwrap_or(line)))
    })
}

/// The reason of an item whose source (at `offset` of the body) is not a
/// record, located in the body rather than in the source line alone.
fn in_body(text: &str, offset: usize, e: Error) -> String {
    let Error::InvalidRecord(r) = e else {
        return e.to_string();
    };
    // The document is one line of the body, its columns those of the line.
    let column = r.column.unwrap_or(1);
    let mut located = RecordError::at(text.as_bytes(), offset + column - 1, r.reason);
    located.field = r.field;
    located.to_string()
}

/// An action logs do not support, answered per item.
fn unsupported(action: String, index: String, id: Option<String>, reason: &str) -> Item {
    Item::Failed {
        action,
        index,
        id,
        status: 400,
        kind: "action_request_validation_exception",
        reason: reason.to_owned(),
    }
}

fn failed(action: String, index: String, id: Option<String>, reason: String) -> Item {
    Item::Failed {
        action,
        index,
        id,
        status: 400,
        kind: "document_parsing_exception",
        reason,
    }
}
