//! The writer against the parser: random members written both ways (by
//! the writer, and as plain JSON text the parser then reads) must give
//! equal records, or both be refused for the same field.

use proptest::prelude::*;

use super::*;
use crate::parse::{parse_records, Format, ParseOptions};

#[derive(Debug, Clone)]
enum Op {
    String(&'static str, String),
    Strings(&'static str, Vec<String>),
    Object(&'static str),
    End,
    Timestamp(i64),
}

const KEYS: [&str; 11] = [
    "message",
    "timestamp",
    "metadata",
    "level",
    "traceId",
    "a",
    "b",
    "a.b",
    "",
    "é\"\\\n",
    "sd",
];

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,12}",
        "[a-z]{18,26}",
        Just("2023-09-15T08:00:00.5Z".to_owned()),
        Just("not a time".to_owned()),
        "\\PC{0,6}",
        Just("\u{1}\"\\\u{7f}\u{2028}".to_owned()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let key = prop::sample::select(&KEYS[..]);
    prop_oneof![
        4 => (key.clone(), value()).prop_map(|(k, v)| Op::String(k, v)),
        1 => (key.clone(), prop::collection::vec(value(), 0..3)).prop_map(|(k, v)| Op::Strings(k, v)),
        2 => key.prop_map(Op::Object),
        2 => Just(Op::End),
        1 => (-4_000_000_000_000_000_000i64..4_000_000_000_000_000_000).prop_map(Op::Timestamp),
    ]
}

/// The same members as plain JSON text, with no rule checked.
fn text_of(ops: &[Op]) -> String {
    let mut out = Vec::new();
    // Members written so far in each open object.
    let mut open = vec![0usize];
    let member = |out: &mut Vec<u8>, open: &mut Vec<usize>, key: &str| {
        let count = open.last_mut().expect("open");
        if *count > 0 {
            out.push(b',');
        }
        *count += 1;
        serde_json::to_writer(&mut *out, key).expect("writes");
        out.push(b':');
    };
    out.push(b'{');
    for op in ops {
        match op {
            Op::String(key, value) => {
                member(&mut out, &mut open, key);
                serde_json::to_writer(&mut out, value).expect("writes");
            }
            Op::Strings(key, values) => {
                member(&mut out, &mut open, key);
                serde_json::to_writer(&mut out, values).expect("writes");
            }
            Op::Object(key) => {
                member(&mut out, &mut open, key);
                out.push(b'{');
                open.push(0);
            }
            Op::End => {
                if open.len() > 1 {
                    open.pop();
                    out.push(b'}');
                }
            }
            Op::Timestamp(nanos) => {
                member(&mut out, &mut open, "timestamp");
                let text = Timestamp::from_nanos(*nanos).to_rfc3339();
                serde_json::to_writer(&mut out, &text).expect("writes");
            }
        }
    }
    out.extend(std::iter::repeat_n(b'}', open.len() - 1));
    out.push(b'}');
    String::from_utf8(out).expect("UTF-8")
}

fn write(ops: &[Op], limits: &Limits, receive_time: Timestamp) -> Result<Record, FieldError> {
    let mut writer = RecordWriter::new(limits);
    for op in ops {
        match op {
            Op::String(key, value) => writer.string(key, value),
            Op::Strings(key, values) => writer.strings(key, values),
            Op::Object(key) => writer.object(key),
            Op::End => writer.end(),
            Op::Timestamp(nanos) => writer.timestamp(Timestamp::from_nanos(*nanos)),
        }
    }
    writer.finish(receive_time)
}

fn check(ops: &[Op], limits: Limits) {
    let receive_time = Timestamp::from_nanos(1_700_000_000_123_456_789);
    let written = write(ops, &limits, receive_time);
    let text = text_of(ops);
    let options = ParseOptions::default()
        .limits(limits)
        .receive_time(receive_time)
        .format(Format::Ndjson);
    let parsed = parse_records(text.as_bytes(), &options);
    match (written, parsed) {
        (Ok(record), Ok(mut records)) => {
            assert_eq!(records.len(), 1, "{text}");
            assert_eq!(record, records.remove(0), "{text}");
        }
        (Err(written), Err(crate::Error::InvalidRecord(parsed))) => {
            // The parser checks the size before anything else; the writer
            // stops at the first rule broken, before the text is whole.
            if !parsed.reason.starts_with("record is ") {
                assert_eq!(written.field, parsed.field, "{text}");
                assert_eq!(written.reason, parsed.reason, "{text}");
            }
        }
        (written, parsed) => panic!("{text}\nwriter: {written:?}\nparser: {parsed:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn the_writer_makes_what_the_parser_makes_of_its_text(ops in prop::collection::vec(op(), 0..14)) {
        check(&ops, Limits::default());
    }

    #[test]
    fn and_refuses_what_it_refuses_under_small_limits(ops in prop::collection::vec(op(), 0..14)) {
        let limits = Limits::default()
            .max_term_bytes(20)
            .max_depth(3)
            .max_record_bytes(160)
            .max_indexed_bytes(200);
        check(&ops, limits);
    }
}

#[test]
fn a_syslog_shaped_record() {
    let limits = Limits::default();
    let mut writer = RecordWriter::new(&limits);
    writer.timestamp(Timestamp::from_nanos(1_694_764_800_000_000_000));
    writer.string("level", "error");
    writer.string("message", "disk full on /var");
    writer.object("metadata");
    writer.object("syslog");
    writer.string("facility", "local0");
    writer.end();
    writer.object("sd");
    writer.object("rec@32473");
    writer.strings("tag", &["a", "b"]);
    let record = writer.finish(Timestamp::from_nanos(0)).expect("a record");
    assert_eq!(
        record.source(),
        r#"{"timestamp":"2023-09-15T08:00:00Z","level":"error","message":"disk full on /var","metadata":{"syslog":{"facility":"local0"},"sd":{"rec@32473":{"tag":["a","b"]}}}}"#
    );
    let keywords: Vec<(&str, &str)> = record
        .keywords()
        .iter()
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        keywords,
        [
            ("level", "error"),
            ("metadata.syslog.facility", "local0"),
            ("metadata.sd.rec@32473.tag", "a"),
            ("metadata.sd.rec@32473.tag", "b"),
        ]
    );
}

#[test]
fn many_keys_cost_linear_time_and_a_repeated_one_is_refused() {
    let limits = Limits::default().max_record_bytes(usize::MAX);
    let mut writer = RecordWriter::new(&limits);
    writer.string("message", "m");
    writer.object("metadata");
    for i in 0..100_000 {
        writer.string(&format!("k{i}"), "v");
    }
    writer.string("k99999", "again");
    let error = writer.finish(Timestamp::from_nanos(0)).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("metadata.k99999"));
    assert_eq!(error.reason, "duplicate field");
}

#[test]
fn a_long_path_repeated_by_many_values_is_refused_once_past_the_indexing_limit() {
    let limits = Limits::default();
    let limit = limits.indexed_bytes_limit();
    let id = "x".repeat(200_000);
    let mut writer = RecordWriter::new(&limits);
    writer.string("message", "m");
    writer.object("metadata");
    writer.object(&id);
    // 200 KB of path each: the limit is passed at the 21st value, long
    // before the 100,000th.
    writer.strings("p", &vec!["v"; 100_000]);
    let error = writer.finish(Timestamp::from_nanos(0)).unwrap_err();
    assert_eq!(error.field, Some(format!("metadata.{id}.p")));
    assert!(
        error
            .reason
            .contains(&format!("take more than {limit} bytes to index")),
        "{}",
        error.reason
    );
}

#[test]
fn the_indexing_limit_holds_exactly_as_the_parser_holds_it() {
    let write = |limit: usize| {
        let limits = Limits::default().max_indexed_bytes(limit);
        let mut writer = RecordWriter::new(&limits);
        writer.string("message", "m");
        writer.string("level", "error");
        writer.object("a");
        writer.strings("b", &["x", "x"]);
        writer.end();
        writer.finish(Timestamp::from_nanos(0))
    };
    assert!(write(18).is_ok(), "exactly at the limit");
    let error = write(17).unwrap_err();
    assert_eq!(error.field.as_deref(), Some("a.b"));
    assert!(
        error.reason.contains("more than 17 bytes to index"),
        "{}",
        error.reason
    );
}
