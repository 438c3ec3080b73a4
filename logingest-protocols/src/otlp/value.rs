//! OTLP `AnyValue`s as JSON values, keeping their types.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use serde_json::{Map, Number, Value};

/// Attributes as a JSON object. A key given twice (OTLP says keys are
/// unique) keeps its last value; an attribute without a value is `null`.
pub(super) fn attributes_object<'a>(
    attributes: impl Iterator<Item = &'a KeyValue>,
) -> Map<String, Value> {
    attributes
        .map(|kv| {
            let value = kv
                .value
                .as_ref()
                .and_then(|v| v.value.as_ref())
                .map_or(Value::Null, json_value);
            (kv.key.clone(), value)
        })
        .collect()
}

/// One value: strings, booleans and integers as themselves, doubles as
/// numbers (non-finite ones as the strings `NaN`, `Infinity`, `-Infinity`),
/// arrays and key-value lists as arrays and objects, bytes as base64.
///
/// Recursion follows the value's nesting, which the decoders bound (prost
/// and serde_json stop at depth 100 and 128).
pub(super) fn json_value(value: &any_value::Value) -> Value {
    match value {
        any_value::Value::StringValue(s) => Value::String(s.clone()),
        any_value::Value::BoolValue(b) => Value::Bool(*b),
        any_value::Value::IntValue(i) => Value::Number((*i).into()),
        any_value::Value::DoubleValue(d) => Number::from_f64(*d).map_or_else(
            || {
                Value::String(
                    if d.is_nan() {
                        "NaN"
                    } else if *d > 0.0 {
                        "Infinity"
                    } else {
                        "-Infinity"
                    }
                    .into(),
                )
            },
            Value::Number,
        ),
        any_value::Value::ArrayValue(array) => Value::Array(
            array
                .values
                .iter()
                .map(|v| v.value.as_ref().map_or(Value::Null, json_value))
                .collect(),
        ),
        any_value::Value::KvlistValue(list) => Value::Object(attributes_object(list.values.iter())),
        any_value::Value::BytesValue(bytes) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        // An index into a profile's string table: logs have no such table,
        // so the index is kept as sent.
        any_value::Value::StringValueStrindex(index) => {
            serde_json::json!({ "stringValueStrindex": index })
        }
    }
}
