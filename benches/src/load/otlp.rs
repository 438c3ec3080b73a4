//! Generator records as OTLP/HTTP protobuf requests, the way an SDK
//! exporter sends them: one `ResourceLogs` per service (`resourceId` as
//! `service.name`), each record a `LogRecord` with its time, severity text,
//! body, trace and span ids, and `commit` and `metadata.*` as attributes
//! of their JSON types (objects as key-value lists). The server maps them back (docs/ingest-protocols.md), so a
//! stored record has the sent one's fields, not its text.

use std::collections::HashMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The protobuf body of a request holding `lines` (generator records, one
/// JSON object each).
pub(super) fn body(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut services: HashMap<String, usize> = HashMap::new();
    let mut request = ExportLogsServiceRequest::default();
    for line in lines {
        let record: Value = serde_json::from_slice(line).expect("generator records are JSON");
        let service = record["resourceId"].as_str().unwrap_or_default();
        let index = *services.entry(service.to_owned()).or_insert_with(|| {
            request.resource_logs.push(resource_logs(service));
            request.resource_logs.len() - 1
        });
        request.resource_logs[index].scope_logs[0]
            .log_records
            .push(log_record(&record));
    }
    request.encode_to_vec()
}

fn resource_logs(service: &str) -> ResourceLogs {
    ResourceLogs {
        resource: Some(Resource {
            attributes: vec![attribute("service.name", service)],
            ..Default::default()
        }),
        scope_logs: vec![ScopeLogs::default()],
        ..Default::default()
    }
}

fn log_record(record: &Value) -> LogRecord {
    let text = |key: &str| record[key].as_str().unwrap_or_default();
    let time = OffsetDateTime::parse(text("timestamp"), &Rfc3339)
        .map_or(0, |t| t.unix_timestamp_nanos() as u64);
    let mut attributes = Vec::new();
    if let Some(commit) = record["commit"].as_str() {
        attributes.push(attribute("commit", commit));
    }
    if let Some(metadata) = record["metadata"].as_object() {
        attributes.extend(metadata.iter().map(|(key, value)| KeyValue {
            key: key.clone(),
            value: Some(any(value)),
            ..Default::default()
        }));
    }
    LogRecord {
        time_unix_nano: time,
        severity_text: text("level").to_owned(),
        body: string(text("message")),
        attributes,
        trace_id: hex::decode(text("traceId")).unwrap_or_default(),
        span_id: hex::decode(text("spanId")).unwrap_or_default(),
        ..Default::default()
    }
}

/// A JSON value as the `AnyValue` an SDK would send for it.
fn any(value: &Value) -> AnyValue {
    use any_value::Value as V;
    let value = match value {
        Value::Null => None,
        Value::Bool(b) => Some(V::BoolValue(*b)),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => V::IntValue(i),
            None => V::DoubleValue(n.as_f64().unwrap_or_default()),
        }),
        Value::String(s) => Some(V::StringValue(s.clone())),
        Value::Array(items) => Some(V::ArrayValue(ArrayValue {
            values: items.iter().map(any).collect(),
        })),
        Value::Object(members) => Some(V::KvlistValue(KeyValueList {
            values: members
                .iter()
                .map(|(key, value)| KeyValue {
                    key: key.clone(),
                    value: Some(any(value)),
                    ..Default::default()
                })
                .collect(),
        })),
    };
    AnyValue { value }
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.to_owned())),
    })
}

fn attribute(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: string(value),
        ..Default::default()
    }
}
