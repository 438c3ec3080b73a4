use super::*;
use logingest_core::Limits;
use serde_json::{json, Value};

/// 2026-12-07T12:00:00Z.
const RECEIVED: i64 = 1_796_644_800_000_000_000;

fn origin() -> Origin {
    Origin {
        received: Timestamp::from_nanos(RECEIVED),
        peer: Some("127.0.0.1".parse().unwrap()),
    }
}

fn record(frame: &str) -> Value {
    let record = decode(frame.as_bytes(), &origin(), &ParseOptions::default()).unwrap();
    serde_json::from_str(record.source()).unwrap()
}

#[test]
fn the_received_constant_is_what_it_says() {
    assert_eq!(
        Timestamp::from_nanos(RECEIVED).to_rfc3339(),
        "2026-12-07T12:00:00Z"
    );
}

#[test]
fn an_rfc5424_message_maps_every_part() {
    let got = record(
        "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 \
         [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]\
         [origin ip=\"192.0.2.1\" ip=\"192.0.2.2\"] \u{feff}An application event",
    );
    assert_eq!(
        got,
        json!({
            "timestamp": "2003-10-11T22:14:15.003Z",
            "level": "notice",
            "message": "An application event",
            "resourceId": "evntslog",
            "metadata": {
                "syslog": {
                    "facility": "local4",
                    "hostname": "mymachine.example.com",
                    "procid": "1234",
                    "msgid": "ID47",
                    "protocol": "rfc5424",
                    "peer": "127.0.0.1",
                },
                "sd": {
                    "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"},
                    "origin": {"ip": ["192.0.2.1", "192.0.2.2"]},
                },
            },
        })
    );
}

#[test]
fn an_rfc5424_time_with_an_offset_is_stored_in_utc() {
    let got = record("<11>1 2023-09-15T10:00:00.5+02:00 host app - - - disk failed");
    assert_eq!(got["timestamp"], "2023-09-15T08:00:00.500Z");
    assert_eq!(got["level"], "error");
    assert_eq!(got["metadata"]["syslog"]["facility"], "user");
}

#[test]
fn escaped_structured_data_values_are_unescaped() {
    let got = record(r#"<14>1 - h a - - [x@1 q="say \"hi\" \] \\"] m"#);
    assert_eq!(got["metadata"]["sd"]["x@1"]["q"], r#"say "hi" ] \"#);
}

#[test]
fn an_rfc3164_message_takes_the_receive_year_and_its_tag() {
    let got = record("<34>Oct 11 22:14:15 mymachine su[42]: 'su root' failed for lonvick");
    assert_eq!(got["timestamp"], "2026-10-11T22:14:15Z");
    assert_eq!(got["level"], "crit");
    assert_eq!(got["resourceId"], "su");
    assert_eq!(got["message"], "'su root' failed for lonvick");
    let syslog = &got["metadata"]["syslog"];
    assert_eq!(syslog["facility"], "auth");
    assert_eq!(syslog["hostname"], "mymachine");
    assert_eq!(syslog["procid"], "42");
    assert_eq!(syslog["protocol"], "rfc3164");
}

#[test]
fn an_rfc3164_time_after_the_receive_time_is_of_the_year_before() {
    // Received 2026-12-07 12:00: 8 December is more than a day ahead.
    let got = record("<13>Dec  8 12:00:01 host app: m");
    assert_eq!(got["timestamp"], "2025-12-08T12:00:01Z");
    // Within a day ahead (a sender's clock a little fast): this year.
    let got = record("<13>Dec  8 11:59:59 host app: m");
    assert_eq!(got["timestamp"], "2026-12-08T11:59:59Z");
    assert_eq!(
        year_of(Timestamp::from_nanos(RECEIVED), (1, 1, 0, 0, 0)),
        2026
    );
}

#[test]
fn the_year_rule_turns_new_year() {
    // Received 2027-01-01T00:00:30Z: a 31 December message is of 2026.
    let received = Timestamp::parse_rfc3339("2027-01-01T00:00:30Z").unwrap();
    assert_eq!(year_of(received, (12, 31, 23, 59, 58)), 2026);
    assert_eq!(year_of(received, (1, 1, 0, 0, 10)), 2027);
}

#[test]
fn a_message_without_a_time_gets_the_receive_time() {
    let got = record("<14>1 - host app - - - no time here");
    assert_eq!(got["timestamp"], "2026-12-07T12:00:00Z");
    assert_eq!(got["level"], "info");
}

#[test]
fn text_that_is_not_syslog_is_kept_whole_as_the_message() {
    let got = record("just a line from a script");
    assert_eq!(got["message"], "just a line from a script");
    assert_eq!(got["timestamp"], "2026-12-07T12:00:00Z");
    assert!(got.get("level").is_none(), "{got}");
    assert_eq!(got["metadata"]["syslog"]["protocol"], "rfc3164");
}

#[test]
fn bytes_that_are_not_utf8_become_replacement_characters() {
    let record = decode(
        b"<13>1 - h a - - - caf\xe9 ok",
        &origin(),
        &ParseOptions::default(),
    )
    .unwrap();
    let got: Value = serde_json::from_str(record.source()).unwrap();
    assert_eq!(got["message"], "caf\u{fffd} ok");
}

#[test]
fn a_record_over_the_size_limit_is_refused_naming_the_message() {
    let options = ParseOptions::default().limits(Limits::default().max_record_bytes(200));
    let frame = format!("<13>1 - h a - - - {}", "x".repeat(300));
    let e = decode(frame.as_bytes(), &origin(), &options).unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert!(
        e.reason()
            .ends_with("record is 480 bytes, the limit is 200"),
        "{e}"
    );
}

#[test]
fn levels_cover_every_severity() {
    let levels: Vec<Value> = (0..8)
        .map(|severity| record(&format!("<{}>1 - h a - - - m", 8 + severity))["level"].clone())
        .collect();
    assert_eq!(
        levels,
        ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
    );
}

#[test]
fn decode_all_refuses_each_bad_message_alone() {
    let options =
        ParseOptions::default().limits(Limits::default().max_record_bytes(400).max_term_bytes(16));
    let long_app = "<13>1 - h an-app-name-of-many-bytes - - - too long a term";
    let too_large = format!("<13>1 - h a - - - {}", "xx ".repeat(170));
    let frames: Vec<&[u8]> = vec![
        b"<13>1 - h a - - - first",
        long_app.as_bytes(),
        too_large.as_bytes(),
        b"<13>1 - h b - - - last",
    ];
    let messages: Vec<(&[u8], Origin)> = frames.iter().map(|f| (*f, origin())).collect();
    let mut metered = 0;
    let decoded = decode_all(&messages, &options, |bytes| {
        metered += bytes;
        Ok::<(), ProtocolError>(())
    })
    .unwrap();
    let messages: Vec<&str> = decoded.records.iter().map(Record::message).collect();
    assert_eq!(messages, ["first", "last"]);
    let reasons: Vec<String> = decoded
        .refused
        .iter()
        .map(ProtocolError::to_string)
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("the limit is 400")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("resourceId")),
        "{reasons:?}"
    );
    let memory: usize = decoded.records.iter().map(Record::memory).sum();
    assert!(metered >= memory, "{metered} < {memory}");
    // The same records as each decoded alone.
    for (record, frame) in decoded.records.iter().zip([frames[0], frames[3]]) {
        assert_eq!(record, &decode(frame, &origin(), &options).unwrap());
    }
}

#[test]
fn ids_in_structured_data_move_to_their_fields() {
    let got = record(
        r#"<14>1 - h a - - [otel trace_id="0af7651916cd43dd8448eb211c80319c" span_id="b7ad6b7169203331" x="1"] m"#,
    );
    assert_eq!(got["traceId"], "0af7651916cd43dd8448eb211c80319c");
    assert_eq!(got["spanId"], "b7ad6b7169203331");
    assert_eq!(got["metadata"]["sd"], json!({"otel": {"x": "1"}}));
    // A name given twice is no one id: it stays where it was.
    let got = record(r#"<14>1 - h a - - [x traceId="a" traceId="b"] m"#);
    assert!(got.get("traceId").is_none(), "{got}");
    assert_eq!(got["metadata"]["sd"]["x"]["traceId"], json!(["a", "b"]));
}

#[test]
fn an_rfc3164_time_just_after_new_year_is_of_the_next_year() {
    // A sender's clock a little ahead, across New Year.
    let received = Timestamp::parse_rfc3339("2026-12-31T23:59:50Z").unwrap();
    assert_eq!(year_of(received, (1, 1, 0, 0, 5)), 2027);
    assert_eq!(year_of(received, (12, 31, 23, 59, 40)), 2026);
    assert_eq!(year_of(received, (6, 1, 0, 0, 0)), 2026);
}

#[test]
fn a_pri_over_191_is_no_pri_the_line_is_kept_whole() {
    for line in ["<192>Oct 11 22:14:15 host app: x", "<200>1 - h a - - - y"] {
        let got = record(line);
        assert_eq!(got["message"], line, "{got}");
        assert!(got.get("level").is_none(), "{got}");
        assert!(got["metadata"]["syslog"].get("facility").is_none(), "{got}");
    }
    // 191 is the last PRI: local7.debug.
    let got = record("<191>1 - h a - - - z");
    assert_eq!(got["level"], "debug");
    assert_eq!(got["metadata"]["syslog"]["facility"], "local7");
}

#[test]
fn max_records_does_not_apply_to_a_batch_of_messages() {
    let options = ParseOptions::default().limits(Limits::default().max_records(3));
    let frames: Vec<String> = (0..10).map(|i| format!("<13>1 - h a - - - m{i}")).collect();
    let messages: Vec<(&[u8], Origin)> = frames.iter().map(|f| (f.as_bytes(), origin())).collect();
    let decoded = decode_all(&messages, &options, |_| Ok::<(), ProtocolError>(())).unwrap();
    assert_eq!(decoded.records.len(), 10);
    assert!(decoded.refused.is_empty());
}
