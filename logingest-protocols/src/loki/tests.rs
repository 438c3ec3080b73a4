use super::proto::{self, EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter};
use super::*;

fn ok<E>(_: usize) -> Result<(), E> {
    Ok(())
}

fn pair(name: &str, value: &str) -> LabelPairAdapter {
    LabelPairAdapter {
        name: name.into(),
        value: value.into(),
    }
}

/// A stream of `checkout` at `warn` with `n` entries: entry `i` says
/// `line {i}` at 2023-09-15T08:00:00Z + `i` s, with a trace id.
fn push(n: i64) -> PushRequest {
    PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{app="checkout", level="warn", env="prod"}"#.into(),
            entries: (0..n)
                .map(|i| EntryAdapter {
                    timestamp: Some(proto::Timestamp {
                        seconds: 1_694_764_800 + i,
                        nanos: 5,
                    }),
                    line: format!("line {i}"),
                    structured_metadata: vec![
                        pair("trace_id", "0102030405060708090a0b0c0d0e0f10"),
                        pair("user", "u-7"),
                    ],
                })
                .collect(),
            hash: 0,
        }],
    }
}

fn snappy(bytes: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(bytes).unwrap()
}

fn decode_ok(body: &[u8], encoding: Encoding) -> Vec<Record> {
    decode(
        body,
        encoding,
        &ParseOptions::default(),
        ok::<ProtocolError>,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn protobuf_entries_map_onto_the_record_fields_and_keep_the_rest() {
    let records = decode_ok(&snappy(&push(2).encode_to_vec()), Encoding::Protobuf);
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].source(),
        r#"{"timestamp":"2023-09-15T08:00:01.000000005Z","level":"warn","message":"line 1","resourceId":"checkout","traceId":"0102030405060708090a0b0c0d0e0f10","metadata":{"labels":{"app":"checkout","env":"prod","level":"warn"},"user":"u-7"}}"#
    );
}

#[test]
fn json_pushes_give_the_same_records() {
    let json = r#"{"streams":[{"stream":{"app":"checkout","level":"warn","env":"prod"},
        "values":[["1694764800000000005","line 0",{"trace_id":"0102030405060708090a0b0c0d0e0f10","user":"u-7"}],
                  ["1694764801000000005","line 1",{"trace_id":"0102030405060708090a0b0c0d0e0f10","user":"u-7"}]]}]}"#;
    let from_json = decode_ok(json.as_bytes(), Encoding::Json);
    let from_protobuf = decode_ok(&snappy(&push(2).encode_to_vec()), Encoding::Protobuf);
    let sources = |records: &[Record]| {
        records
            .iter()
            .map(|r| r.source().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(sources(&from_json), sources(&from_protobuf));
    // Without structured metadata, and a time as a number.
    let records = decode_ok(
        br#"{"streams":[{"stream":{"job":"varlogs"},"values":[[1694764800000000000,"plain"]]}]}"#,
        Encoding::Json,
    );
    assert_eq!(
        records[0].source(),
        r#"{"timestamp":"2023-09-15T08:00:00Z","message":"plain","resourceId":"varlogs","metadata":{"labels":{"job":"varlogs"}}}"#
    );
}

#[test]
fn levels_resources_and_ids_come_from_the_first_name_that_is_there() {
    let mut request = push(1);
    request.streams[0].labels = r#"{job="j", service_name="api", detected_level="error"}"#.into();
    request.streams[0].entries[0].structured_metadata = vec![
        pair("level", "debug"),
        pair("spanID", "0102030405060708"),
        pair("labels", "mine"),
    ];
    let records = decode_ok(&snappy(&request.encode_to_vec()), Encoding::Protobuf);
    let record: Value = serde_json::from_str(records[0].source()).unwrap();
    // A label wins over structured metadata; service_name over job.
    assert_eq!(record["level"], "error");
    assert_eq!(record["resourceId"], "api");
    assert_eq!(record["spanId"], "0102030405060708");
    assert_eq!(record["metadata"]["attributes"]["labels"], "mine");
    assert_eq!(record["metadata"]["labels"]["job"], "j");
    // An entry without a time gets the receive time.
    request.streams[0].entries[0].timestamp = None;
    let options = ParseOptions::default().receive_time(Timestamp::from_nanos(7));
    let records = decode(
        &snappy(&request.encode_to_vec()),
        Encoding::Protobuf,
        &options,
        ok::<ProtocolError>,
    )
    .unwrap();
    assert_eq!(records[0].timestamp(), Timestamp::from_nanos(7));
}

#[test]
fn bad_pushes_fail_whole_with_their_place() {
    let options = ParseOptions::default();
    let fail =
        |body: &[u8], encoding| decode(body, encoding, &options, ok::<ProtocolError>).unwrap_err();
    let mut bad_labels = push(1);
    bad_labels.streams[0].labels = r#"{app="x" level="y"}"#.into();
    let e = fail(&snappy(&bad_labels.encode_to_vec()), Encoding::Protobuf);
    assert_eq!(e.location(), Some("streams[0].labels"), "{e}");
    assert_eq!(e.reason(), "expected `,` at byte 10 of the labels");
    let mut bad_time = push(3);
    bad_time.streams[0].entries[2].timestamp = Some(proto::Timestamp {
        seconds: i64::MAX / 100,
        nanos: 0,
    });
    let e = fail(&snappy(&bad_time.encode_to_vec()), Encoding::Protobuf);
    assert_eq!(e.location(), Some("streams[0].entries[2].timestamp"), "{e}");
    let e = fail(&push(1).encode_to_vec(), Encoding::Protobuf);
    assert!(e.reason().contains("snappy"), "{e}");
    let e = fail(&snappy(b"\x0a\xff\xff"), Encoding::Protobuf);
    assert!(
        e.reason().starts_with("not a Loki PushRequest in protobuf"),
        "{e}"
    );
    let e = fail(
        br#"{"streams":[{"stream":{},"values":[["yesterday","x"]]}]}"#,
        Encoding::Json,
    );
    // serde_json points at the end of the value it could not take.
    assert_eq!(e.location(), Some("line 1, column 47"), "{e}");
    assert!(e.reason().contains("`yesterday` is not nanoseconds"), "{e}");
    let e = fail(
        br#"{"streams":[{"values":[["1","x",{},5]]}]}"#,
        Encoding::Json,
    );
    assert!(e.location().is_some_and(|l| l.starts_with("line 1")), "{e}");
    // Record rules, placed at the entry.
    let mut limits = logingest_core::Limits::default();
    limits.max_record_bytes = 300;
    let mut long = push(2);
    long.streams[0].entries[1].line = "x".repeat(400);
    let e = decode(
        &snappy(&long.encode_to_vec()),
        Encoding::Protobuf,
        &ParseOptions::default().limits(limits),
        ok::<ProtocolError>,
    )
    .unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert_eq!(e.location(), Some("streams[0].entries[1]"), "{e}");
}

#[test]
fn no_content_type_is_protobuf_as_loki_reads_it() {
    assert_eq!(encoding(""), Some(Encoding::Protobuf));
    assert_eq!(encoding("application/x-protobuf"), Some(Encoding::Protobuf));
    assert_eq!(
        encoding("application/json; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(encoding("text/plain"), None);
}

#[test]
fn a_body_that_uncompresses_past_the_limit_is_refused_before_it_is() {
    let body = snappy(&vec![0u8; 1 << 20]);
    assert!(body.len() < 100_000);
    let mut metered = 0;
    let e = uncompress(&body, Encoding::Protobuf, 1 << 19, |bytes| {
        metered += bytes;
        Ok::<(), ProtocolError>(())
    })
    .unwrap_err();
    assert!(matches!(e, ProtocolError::TooLarge { .. }), "{e}");
    assert_eq!(metered, 0, "nothing was reserved for it");
}

/// Writes the seeds of the `loki` fuzz target (`fuzz/corpus/loki`): the
/// pushes of these tests as protobuf (compressed by the check, and once
/// as sent) and JSON, with the largest limits and with the smallest (the
/// first byte; `crate::fuzz`). Run by hand when the mapping changes:
/// `cargo test -p logingest-protocols -- --ignored write_loki_fuzz_seeds`.
#[test]
#[ignore]
fn write_loki_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/loki");
    std::fs::create_dir_all(&dir).unwrap();
    let json = br#"{"streams":[{"stream":{"app":"checkout","level":"warn"},"values":[["1694764800000000005","line 0",{"trace_id":"0102030405060708090a0b0c0d0e0f10","labels":"x"}],["1694764801000000005","line 1"]]}]}"#;
    let mut no_time = push(1);
    no_time.streams[0].entries[0].timestamp = None;
    no_time.streams[0].labels = r#"{service_name="a\"b\u00e9", detected_level="error"}"#.into();
    let seeds: [(&str, u8, Vec<u8>); 8] = [
        ("pb-large", 0x7e, push(2).encode_to_vec()),
        ("pb-small", 0x00, push(2).encode_to_vec()),
        ("pb-no-time-large", 0x7e, no_time.encode_to_vec()),
        ("pb-snappy-as-sent", 0xfe, snappy(&push(2).encode_to_vec())),
        ("json-large", 0x7f, json.to_vec()),
        ("json-small", 0x01, json.to_vec()),
        ("json-empty-streams", 0x7f, br#"{"streams":[]}"#.to_vec()),
        ("pb-empty", 0x7e, Vec::new()),
    ];
    for (name, first, body) in seeds {
        let mut seed = vec![first];
        seed.extend_from_slice(&body);
        std::fs::write(dir.join(name), seed).unwrap();
    }
}
