//! Turning `tracing` and `log` fields into our record's JSON.
//!
//! One event becomes one record: `message` from the event's message,
//! `level` in lower case, `timestamp` the time of the call, and every other
//! field under `metadata` (a dotted name such as `http.status` nests, so it
//! is queried as `metadata.http.status`). Fields named `trace_id` and
//! `span_id`, on the event or an enclosing span, become the record's
//! `traceId` and `spanId`.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};

/// Field names that become top-level record fields instead of metadata.
const TRACE_ID: &str = "trace_id";
const SPAN_ID: &str = "span_id";

/// The fields of an event or span, as JSON values by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields {
    pub(crate) message: Option<String>,
    pub(crate) values: Vec<(&'static str, Value)>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
            return;
        }
        match self.values.iter_mut().find(|(n, _)| *n == field.name()) {
            Some((_, old)) => *old = value,
            None => self.values.push((field.name(), value)),
        }
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.put(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

/// One record being assembled.
pub(crate) struct RecordJson {
    record: Map<String, Value>,
    metadata: Map<String, Value>,
}

impl RecordJson {
    /// A record with its time, level and (if any) resource id.
    pub(crate) fn new(level: &str, target: &str, resource_id: Option<&str>) -> Self {
        let mut record = Map::new();
        record.insert(
            "timestamp".into(),
            logingest_core::Timestamp::now().to_rfc3339().into(),
        );
        record.insert("level".into(), level.into());
        if let Some(id) = resource_id {
            record.insert("resourceId".into(), id.into());
        }
        let mut metadata = Map::new();
        metadata.insert("target".into(), target.into());
        RecordJson { record, metadata }
    }

    /// Adds `fields`; later calls win over earlier ones.
    pub(crate) fn add(&mut self, fields: &Fields) {
        for (name, value) in &fields.values {
            self.set(name, value.clone());
        }
    }

    /// Sets one field by name (see the module doc for where it goes).
    pub(crate) fn set(&mut self, name: &str, value: Value) {
        let (top, value) = match (name, value) {
            (TRACE_ID, Value::String(s)) => ("traceId", Value::String(s)),
            (SPAN_ID, Value::String(s)) => ("spanId", Value::String(s)),
            (TRACE_ID | SPAN_ID, other) => (
                if name == TRACE_ID {
                    "traceId"
                } else {
                    "spanId"
                },
                Value::String(other.to_string()),
            ),
            (_, value) => {
                insert_dotted(&mut self.metadata, name, value);
                return;
            }
        };
        self.record.insert(top.into(), value);
    }

    /// The NDJSON line, with `message` (empty when the event had none).
    pub(crate) fn finish(mut self, message: String) -> String {
        self.record.insert("message".into(), message.into());
        self.record
            .insert("metadata".into(), Value::Object(self.metadata));
        Value::Object(self.record).to_string()
    }
}

/// Inserts `value` at a dotted `name` (`http.status` → `{"http":{"status":…}}`);
/// a name part that is already a non-object value keeps the whole dotted
/// name as its key instead.
fn insert_dotted(map: &mut Map<String, Value>, name: &str, value: Value) {
    if name.split('.').all(str::is_empty) {
        map.insert(name.to_owned(), value);
        return;
    }
    let parts: Vec<&str> = name.split('.').filter(|p| !p.is_empty()).collect();
    let (last, path) = parts.split_last().expect("a non-empty part");
    // `a` is a value and `a.b` comes too: keep both, under the whole name.
    let mut probe = &*map;
    for part in path {
        match probe.get(*part) {
            None => break,
            Some(Value::Object(inner)) => probe = inner,
            Some(_) => {
                map.insert(name.to_owned(), value);
                return;
            }
        }
    }
    let mut here = map;
    for part in path {
        here = match here
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(inner) => inner,
            _ => unreachable!("checked above"),
        };
    }
    here.insert((*last).to_owned(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_names_nest_and_ids_go_to_the_top() {
        let mut record = RecordJson::new("warn", "shop::cart", Some("cart"));
        record.set("http.status", 503.into());
        record.set("http.route", "/pay".into());
        record.set("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736".into());
        record.set("user", "alice".into());
        let line: Value = serde_json::from_str(&record.finish("payment failed".into())).unwrap();
        assert_eq!(line["level"], "warn");
        assert_eq!(line["resourceId"], "cart");
        assert_eq!(line["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(line["message"], "payment failed");
        assert_eq!(line["metadata"]["http"]["status"], 503);
        assert_eq!(line["metadata"]["http"]["route"], "/pay");
        assert_eq!(line["metadata"]["user"], "alice");
        assert_eq!(line["metadata"]["target"], "shop::cart");
    }

    #[test]
    fn a_value_and_a_dotted_name_under_it_are_both_kept() {
        let mut map = Map::new();
        insert_dotted(&mut map, "a", 1.into());
        insert_dotted(&mut map, "a.b", 2.into());
        insert_dotted(&mut map, "..", 3.into());
        assert_eq!(Value::Object(map).to_string(), r#"{"..":3,"a":1,"a.b":2}"#);
    }
}
