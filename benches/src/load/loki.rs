//! Generator records as Loki pushes, the way Promtail sends them: one
//! stream per service and level (labels `service_name` and `level`), each
//! record an entry with its time and its message as the line, its ids,
//! `commit` and `metadata.*` (objects as their JSON text) as structured
//! metadata; the protobuf snappy-compressed. The server maps them back
//! (docs/ingest-protocols.md), so a stored record has the sent one's
//! fields, not its text.

use std::collections::HashMap;

use logingest_protocols::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use prost::Message;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The snappy-compressed protobuf body of a push holding `lines`
/// (generator records, one JSON object each).
pub(super) fn body(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut streams: HashMap<(String, String), usize> = HashMap::new();
    let mut push = PushRequest::default();
    for line in lines {
        let record: Value = serde_json::from_slice(line).expect("generator records are JSON");
        let text = |key: &str| record[key].as_str().unwrap_or_default().to_owned();
        let key = (text("resourceId"), text("level"));
        let index = *streams.entry(key.clone()).or_insert_with(|| {
            push.streams.push(StreamAdapter {
                labels: format!(
                    "{{service_name={}, level={}}}",
                    Value::from(key.0.as_str()),
                    Value::from(key.1.as_str())
                ),
                ..Default::default()
            });
            push.streams.len() - 1
        });
        push.streams[index].entries.push(entry(&record));
    }
    snap::raw::Encoder::new()
        .compress_vec(&push.encode_to_vec())
        .expect("snappy compresses any input")
}

fn entry(record: &Value) -> EntryAdapter {
    let timestamp = record["timestamp"]
        .as_str()
        .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        .map(|t| {
            let nanos = t.unix_timestamp_nanos();
            Timestamp {
                seconds: (nanos / 1_000_000_000) as i64,
                nanos: (nanos % 1_000_000_000) as i32,
            }
        });
    let mut pairs = Vec::new();
    for (name, key) in [
        ("trace_id", "traceId"),
        ("span_id", "spanId"),
        ("commit", "commit"),
    ] {
        if let Some(value) = record[key].as_str() {
            pairs.push(pair(name, value.to_owned()));
        }
    }
    if let Some(metadata) = record["metadata"].as_object() {
        for (name, value) in metadata {
            let value = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            pairs.push(pair(name, value));
        }
    }
    EntryAdapter {
        timestamp,
        line: record["message"].as_str().unwrap_or_default().to_owned(),
        structured_metadata: pairs,
    }
}

fn pair(name: &str, value: String) -> LabelPairAdapter {
    LabelPairAdapter {
        name: name.to_owned(),
        value,
    }
}
