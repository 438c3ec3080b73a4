//! OpenTelemetry logs over OTLP/HTTP: an `ExportLogsServiceRequest` in
//! protobuf (`application/x-protobuf`) or in the OTLP JSON mapping
//! (`application/json`: lowerCamelCase names, hex trace and span ids,
//! 64-bit integers as strings or numbers), read into records.
//!
//! Mapping (each log record becomes one record):
//!
//! | record | from |
//! |---|---|
//! | `timestamp` | `timeUnixNano`, or `observedTimeUnixNano` when that is 0 (both 0: the receive time) |
//! | `level` | `severityText`, or the name of `severityNumber`'s range (`trace`, `debug`, `info`, `warn`, `error`, `fatal`) when there is no text |
//! | `message` | `body`: a string as is, any other value as its JSON text; no body: `""` |
//! | `resourceId` | the resource attribute `service.name` |
//! | `traceId`, `spanId` | the ids in lowercase hex (all-zero ids are absent ids) |
//! | `metadata.<key>` | each log attribute (`metadata.http.route`) |
//! | `metadata.resource.<key>` | each other resource attribute |
//! | `metadata.scope` | the instrumentation scope: `name`, `version`, `attributes`, `droppedAttributesCount`, `schemaUrl` |
//! | `metadata.otel` | what else the record carries: `severityNumber`, `observedTimestamp` (when both times are set), `flags`, `eventName`, `droppedAttributesCount`, and its resource's `resourceSchemaUrl` and `resourceDroppedAttributesCount` |
//!
//! A log attribute named `resource`, `scope`, `otel` or `attributes` is
//! kept under `metadata.attributes.<key>` instead, so it cannot hide
//! those. A `service.name` that is not a string stays a resource
//! attribute. Entity references of a resource are not kept. Attribute
//! values keep their type: strings, booleans, integers, doubles (non-finite
//! ones as the strings `NaN`, `Infinity`, `-Infinity`), arrays and key-value
//! lists as JSON arrays and objects, bytes as base64.
//!
//! A request is stored whole or not at all: a trace id that is not 16
//! bytes, a span id that is not 8, a time beyond the year 2262, or a record
//! the record rules refuse fails the request with its place
//! (`resourceLogs[0].scopeLogs[0].logRecords[3].traceId`).

mod memory;
mod value;

use logingest_core::{fields, ParseOptions, Record, Timestamp};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ScopeLogs};
use prost::Message;
use serde_json::{Map, Value};

pub use self::memory::decoded_bytes;
use self::value::{attributes_object, json_value};
use crate::record::{Batch, RecordText};
use crate::ProtocolError;

/// How the request body is encoded: protobuf, or the OTLP JSON mapping.
pub use crate::Encoding;

/// Decodes an `ExportLogsServiceRequest` body. It may take many times the
/// body's size: up to [`decoded_bytes`], which a caller with a memory
/// budget reserves first.
pub fn decode_request(
    body: &[u8],
    encoding: Encoding,
) -> Result<ExportLogsServiceRequest, ProtocolError> {
    match encoding {
        Encoding::Protobuf => ExportLogsServiceRequest::decode(body)
            .map_err(|e| ProtocolError::protobuf(&e, "an OTLP ExportLogsServiceRequest")),
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|e| ProtocolError::json(&e, "an OTLP ExportLogsServiceRequest")),
    }
}

/// The number of log records in a request.
pub fn count(request: &ExportLogsServiceRequest) -> usize {
    request
        .resource_logs
        .iter()
        .flat_map(|r| &r.scope_logs)
        .map(|s| s.log_records.len())
        .sum()
}

/// Decodes a body and reads its log records into records (see the module
/// doc for the mapping), all or nothing. `meter` is told about the memory
/// decoding will take ([`decoded_bytes`]) before it starts, then about the
/// records, as [`logingest_core::parse_records_metered`] does.
pub fn decode<E: From<ProtocolError>>(
    body: &[u8],
    encoding: Encoding,
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Vec<Record>, E> {
    meter(decoded_bytes(body, encoding))?;
    let request = decode_request(body, encoding)?;
    records(&request, options, meter)
}

/// Reads the log records of a decoded request into records.
pub fn records<E: From<ProtocolError>>(
    request: &ExportLogsServiceRequest,
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> Result<(), E>,
) -> Result<Vec<Record>, E> {
    let total = count(request);
    let limit = options.limits.max_records;
    if total > limit {
        return Err(E::from(ProtocolError::TooLarge {
            location: None,
            reason: format!("the request has {total} log records, the limit is {limit}"),
        }));
    }
    let mut batch = Batch::new(&options.limits);
    for (r, resource_logs) in request.resource_logs.iter().enumerate() {
        if resource_logs
            .scope_logs
            .iter()
            .all(|s| s.log_records.is_empty())
        {
            continue;
        }
        let resource = resource_logs.resource.as_ref();
        let attributes = resource.map_or(&[][..], |r| &r.attributes[..]);
        // `service.name` becomes the resourceId when it is a string; any
        // other value stays among the resource's attributes.
        let service_at = attributes
            .iter()
            .position(|kv| kv.key == "service.name" && string_value(kv.value.as_ref()).is_some());
        let service = service_at.and_then(|i| string_value(attributes[i].value.as_ref()));
        let resource_meta = attributes_object(
            (attributes.iter().enumerate())
                .filter(|(i, _)| Some(*i) != service_at)
                .map(|(_, kv)| kv),
        );
        // Written once a resource, not once a record.
        let resource_json =
            (!resource_meta.is_empty()).then(|| Value::Object(resource_meta).to_string());
        let mut resource_otel = Map::new();
        if let Some(resource) = resource.filter(|r| r.dropped_attributes_count > 0) {
            resource_otel.insert(
                "resourceDroppedAttributesCount".into(),
                resource.dropped_attributes_count.into(),
            );
        }
        if !resource_logs.schema_url.is_empty() {
            resource_otel.insert(
                "resourceSchemaUrl".into(),
                resource_logs.schema_url.clone().into(),
            );
        }
        for (s, scope_logs) in resource_logs.scope_logs.iter().enumerate() {
            let scope_json = scope_json(scope_logs);
            for (l, log) in scope_logs.log_records.iter().enumerate() {
                let place = format!("resourceLogs[{r}].scopeLogs[{s}].logRecords[{l}]");
                let context = Context {
                    service,
                    resource: resource_json.as_deref(),
                    resource_otel: &resource_otel,
                    scope: scope_json.as_deref(),
                };
                write_record(batch.record(place.clone()), log, &context).map_err(
                    |(field, reason)| {
                        ProtocolError::invalid(Some(format!("{place}.{field}")), reason)
                    },
                )?;
                batch.check_last(&mut meter)?;
            }
        }
    }
    batch.parse(options, meter)
}

/// What the records of one scope share: their resource's and scope's
/// metadata as JSON text, written once.
struct Context<'a> {
    service: Option<&'a str>,
    resource: Option<&'a str>,
    /// What OTLP says of the resource beside its attributes.
    resource_otel: &'a Map<String, Value>,
    scope: Option<&'a str>,
}

/// A scope's `metadata.scope`: its name, version, attributes, dropped
/// count and schema URL, as JSON text; `None` when there is none of them.
fn scope_json(scope_logs: &ScopeLogs) -> Option<String> {
    let mut meta = Map::new();
    if let Some(scope) = &scope_logs.scope {
        if !scope.name.is_empty() {
            meta.insert("name".into(), scope.name.clone().into());
        }
        if !scope.version.is_empty() {
            meta.insert("version".into(), scope.version.clone().into());
        }
        if !scope.attributes.is_empty() {
            meta.insert(
                "attributes".into(),
                Value::Object(attributes_object(scope.attributes.iter())),
            );
        }
        if scope.dropped_attributes_count > 0 {
            meta.insert(
                "droppedAttributesCount".into(),
                scope.dropped_attributes_count.into(),
            );
        }
    }
    if !scope_logs.schema_url.is_empty() {
        meta.insert("schemaUrl".into(), scope_logs.schema_url.clone().into());
    }
    (!meta.is_empty()).then(|| Value::Object(meta).to_string())
}

/// Metadata keys of our own; log attributes of these names move under
/// `attributes`.
const RESERVED: [&str; 4] = ["resource", "scope", "otel", "attributes"];

/// Writes one log record; an error names the OTLP field and the reason.
fn write_record(
    mut out: RecordText<'_>,
    log: &LogRecord,
    context: &Context<'_>,
) -> Result<(), (&'static str, String)> {
    let time = match (log.time_unix_nano, log.observed_time_unix_nano) {
        (0, 0) => None,
        (0, observed) => Some(("observedTimeUnixNano", observed)),
        (time, _) => Some(("timeUnixNano", time)),
    };
    if let Some((field, nanos)) = time {
        out.string(fields::TIMESTAMP, &rfc3339(nanos).map_err(|e| (field, e))?);
    }
    let level = if log.severity_text.is_empty() {
        severity_name(log.severity_number)
    } else {
        Some(log.severity_text.as_str())
    };
    if let Some(level) = level {
        out.string(fields::LEVEL, level);
    }
    match log.body.as_ref().and_then(|b| b.value.as_ref()) {
        Some(any_value::Value::StringValue(text)) => out.string(fields::MESSAGE, text),
        None => out.string(fields::MESSAGE, ""),
        Some(other) => out.string(fields::MESSAGE, &json_value(other).to_string()),
    }
    if let Some(service) = context.service {
        out.string(fields::RESOURCE_ID, service);
    }
    if let Some(id) = hex_id(&log.trace_id, 16).map_err(|e| ("traceId", e))? {
        out.string(fields::TRACE_ID, &id);
    }
    if let Some(id) = hex_id(&log.span_id, 8).map_err(|e| ("spanId", e))? {
        out.string(fields::SPAN_ID, &id);
    }
    let metadata = metadata(log, context).map_err(|e| ("observedTimeUnixNano", e))?;
    if metadata != "{}" {
        out.raw("metadata", &metadata);
    }
    out.finish();
    Ok(())
}

/// The record's `metadata` as JSON text: its attributes, `otel`, and its
/// resource's and scope's (written once for them all).
fn metadata(log: &LogRecord, context: &Context<'_>) -> Result<String, String> {
    let (moved, own): (Vec<&KeyValue>, Vec<&KeyValue>) = log
        .attributes
        .iter()
        .partition(|kv| RESERVED.contains(&kv.key.as_str()));
    let mut metadata = attributes_object(own.into_iter());
    if !moved.is_empty() {
        metadata.insert(
            "attributes".into(),
            Value::Object(attributes_object(moved.into_iter())),
        );
    }
    let mut otel = context.resource_otel.clone();
    if log.severity_number != 0 {
        otel.insert("severityNumber".into(), log.severity_number.into());
    }
    if log.time_unix_nano != 0 && log.observed_time_unix_nano != 0 {
        otel.insert(
            "observedTimestamp".into(),
            rfc3339(log.observed_time_unix_nano)?.into(),
        );
    }
    if log.flags != 0 {
        otel.insert("flags".into(), log.flags.into());
    }
    if !log.event_name.is_empty() {
        otel.insert("eventName".into(), log.event_name.clone().into());
    }
    if log.dropped_attributes_count != 0 {
        otel.insert(
            "droppedAttributesCount".into(),
            log.dropped_attributes_count.into(),
        );
    }
    if !otel.is_empty() {
        metadata.insert("otel".into(), Value::Object(otel));
    }
    // `resource` and `scope` are ours: attributes of those names moved
    // under `attributes` above, so the keys cannot repeat.
    let mut text = Value::Object(metadata).to_string();
    text.pop();
    for (key, json) in [("resource", context.resource), ("scope", context.scope)] {
        if let Some(json) = json {
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(&format!("\"{key}\":{json}"));
        }
    }
    text.push('}');
    Ok(text)
}

/// Nanoseconds since the epoch as RFC 3339.
fn rfc3339(nanos: u64) -> Result<String, String> {
    i64::try_from(nanos)
        .map(|n| Timestamp::from_nanos(n).to_rfc3339())
        .map_err(|_| {
            format!("{nanos} nanoseconds is after the latest time a record can have (2262)")
        })
}

/// An id in lowercase hex: `None` when empty or all zeros (both mean "no
/// id" in OTLP), an error for any other length than `len`.
fn hex_id(bytes: &[u8], len: usize) -> Result<Option<String>, String> {
    if bytes.is_empty() || bytes.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    if bytes.len() != len {
        return Err(format!(
            "is {} bytes long; an id must be {len} bytes (or empty)",
            bytes.len()
        ));
    }
    Ok(Some(hex::encode(bytes)))
}

/// The lowercase name of a severity number's range (OTLP's
/// `SeverityNumber`: 1–4 TRACE … 21–24 FATAL); `None` for 0 and numbers
/// outside 1–24 (kept as `metadata.otel.severityNumber` only).
fn severity_name(number: i32) -> Option<&'static str> {
    const NAMES: [&str; 6] = ["trace", "debug", "info", "warn", "error", "fatal"];
    usize::try_from(number)
        .ok()
        .filter(|n| (1..=24).contains(n))
        .map(|n| NAMES[(n - 1) / 4])
}

/// A string attribute value.
fn string_value(value: Option<&AnyValue>) -> Option<&str> {
    match value?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
