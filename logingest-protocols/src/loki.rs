//! The Loki push API (`POST /loki/api/v1/push`), as Promtail, Grafana
//! Alloy, the Docker driver and Loki client libraries send it: a
//! `PushRequest` in protobuf, snappy-compressed (block format), or the same
//! in JSON (`{"streams":[{"stream":{...},"values":[["<ns>","line"]]}]}`),
//! read into records.
//!
//! Mapping (each entry, a line, becomes one record):
//!
//! | record | from |
//! |---|---|
//! | `timestamp` | the entry's time (nanoseconds); a protobuf entry without one: the receive time |
//! | `message` | the line, as is |
//! | `level` | the first stream label of `level`, `severity`, `detected_level`, `lvl`; else the same names in the entry's structured metadata |
//! | `resourceId` | the first stream label of `service_name`, `service`, `app`, `application`, `job` |
//! | `traceId`, `spanId` | structured metadata (else a label) `trace_id` / `traceID` / `traceId`, `span_id` / `spanID` / `spanId`: a pair of structured metadata moves there, not repeated under `metadata` |
//! | `metadata.labels.<name>` | every stream label, the mapped ones too |
//! | `metadata.<name>` | each other pair of the entry's structured metadata |
//!
//! Structured metadata named `labels` or `attributes` is kept under
//! `metadata.attributes.<name>` instead, so it cannot hide the labels.
//! A push is stored whole or not at all; errors name their place
//! (`streams[2].entries[7].timestamp`, `streams[0].labels`, or a JSON
//! body's line and column).

mod json;
mod labels;
pub mod proto;

use logingest_core::{fields, ParseOptions, Record, Timestamp};
use prost::Message;
use serde_json::{Map, Value};

use crate::decoded::{json_bytes, protobuf_bytes, JsonWeights};
use crate::record::Batch;
use crate::ProtocolError;

/// How the request body is encoded: a snappy-compressed protobuf
/// `PushRequest`, or the JSON form.
pub use crate::Encoding;

/// The encoding a push's `Content-Type` names; no type is protobuf, as
/// Loki reads it; `None` for any other type.
pub fn encoding(content_type: &str) -> Option<Encoding> {
    if content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .is_empty()
    {
        Some(Encoding::Protobuf)
    } else {
        Encoding::from_content_type(content_type)
    }
}

/// A decoded push, in the terms of either encoding.
#[derive(Debug, Default)]
pub struct Push {
    streams: Vec<Stream>,
    encoding: Option<Encoding>,
}

#[derive(Debug)]
struct Stream {
    labels: Vec<(String, String)>,
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    /// Nanoseconds since the epoch; `None`: the receive time.
    time: Option<i64>,
    line: String,
    metadata: Vec<(String, String)>,
}

impl Push {
    /// The number of entries.
    pub fn count(&self) -> usize {
        self.streams.iter().map(|s| s.entries.len()).sum()
    }
}

/// The body as the protobuf it compresses (snappy, block format), refused
/// when it would be over `limit` bytes before anything is allocated;
/// `meter` is told its size first. A JSON body comes back as it is.
pub fn uncompress<'a, E: From<ProtocolError>>(
    body: &'a [u8],
    encoding: Encoding,
    limit: usize,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<std::borrow::Cow<'a, [u8]>, E> {
    if encoding == Encoding::Json {
        return Ok(body.into());
    }
    let snappy = |e: snap::Error| {
        ProtocolError::invalid(None, format!("not a snappy-compressed protobuf body: {e}"))
    };
    let len = snap::raw::decompress_len(body).map_err(snappy)?;
    if len > limit {
        return Err(E::from(ProtocolError::TooLarge {
            location: None,
            reason: format!("the body uncompresses to {len} bytes, the limit is {limit}"),
        }));
    }
    meter(len)?;
    Ok(snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(snappy)?
        .into())
}

/// An upper bound of the bytes [`decode_request`] allocates for `raw` (an
/// uncompressed body), to reserve before decoding (see `crate::decoded`).
pub fn decoded_bytes(raw: &[u8], encoding: Encoding) -> usize {
    match encoding {
        Encoding::Protobuf => protobuf_bytes(raw, proto::Message::Push, proto::largest_struct()),
        Encoding::Json => json_bytes(
            raw,
            &JsonWeights {
                object: 3 * json::largest_struct(),
                // An entry is an array.
                array: 3 * json::largest_struct(),
                // A key or value of the stream's labels or an entry's
                // structured metadata: half a pair of strings in a map,
                // then in a growing `Vec`.
                token: 4 * std::mem::size_of::<String>(),
            },
        ),
    }
}

/// Decodes an uncompressed body ([`uncompress`]).
pub fn decode_request(raw: &[u8], encoding: Encoding) -> Result<Push, ProtocolError> {
    let streams = match encoding {
        Encoding::Protobuf => {
            let push = proto::PushRequest::decode(raw)
                .map_err(|e| ProtocolError::protobuf(&e, "a Loki PushRequest"))?;
            from_protobuf(push)?
        }
        Encoding::Json => json::decode(raw)?,
    };
    Ok(Push {
        streams,
        encoding: Some(encoding),
    })
}

fn from_protobuf(push: proto::PushRequest) -> Result<Vec<Stream>, ProtocolError> {
    push.streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| {
            let labels = labels::parse(&stream.labels)
                .map_err(|e| ProtocolError::invalid(Some(format!("streams[{s}].labels")), e))?;
            let entries = stream
                .entries
                .into_iter()
                .enumerate()
                .map(|(e, entry)| {
                    let time = entry
                        .timestamp
                        .map(|t| nanos(t.seconds, t.nanos))
                        .transpose()
                        .map_err(|reason| {
                            ProtocolError::invalid(
                                Some(format!("streams[{s}].entries[{e}].timestamp")),
                                reason,
                            )
                        })?;
                    let metadata = entry
                        .structured_metadata
                        .into_iter()
                        .map(|pair| (pair.name, pair.value))
                        .collect();
                    Ok(Entry {
                        time,
                        line: entry.line,
                        metadata,
                    })
                })
                .collect::<Result<_, ProtocolError>>()?;
            Ok(Stream { labels, entries })
        })
        .collect()
}

/// A `google.protobuf.Timestamp` in nanoseconds.
fn nanos(seconds: i64, nanos: i32) -> Result<i64, String> {
    if !(0..1_000_000_000).contains(&nanos) {
        return Err(format!("nanos {nanos} is not within 0 to 999999999"));
    }
    seconds
        .checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(i64::from(nanos)))
        .ok_or_else(|| {
            format!("{seconds} seconds is outside the times a record can have (1677 to 2262)")
        })
}

/// Label names that give a record's level, resource and ids, in order.
const LEVEL: [&str; 4] = ["level", "severity", "detected_level", "lvl"];
const RESOURCE: [&str; 5] = ["service_name", "service", "app", "application", "job"];
const TRACE: [&str; 3] = ["trace_id", "traceID", "traceId"];
const SPAN: [&str; 3] = ["span_id", "spanID", "spanId"];

/// Structured metadata names of our own; pairs of these names move under
/// `attributes`.
const RESERVED: [&str; 2] = ["labels", "attributes"];

/// The value of the first of `names` that `pairs` has; of a name given
/// twice (structured metadata may), the last value, as `metadata` keeps.
fn first<'a>(pairs: &'a [(String, String)], names: &[&str]) -> Option<&'a str> {
    first_pair(pairs, names).map(|(_, value)| value.as_str())
}

/// [`first`], with the name it was found under.
fn first_pair<'a>(pairs: &'a [(String, String)], names: &[&str]) -> Option<&'a (String, String)> {
    names
        .iter()
        .find_map(|name| pairs.iter().rev().find(|(n, _)| n == name))
}

/// Reads the entries of a decoded push into records (see the module doc
/// for the mapping), all or nothing; `meter` is told about the memory the
/// records take.
pub fn records<E: From<ProtocolError>>(
    push: &Push,
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Vec<Record>, E> {
    let total = push.count();
    let limit = options.limits.max_records;
    if total > limit {
        return Err(E::from(ProtocolError::TooLarge {
            location: None,
            reason: format!("the push has {total} entries, the limit is {limit}"),
        }));
    }
    let entries = match push.encoding {
        Some(Encoding::Json) => "values",
        _ => "entries",
    };
    let mut batch = Batch::new(&options.limits);
    for (s, stream) in push.streams.iter().enumerate() {
        let labels: Map<String, Value> = stream
            .labels
            .iter()
            .map(|(n, v)| (n.clone(), Value::from(v.as_str())))
            .collect();
        // Written once a stream, not once an entry.
        let labels_json = Value::Object(labels).to_string();
        let service = first(&stream.labels, &RESOURCE);
        for (e, entry) in stream.entries.iter().enumerate() {
            let mut out = batch.record(format!("streams[{s}].{entries}[{e}]"));
            if let Some(time) = entry.time {
                out.string(fields::TIMESTAMP, &Timestamp::from_nanos(time).to_rfc3339());
            }
            let level = first(&stream.labels, &LEVEL).or_else(|| first(&entry.metadata, &LEVEL));
            if let Some(level) = level {
                out.string(fields::LEVEL, level);
            }
            out.string(fields::MESSAGE, &entry.line);
            if let Some(service) = service {
                out.string(fields::RESOURCE_ID, service);
            }
            // Ids given as structured metadata move to their fields (they
            // are unique values: indexing them twice is what costs most).
            let mut moved = [None, None];
            for (i, (field, names)) in [(fields::TRACE_ID, &TRACE), (fields::SPAN_ID, &SPAN)]
                .into_iter()
                .enumerate()
            {
                let id = match first_pair(&entry.metadata, names) {
                    Some((name, value)) => {
                        moved[i] = Some(name.as_str());
                        Some(value.as_str())
                    }
                    None => first(&stream.labels, names),
                };
                if let Some(id) = id {
                    out.string(field, id);
                }
            }
            out.raw(
                fields::METADATA,
                &metadata(&labels_json, &entry.metadata, &moved),
            );
            out.finish();
            batch.check_last(&mut meter)?;
        }
    }
    batch.parse(options, meter)
}

/// `{"labels":{...}, <structured metadata>}` as JSON text, without the
/// pairs of the names in `moved` (they became fields).
fn metadata(labels_json: &str, pairs: &[(String, String)], moved: &[Option<&str>]) -> String {
    let (moved, own): (Vec<_>, Vec<_>) = pairs
        .iter()
        .filter(|(name, _)| !moved.contains(&Some(name.as_str())))
        .partition(|(name, _)| RESERVED.contains(&name.as_str()));
    // A name given twice keeps its last value.
    let object = |pairs: Vec<&(String, String)>| -> Map<String, Value> {
        pairs
            .into_iter()
            .map(|(n, v)| (n.clone(), Value::from(v.as_str())))
            .collect()
    };
    let mut text = format!("{{\"labels\":{labels_json}");
    for (name, value) in object(own) {
        text.push(',');
        text.push_str(&Value::from(name).to_string());
        text.push(':');
        text.push_str(&value.to_string());
    }
    if !moved.is_empty() {
        text.push_str(",\"attributes\":");
        text.push_str(&Value::Object(object(moved)).to_string());
    }
    text.push('}');
    text
}

/// Uncompresses and decodes a body and reads its entries into records,
/// all or nothing; `meter` is told about the uncompressed body, what
/// decoding takes ([`decoded_bytes`]) and the records. A server that
/// gives memory back once the push is dropped calls the steps itself.
pub fn decode<E: From<ProtocolError>>(
    body: &[u8],
    encoding: Encoding,
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Vec<Record>, E> {
    let raw = uncompress(body, encoding, options.limits.max_body_bytes, &mut meter)?;
    meter(decoded_bytes(&raw, encoding))?;
    let push = decode_request(&raw, encoding)?;
    records(&push, options, meter)
}

#[cfg(test)]
mod tests;
