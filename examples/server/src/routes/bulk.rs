//! `POST /_bulk` and `POST /{index}/_bulk`: the Elasticsearch bulk API
//! subset that shippers (Vector, Fluent Bit, Filebeat, Logstash, the
//! official clients' bulk helpers) use to send logs.
//!
//! Unlike `POST /logs`, items are independent, as in Elasticsearch: each
//! `index`/`create` item whose source is a valid record is stored, each
//! invalid one gets its own 400 item with the reason, and the answer comes
//! once the valid ones are durable. `delete` and `update` are answered per
//! item as unsupported (logs are append-only). A malformed action line fails
//! the whole request with 400, as Elasticsearch does.
//!
//! Sources are read as Elastic Common Schema documents
//! ([`logingest_core::parse_ecs_document`]): `@timestamp`, `log.level`,
//! `service.name` / `host.name`, `trace.id` and `span.id` fill the record's
//! own fields when it has none of its own, so Filebeat-style documents are
//! filed under their own time. An index the client names (in the action
//! line or the path) is kept as the field `_index`, so several shippers can
//! be told apart (`_index:filebeat-*`); it partitions nothing. Mapping and
//! examples: `docs/ingest-protocols.md`.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query as QueryString, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use logingest_core::{parse_ecs_document, Error, ParseOptions, Record, RecordError};
use serde_json::{json, Map, Value};

use super::body;
use super::ingest::submit;
use crate::auth::Role;
use crate::budget::Meter;
use crate::error::ApiError;
use crate::state::Shared;

/// Parameters Elasticsearch clients send that do not change what we store.
const IGNORED_PARAMS: &[&str] = &[
    "refresh",
    "filter_path",
    "timeout",
    "pipeline",
    "routing",
    "wait_for_active_shards",
    "require_alias",
    "require_data_stream",
    "_source",
    "pretty",
    "human",
    "error_trace",
];

/// `POST /_bulk`.
pub async fn bulk(
    state: State<Shared>,
    query: QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    handle(state, None, query, headers, payload).await
}

/// `POST /{index}/_bulk`.
pub async fn bulk_index(
    state: State<Shared>,
    Path(index): Path<String>,
    query: QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    handle(state, Some(index), query, headers, payload).await
}

/// One action of the request, in order.
enum Item {
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

async fn handle(
    State(state): State<Shared>,
    default_index: Option<String>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    state.authorize(&headers, Role::Ingest, "send records")?;
    let params = body::params(raw, IGNORED_PARAMS)?;
    let wait_visible = matches!(
        params.get("refresh").map(String::as_str),
        Some("true" | "wait_for" | "")
    );
    let limits = state.limits;
    let ((items, records), reservation) =
        body::parse_reserved(&state, &headers, payload, move |bytes, meter| {
            let text = std::str::from_utf8(bytes).map_err(|e| {
                Error::from(RecordError::at(bytes, e.valid_up_to(), "invalid UTF-8"))
            })?;
            parse_bulk(text, default_index.as_deref(), &limits, meter)
        })
        .await?;
    let first_seq = if records.is_empty() {
        0
    } else {
        submit_for_seq(&state, records, wait_visible).await?
    };
    drop(reservation);
    let mut errors = false;
    let answers: Vec<Value> = items
        .into_iter()
        .map(|item| {
            let (action, body) = match item {
                Item::Store {
                    action,
                    index,
                    id,
                    record,
                } => {
                    let seq = first_seq + record as u64;
                    let id = id.unwrap_or_else(|| seq.to_string());
                    let body = json!({
                        "_index": index, "_id": id, "_version": 1, "result": "created",
                        "_shards": {"total": 1, "successful": 1, "failed": 0},
                        "_seq_no": seq, "_primary_term": 1, "status": 201,
                    });
                    (action, body)
                }
                Item::Failed {
                    action,
                    index,
                    id,
                    status,
                    kind,
                    reason,
                } => {
                    errors = true;
                    let body = json!({
                        "_index": index, "_id": id, "status": status,
                        "error": {"type": kind, "reason": reason},
                    });
                    (action, body)
                }
            };
            let mut item = Map::new();
            item.insert(action, body);
            Value::Object(item)
        })
        .collect();
    let answer =
        json!({ "took": started.elapsed().as_millis() as u64, "errors": errors, "items": answers });
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    Ok(response)
}

/// Submits the valid records and returns the sequence number of the first.
async fn submit_for_seq(
    state: &Shared,
    records: Vec<Record>,
    wait_visible: bool,
) -> Result<u64, ApiError> {
    let (count, first_seq) = submit(state, records, wait_visible).await?;
    debug_assert!(count > 0);
    Ok(first_seq)
}

/// Splits the body into items; valid sources become records (in item order).
///
/// `default_index` is the index of the path (`/{index}/_bulk`); an action's
/// own `_index` overrides it. Items that name neither are answered as index
/// `logs` and stored without an `_index` field.
fn parse_bulk(
    text: &str,
    default_index: Option<&str>,
    limits: &logingest_core::Limits,
    meter: &mut Meter,
) -> Result<(Vec<Item>, Vec<Record>), ApiError> {
    let mut items = Vec::new();
    let mut records = Vec::new();
    let mut lines = lines_with_offsets(text).filter(|(_, l)| !l.trim().is_empty());
    // One receive time for the whole request, as `POST /logs` has.
    let options = ParseOptions::default()
        .limits(*limits)
        .receive_time(logingest_core::Timestamp::now());
    let mut actions = 0usize;
    // A whole-request error at byte `offset` of the body.
    let at = |offset: usize, reason: String| {
        ApiError::from(Error::from(RecordError::at(
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
        meter.add(size_of::<Item>() + index.len() + id.as_ref().map_or(0, String::len))?;
        match name.as_str() {
            "index" | "create" => {
                let Some((source_offset, source)) = lines.next() else {
                    return Err(at(offset, format!("`{name}` action without a source line")));
                };
                match parse_ecs_document(source, named_index, &options) {
                    Ok(record) => {
                        meter.add(record.memory())?;
                        records.push(record);
                        items.push(Item::Store {
                            action: name,
                            index,
                            id,
                            record: records.len() - 1,
                        });
                    }
                    Err(e) => {
                        let reason = in_body(text, source_offset, source, e);
                        meter.add(reason.len())?;
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
fn in_body(text: &str, offset: usize, source: &str, e: Error) -> String {
    let Error::InvalidRecord(r) = e else {
        return e.to_string();
    };
    // The document was parsed trimmed, as one line.
    let start = offset + (source.len() - source.trim_start().len());
    let column = r.column.unwrap_or(1);
    let mut located = RecordError::at(text.as_bytes(), start + column - 1, r.reason);
    located.field = r.field;
    if r.column.is_none() {
        located.column = None;
    }
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
