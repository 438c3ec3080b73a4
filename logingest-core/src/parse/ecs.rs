//! Documents of Elasticsearch shippers → records: the Elastic Common Schema.
//!
//! Filebeat, Elastic Agent, Logstash and the `ecs-logging` libraries put the
//! time in `@timestamp`, the level in `log.level` and the service in
//! `service.name`. Read as our own format, such a document would be filed
//! under its *receive* time with no level. [`parse_ecs_document`] maps those
//! fields onto the record's own (see the table in `docs/ingest-protocols.md`)
//! by inserting the record fields first in the stored text, exactly as a
//! missing `timestamp` is inserted: the document itself stays byte for byte
//! as sent after them, so nothing the shipper sent is lost, and the stored
//! text parses back to the same record on its own (a backend rebuilding its
//! index from stored text needs no knowledge of ECS).
//!
//! A field of our own format always wins: a document that carries `level`
//! keeps it whatever its `log.level` says, and our own records pass through
//! unchanged.

use std::collections::HashMap;

use serde_json::value::RawValue;

use crate::error::{Error, RecordError, Result};
use crate::record::{fields, Record};
use crate::timestamp::Timestamp;

use super::{parse_records, Format, ParseOptions};

/// ECS paths → our keyword fields, in the order they are tried. The first
/// path with a value fills the field when the document has none of its own.
const KEYWORD_SOURCES: [(&str, &[&str]); 4] = [
    (fields::LEVEL, &["log.level"]),
    (fields::RESOURCE_ID, &["service.name", "host.name"]),
    (fields::TRACE_ID, &["trace.id"]),
    (fields::SPAN_ID, &["span.id"]),
];

/// The ECS time field.
const ECS_TIMESTAMP: &str = "@timestamp";

/// The top-level field that keeps the `_index` a shipper named.
const INDEX_FIELD: &str = "_index";

/// Parses one document of an Elasticsearch `_bulk` request (one JSON object)
/// into a record, mapping the Elastic Common Schema onto the record's fields.
///
/// - `timestamp` ← `@timestamp` (RFC 3339, or epoch milliseconds as a number
///   or a string of digits, as Elasticsearch's default date format reads it);
/// - `level` ← `log.level`; `resourceId` ← `service.name`, else `host.name`;
///   `traceId` ← `trace.id`; `spanId` ← `span.id`;
/// - `index`, when given, is kept as the top-level field `_index`.
///
/// Each is inserted at the front of the stored text only when the document
/// does not carry the record field itself; nested (`{"log":{"level":…}}`)
/// and dotted (`{"log.level":…}`) spellings are the same path. A document
/// that has a top-level `_index` of its own is refused, as Elasticsearch
/// refuses it. Errors are those of [`parse_records`], plus an invalid
/// `@timestamp` naming that field.
pub fn parse_ecs_document(
    text: &str,
    index: Option<&str>,
    options: &ParseOptions,
) -> Result<Record> {
    // A fixed receive time, so a second parse of the rewritten text gives
    // the same time to a document that has no time at all.
    let receive_time = options.receive_time.unwrap_or_else(Timestamp::now);
    let options = ParseOptions {
        receive_time: Some(receive_time),
        format: Format::Ndjson,
        ..*options
    };
    let sent = text;
    // A byte-order mark is skipped, as `parse_records` skips one; the
    // members are inserted after the `{` that follows it.
    let trimmed = sent.trim();
    let text = trimmed
        .strip_prefix('\u{feff}')
        .map_or(trimmed, str::trim_start);
    if text.is_empty() {
        // Not an empty body: a line that holds nothing but the mark.
        return Err(RecordError::at(
            sent.as_bytes(),
            0,
            "expected a JSON object, found only a byte-order mark",
        )
        .into());
    }
    // Parsed as sent, so that every position is one of `sent`.
    let record = one_record(sent, &options)?;
    if record.has_field(INDEX_FIELD) && index.is_some() {
        return Err(field_error(
            sent,
            INDEX_FIELD,
            "is a metadata field of `_bulk` and cannot be a field of the document".into(),
        ));
    }
    // The parser inserts `timestamp` exactly when the document has none.
    let has_own_timestamp = record.source().len() == text.len();
    let mut members: Vec<(&str, String)> = Vec::new();
    if !has_own_timestamp {
        if let Some(value) = record.keyword_values(ECS_TIMESTAMP).next() {
            members.push((fields::TIMESTAMP, ecs_time(sent, value)?));
        }
    }
    for (field, paths) in KEYWORD_SOURCES {
        if record.has_field(field) {
            continue;
        }
        let value = paths
            .iter()
            .find_map(|path| record.keyword_values(path).next());
        if let Some(value) = value {
            members.push((field, value.to_owned()));
        }
    }
    if let Some(index) = index {
        members.push((INDEX_FIELD, index.to_owned()));
    }
    if members.is_empty() {
        return Ok(record);
    }
    one_record(&with_members(text, &members), &options)
}

/// Parses `text`, which must be exactly one JSON object.
fn one_record(text: &str, options: &ParseOptions) -> Result<Record> {
    let mut records = parse_records(text.as_bytes(), options)?;
    if records.len() != 1 {
        let reason = format!("expected one JSON object, found {} records", records.len());
        return Err(RecordError::at(text.as_bytes(), 0, reason).into());
    }
    Ok(records.remove(0))
}

/// The `timestamp` text for an `@timestamp` value.
fn ecs_time(sent: &str, value: &str) -> Result<String> {
    if Timestamp::parse_rfc3339(value).is_ok() {
        // Kept as the shipper wrote it: it parses to the same instant.
        return Ok(value.to_owned());
    }
    epoch_millis(value)
        .map(Timestamp::to_rfc3339)
        .ok_or_else(|| {
            field_error(
                sent,
                ECS_TIMESTAMP,
                format!(
                    "`{value}` is neither an RFC 3339 timestamp such as \"2023-09-15T08:00:00Z\" nor epoch milliseconds"
                ),
            )
        })
}

/// Epoch milliseconds (`1694764800000`, `1694764800000.5`, `-5`) as a time,
/// if `value` is one and within the representable years.
fn epoch_millis(value: &str) -> Option<Timestamp> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = int.strip_prefix('-').unwrap_or(int);
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.is_empty() || !all_digits(digits) || !all_digits(frac) || frac.len() > 6 {
        return None;
    }
    let millis: i64 = int.parse().ok()?;
    let mut sub_nanos: i64 = format!("{frac:0<6}").parse().ok()?;
    if int.starts_with('-') {
        sub_nanos = -sub_nanos;
    }
    millis
        .checked_mul(1_000_000)?
        .checked_add(sub_nanos)
        .map(Timestamp)
}

/// `text` (one JSON object) with `members` inserted first, as JSON strings.
fn with_members(text: &str, members: &[(&str, String)]) -> String {
    let rest = text.strip_prefix('{').expect("a record is an object");
    let mut out = String::with_capacity(text.len() + 64 * members.len());
    out.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(name));
        out.push(':');
        out.push_str(&json_string(value));
    }
    if !rest.trim_start().starts_with('}') {
        out.push(',');
    }
    out.push_str(rest);
    out
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// An error in the top-level member `field` of `sent` (valid JSON, one
/// record), located at the member's value.
fn field_error(sent: &str, field: &str, reason: String) -> Error {
    let offset = member_value_offset(sent, field).unwrap_or(0);
    RecordError::at(sent.as_bytes(), offset, reason)
        .in_record(1)
        .in_field(field)
        .into()
}

/// Where the value of the top-level member `name` of the JSON object in
/// `text` starts, as a byte offset of `text`. Only for an error: the object
/// is read once more, its values as raw text slices of `text`.
fn member_value_offset(text: &str, name: &str) -> Option<usize> {
    let object = text.trim_start().strip_prefix('\u{feff}').unwrap_or(text);
    let members: HashMap<String, &RawValue> = serde_json::from_str(object).ok()?;
    let value = members.get(name)?;
    Some(value.get().as_ptr() as usize - text.as_ptr() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, index: Option<&str>) -> Result<Record> {
        let options = ParseOptions::default().receive_time(Timestamp(7));
        parse_ecs_document(text, index, &options)
    }

    /// Found by the `bulk` fuzz target: a document starting with a
    /// byte-order mark parsed (the mark skipped) and then panicked where the
    /// ECS fields are inserted after its `{`.
    #[test]
    fn a_byte_order_mark_is_skipped() {
        let r = parse(
            "\u{feff}{\"message\":\"m\",\"log\":{\"level\":\"warn\"}}",
            None,
        )
        .unwrap();
        assert!(r.source().starts_with('{'), "{}", r.source());
        assert_eq!(r.keyword_values("level").collect::<Vec<_>>(), ["warn"]);
    }

    /// Found by the `bulk` fuzz target: a source line holding only a
    /// byte-order mark was reported as an "empty body" with no column.
    #[test]
    fn a_line_of_only_a_byte_order_mark_is_located() {
        let Err(Error::InvalidRecord(e)) = parse("\u{feff}", None) else {
            panic!("a lone byte-order mark parsed");
        };
        assert_eq!((e.line, e.column), (1, Some(1)), "{e}");
        assert!(e.reason.contains("byte-order mark"), "{e}");
    }

    fn keyword<'a>(record: &'a Record, path: &'a str) -> Option<&'a str> {
        record.keyword_values(path).next()
    }

    #[test]
    fn filebeat_document_gets_its_time_level_and_service() {
        let doc = r#"{"@timestamp":"2023-09-15T08:00:00.123Z","message":"disk full","log":{"level":"warn"},"service":{"name":"billing"},"host":{"name":"web-1"},"trace":{"id":"t1"},"span":{"id":"s1"}}"#;
        let r = parse(doc, Some("filebeat-8")).unwrap();
        assert_eq!(
            r.timestamp(),
            Timestamp::parse_rfc3339("2023-09-15T08:00:00.123Z").unwrap()
        );
        assert_eq!(keyword(&r, "level"), Some("warn"));
        assert_eq!(keyword(&r, "resourceId"), Some("billing"));
        assert_eq!(keyword(&r, "traceId"), Some("t1"));
        assert_eq!(keyword(&r, "spanId"), Some("s1"));
        assert_eq!(keyword(&r, "_index"), Some("filebeat-8"));
        assert_eq!(keyword(&r, "log.level"), Some("warn"), "the original stays");
        // The document follows the inserted fields byte for byte.
        let prefix = r#"{"timestamp":"2023-09-15T08:00:00.123Z","level":"warn","resourceId":"billing","traceId":"t1","spanId":"s1","_index":"filebeat-8","#;
        assert_eq!(r.source(), format!("{prefix}{}", &doc[1..]));
        // And the stored text alone parses to the same record.
        let again = parse_records(r.source().as_bytes(), &ParseOptions::default()).unwrap();
        assert_eq!(again, vec![r]);
    }

    #[test]
    fn dotted_keys_are_the_same_paths() {
        let doc = r#"{"@timestamp":"2024-01-02T03:04:05+02:00","log.level":"error","service.name":"api","message":"x"}"#;
        let r = parse(doc, None).unwrap();
        assert_eq!(keyword(&r, "level"), Some("error"));
        assert_eq!(keyword(&r, "resourceId"), Some("api"));
        assert_eq!(
            r.timestamp(),
            Timestamp::parse_rfc3339("2024-01-02T01:04:05Z").unwrap()
        );
        assert!(r.source().starts_with(
            r#"{"timestamp":"2024-01-02T03:04:05+02:00","level":"error","resourceId":"api","#
        ));
    }

    #[test]
    fn host_name_is_the_fallback_resource() {
        let r = parse(r#"{"message":"x","host":{"name":"web-1"}}"#, None).unwrap();
        assert_eq!(keyword(&r, "resourceId"), Some("web-1"));
        assert_eq!(r.timestamp(), Timestamp(7), "no time at all: receive time");
    }

    #[test]
    fn our_own_fields_win_and_our_format_is_unchanged() {
        let own = r#"{"timestamp":"2023-09-15T08:00:00Z","level":"info","message":"m","resourceId":"r","@timestamp":"2000-01-01T00:00:00Z","log":{"level":"error"},"service":{"name":"s"}}"#;
        let r = parse(own, None).unwrap();
        assert_eq!(r.source(), own);
        assert_eq!(keyword(&r, "level"), Some("info"));
        assert_eq!(
            r.timestamp(),
            Timestamp::parse_rfc3339("2023-09-15T08:00:00Z").unwrap()
        );
        let plain = r#"{"message":"m","level":"info"}"#;
        let r = parse(plain, None).unwrap();
        assert_eq!(
            r.source(),
            &format!(
                r#"{{"timestamp":"{}",{}"#,
                Timestamp(7).to_rfc3339(),
                &plain[1..]
            )
        );
    }

    #[test]
    fn epoch_millis_timestamps() {
        let r = parse(r#"{"@timestamp":1694764800123,"message":"x"}"#, None).unwrap();
        assert_eq!(r.timestamp(), Timestamp(1_694_764_800_123_000_000));
        assert!(r
            .source()
            .starts_with(r#"{"timestamp":"2023-09-15T08:00:00.123Z","#));
        let r = parse(r#"{"@timestamp":"1694764800000.5","message":"x"}"#, None).unwrap();
        assert_eq!(r.timestamp(), Timestamp(1_694_764_800_000_500_000));
        assert_eq!(epoch_millis("-5"), Some(Timestamp(-5_000_000)));
        for bad in ["", "-", "1e3", "12a", "1.1234567", "99999999999999999999"] {
            assert_eq!(epoch_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let err = |text: &str, index: Option<&str>| parse(text, index).unwrap_err().to_string();
        assert!(
            err(r#"{"@timestamp":"yesterday","message":"x"}"#, None)
                .contains("field `@timestamp`: `yesterday` is neither"),
            "{}",
            err(r#"{"@timestamp":"yesterday","message":"x"}"#, None)
        );
        assert!(err(r#"{"@timestamp":true,"message":"x"}"#, None).contains("`@timestamp`"));
        assert!(err(r#"{"log":{"level":"warn"}}"#, None).contains("field `message`"));
        assert!(err(r#"{"_index":"x","message":"m"}"#, Some("y")).contains("field `_index`"));
        assert!(err("{\"message\":\"a\"}\n{\"message\":\"b\"}", None)
            .contains("expected one JSON object, found 2 records"));
        assert!(err("[1]", None).contains("line 1, column 1: expected a JSON object per line"));
        // A document's own `_index` is fine when the action names none.
        assert!(parse(r#"{"_index":"x","message":"m"}"#, None).is_ok());
    }

    /// The field errors point at the value, in the text as it was sent
    /// (leading blanks and a byte-order mark included).
    #[test]
    fn field_errors_are_located_at_the_value() {
        let located = |text: &str, index: Option<&str>, value: &str| {
            let Err(Error::InvalidRecord(e)) = parse(text, index) else {
                panic!("{text} parsed");
            };
            let column = text.find(value).expect("the value is in the text") + 1;
            assert_eq!((e.line, e.column), (1, Some(column)), "{e}");
            e.field
        };
        let field = located(
            r#"  {"message":"x","@timestamp":"yesterday"}"#,
            None,
            r#""yesterday""#,
        );
        assert_eq!(field.as_deref(), Some("@timestamp"));
        let field = located(
            "\u{feff}{\"@timestamp\": [true], \"message\":\"x\"}",
            None,
            "[true]",
        );
        assert_eq!(field.as_deref(), Some("@timestamp"));
        let field = located(r#"{"message":"m", "_index" : "x"}"#, Some("y"), r#""x""#);
        assert_eq!(field.as_deref(), Some("_index"));
        // Errors of the JSON itself are those of the text as sent too:
        // where `parse_records` puts them, three columns on for the blanks.
        let column = |text: &str| match parse(text, None) {
            Err(Error::InvalidRecord(e)) => e.column,
            other => panic!("{text}: {other:?}"),
        };
        let plain = column(r#"{"message":1e400}"#);
        assert_eq!(column(r#"   {"message":1e400}"#), plain.map(|c| c + 3));
    }

    #[test]
    fn empty_document_with_only_an_index_is_still_refused_for_no_message() {
        assert!(parse("{}", Some("i")).is_err());
        // Members are inserted before a document whose only member is `message`.
        let r = parse(r#"  {"message":"m"}"#, Some("i")).unwrap();
        assert!(
            r.source().ends_with(r#""_index":"i","message":"m"}"#),
            "{}",
            r.source()
        );
    }
}
