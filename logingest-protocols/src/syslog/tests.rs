use super::*;
use logingest_core::Limits;
use serde_json::json;

/// 2026-12-07T12:00:00Z.
const RECEIVED: i64 = 1_796_644_800_000_000_000;

fn origin() -> Origin {
    Origin {
        received: Timestamp::from_nanos(RECEIVED),
        peer: Some("127.0.0.1".parse().unwrap()),
        transport: "tcp",
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
                    "severity": "notice",
                    "hostname": "mymachine.example.com",
                    "appname": "evntslog",
                    "procid": "1234",
                    "msgid": "ID47",
                    "version": "1",
                    "protocol": "rfc5424",
                    "transport": "tcp",
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
        e.reason().starts_with("record is more than 200 bytes"),
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
