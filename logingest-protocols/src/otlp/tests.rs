use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
        ..Default::default()
    }
}

fn any(value: any_value::Value) -> Option<AnyValue> {
    Some(AnyValue { value: Some(value) })
}

/// A request of one resource and scope holding `logs`.
fn request(logs: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", string("checkout")),
                    kv("host.name", string("node-7")),
                ],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "app.payments".into(),
                    version: "1.2.0".into(),
                    ..Default::default()
                }),
                log_records: logs,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

const T: u64 = 1_694_764_800_123_456_789; // 2023-09-15T08:00:00.123456789Z

fn full_log() -> LogRecord {
    LogRecord {
        time_unix_nano: T,
        observed_time_unix_nano: T + 1_000,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: string("payment failed"),
        attributes: vec![
            kv("http.route", string("/pay")),
            kv("retries", any(any_value::Value::IntValue(3))),
            kv("resource", string("an attribute of that name")),
        ],
        dropped_attributes_count: 0,
        flags: 1,
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        event_name: String::new(),
    }
}

fn read(request: &ExportLogsServiceRequest) -> Result<Vec<Record>, ProtocolError> {
    records(request, &ParseOptions::default(), |_| Ok(()))
}

fn source(log: LogRecord) -> String {
    read(&request(vec![log])).unwrap()[0].source().to_owned()
}

#[test]
fn a_log_record_maps_onto_the_record_fields_and_keeps_the_rest() {
    let text = source(full_log());
    let expected = concat!(
        r#"{"timestamp":"2023-09-15T08:00:00.123456789Z","level":"ERROR","message":"payment failed","#,
        r#""resourceId":"checkout","traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","#,
        r#""metadata":{"attributes":{"resource":"an attribute of that name"},"http.route":"/pay","#,
        r#""otel":{"flags":1,"observedTimestamp":"2023-09-15T08:00:00.123457789Z","severityNumber":17},"#,
        r#""retries":3,"resource":{"host.name":"node-7"},"#,
        r#""scope":{"name":"app.payments","version":"1.2.0"}}}"#
    );
    assert_eq!(text, expected);
    let record = &read(&request(vec![full_log()])).unwrap()[0];
    assert_eq!(
        record.keyword_values("metadata.http.route").next(),
        Some("/pay")
    );
    assert_eq!(
        record.keyword_values("metadata.resource.host.name").next(),
        Some("node-7")
    );
}

#[test]
fn times_fall_back_to_the_observed_time_then_the_receive_time() {
    let observed = source(LogRecord {
        observed_time_unix_nano: T,
        body: string("m"),
        ..Default::default()
    });
    assert!(
        observed.starts_with(r#"{"timestamp":"2023-09-15T08:00:00.123456789Z","message":"m""#),
        "{observed}"
    );
    let receive = Timestamp::from_nanos(1_700_000_000_000_000_000);
    let options = ParseOptions::default().receive_time(receive);
    let none = records(&request(vec![LogRecord::default()]), &options, |_| {
        Ok::<(), ProtocolError>(())
    })
    .unwrap();
    assert_eq!(none[0].timestamp(), receive);
    assert!(
        none[0].source().contains(r#""message":"""#),
        "{}",
        none[0].source()
    );
    let e = read(&request(vec![LogRecord {
        time_unix_nano: u64::MAX,
        ..Default::default()
    }]))
    .unwrap_err();
    assert_eq!(
        e.location(),
        Some("resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano"),
        "{e}"
    );
}

/// What OTLP says beside the attributes is kept where no attribute can
/// hide it, and a `service.name` that is not a string is not dropped.
#[test]
fn schema_urls_dropped_counts_and_odd_service_names_are_kept() {
    let mut request = request(vec![full_log()]);
    let resource_logs = &mut request.resource_logs[0];
    resource_logs.schema_url = "https://opentelemetry.io/schemas/1.26.0".into();
    let resource = resource_logs.resource.as_mut().unwrap();
    resource.dropped_attributes_count = 2;
    resource.attributes[0] = kv("service.name", any(any_value::Value::IntValue(7)));
    resource
        .attributes
        .push(kv("schemaUrl", string("an attribute")));
    let scope_logs = &mut resource_logs.scope_logs[0];
    scope_logs.scope = None;
    scope_logs.schema_url = "https://example.com/scope".into();
    let record = &read(&request).unwrap()[0];
    let value: Value = serde_json::from_str(record.source()).unwrap();
    assert_eq!(value["resourceId"], Value::Null);
    let metadata = &value["metadata"];
    assert_eq!(metadata["resource"]["service.name"], 7);
    assert_eq!(metadata["resource"]["schemaUrl"], "an attribute");
    assert_eq!(
        metadata["otel"]["resourceSchemaUrl"],
        "https://opentelemetry.io/schemas/1.26.0"
    );
    assert_eq!(metadata["otel"]["resourceDroppedAttributesCount"], 2);
    assert_eq!(metadata["scope"]["schemaUrl"], "https://example.com/scope");
}

#[test]
fn a_severity_number_without_text_names_its_range() {
    for (number, level) in [
        (1, Some("trace")),
        (8, Some("debug")),
        (9, Some("info")),
        (13, Some("warn")),
        (20, Some("error")),
        (24, Some("fatal")),
        (0, None),
        (25, None),
        (-3, None),
    ] {
        let text = source(LogRecord {
            severity_number: number,
            ..Default::default()
        });
        match level {
            Some(level) => assert!(
                text.contains(&format!(r#""level":"{level}""#)),
                "{number}: {text}"
            ),
            None => assert!(!text.contains("\"level\""), "{number}: {text}"),
        }
    }
}

#[test]
fn bodies_and_attributes_keep_their_types() {
    let nested = any(any_value::Value::KvlistValue(KeyValueList {
        values: vec![
            kv("ok", any(any_value::Value::BoolValue(true))),
            kv("ratio", any(any_value::Value::DoubleValue(0.5))),
            kv("nan", any(any_value::Value::DoubleValue(f64::NAN))),
            kv("inf", any(any_value::Value::DoubleValue(f64::NEG_INFINITY))),
            kv("raw", any(any_value::Value::BytesValue(vec![0, 255]))),
            kv(
                "list",
                any(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![
                        AnyValue {
                            value: Some(any_value::Value::IntValue(-1)),
                        },
                        AnyValue { value: None },
                    ],
                })),
            ),
            kv("empty", None),
        ],
    }));
    let text = source(LogRecord {
        body: nested.clone(),
        attributes: vec![kv("value", nested)],
        ..Default::default()
    });
    let object = r#"{"empty":null,"inf":"-Infinity","list":[-1,null],"nan":"NaN","ok":true,"ratio":0.5,"raw":"AP8="}"#;
    let message = serde_json::to_string(object).unwrap();
    assert!(text.contains(&format!(r#""message":{message}"#)), "{text}");
    assert!(text.contains(&format!(r#""value":{object}"#)), "{text}");
}

#[test]
fn ids_of_the_wrong_length_fail_the_request_with_their_place() {
    let mut bad = full_log();
    bad.trace_id = vec![1, 2, 3];
    let e = read(&request(vec![full_log(), bad])).unwrap_err();
    assert_eq!(
        e.location(),
        Some("resourceLogs[0].scopeLogs[0].logRecords[1].traceId")
    );
    assert!(e.reason().contains("3 bytes"), "{e}");
    let mut bad = full_log();
    bad.span_id = vec![9; 16];
    let e = read(&request(vec![bad])).unwrap_err();
    assert_eq!(
        e.location(),
        Some("resourceLogs[0].scopeLogs[0].logRecords[0].spanId")
    );
    let mut zeros = full_log();
    zeros.trace_id = vec![0; 16];
    zeros.span_id = vec![0; 8];
    let text = source(zeros);
    assert!(
        !text.contains("traceId") && !text.contains("spanId"),
        "{text}"
    );
}

#[test]
fn record_rules_apply_and_name_the_log_record() {
    let mut limits = logingest_core::Limits::default();
    limits.max_record_bytes = 600;
    let options = ParseOptions::default().limits(limits);
    let mut big = full_log();
    big.body = string(&"x".repeat(700));
    let e = records(&request(vec![full_log(), big]), &options, |_| {
        Ok::<(), ProtocolError>(())
    })
    .unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert_eq!(
        e.location(),
        Some("resourceLogs[0].scopeLogs[0].logRecords[1]"),
        "{e}"
    );
    let mut limits = logingest_core::Limits::default();
    limits.max_records = 2;
    let options = ParseOptions::default().limits(limits);
    let e = records(&request(vec![full_log(); 3]), &options, |_| {
        Ok::<(), ProtocolError>(())
    })
    .unwrap_err();
    assert!(
        e.to_string().contains("3 log records, the limit is 2"),
        "{e}"
    );
}

#[test]
fn protobuf_and_json_encodings_give_the_same_records() {
    let request = request(vec![full_log()]);
    let from_protobuf = decode(
        &request.encode_to_vec(),
        Encoding::Protobuf,
        &ParseOptions::default(),
        |_| Ok::<(), ProtocolError>(()),
    )
    .unwrap();
    // The OTLP JSON mapping as the specification spells it: hex ids,
    // 64-bit integers as strings, enums as numbers.
    let json = r#"{"resourceLogs":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"checkout"}},
        {"key":"host.name","value":{"stringValue":"node-7"}}]},
      "scopeLogs":[{"scope":{"name":"app.payments","version":"1.2.0"},
        "logRecords":[{"timeUnixNano":"1694764800123456789","observedTimeUnixNano":"1694764800123457789",
          "severityNumber":17,"severityText":"ERROR","body":{"stringValue":"payment failed"},
          "attributes":[{"key":"http.route","value":{"stringValue":"/pay"}},
            {"key":"retries","value":{"intValue":"3"}},
            {"key":"resource","value":{"stringValue":"an attribute of that name"}}],
          "flags":1,"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"0102030405060708"}]}]}]}"#;
    let from_json = decode(
        json.as_bytes(),
        Encoding::Json,
        &ParseOptions::default(),
        |_| Ok::<(), ProtocolError>(()),
    )
    .unwrap();
    assert_eq!(from_json[0].source(), from_protobuf[0].source());
}

#[test]
fn broken_bodies_are_invalid_with_a_reason() {
    let e = decode_request(&[0x0a, 0xff, 0xff], Encoding::Protobuf).unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert_eq!(
        e.location(),
        Some("ExportLogsServiceRequest.resource_logs"),
        "{e}"
    );
    assert!(e.reason().contains("protobuf"), "{e}");
    // A deep body: what prost says, and the first fields of where.
    let mut deep = AnyValue {
        value: Some(any_value::Value::StringValue("bottom".into())),
    };
    for _ in 0..40 {
        deep = any(any_value::Value::KvlistValue(KeyValueList {
            values: vec![kv("k", Some(deep))],
        }))
        .unwrap();
    }
    let mut log = full_log();
    log.body = Some(deep);
    let e = decode_request(&request(vec![log]).encode_to_vec(), Encoding::Protobuf).unwrap_err();
    assert_eq!(
        e.reason(),
        "not an OTLP ExportLogsServiceRequest in protobuf: recursion limit reached"
    );
    let location = e.location().unwrap();
    assert!(
        location.starts_with("ExportLogsServiceRequest.resource_logs > ResourceLogs.scope_logs > "),
        "{location}"
    );
    assert!(
        location.ends_with("levels)") && location.len() < 300,
        "{location}"
    );
    let e = decode_request(b"{\n \"resourceLogs\": 5}", Encoding::Json).unwrap_err();
    assert_eq!(e.location(), Some("line 2, column 18"), "{e}");
    assert!(!e.reason().contains(" at line "), "{e}");
    // Columns are 1-based: an empty body, or one ending at a line's start
    // (where serde_json says column 0), is at column 1 of that line.
    let e = decode_request(b"", Encoding::Json).unwrap_err();
    assert_eq!(e.location(), Some("line 1, column 1"), "{e}");
    let e = decode_request(b"{\n", Encoding::Json).unwrap_err();
    assert_eq!(e.location(), Some("line 2, column 1"), "{e}");
    let e = decode_request(
        br#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}"#,
        Encoding::Json,
    )
    .unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert_eq!(
        Encoding::from_content_type("application/json; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(
        Encoding::from_content_type("Application/X-Protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(Encoding::from_content_type("text/plain"), None);
}

/// A resource's attributes are written into each of its records: a small
/// request of many empty log records under one large resource makes a text
/// hundreds of times its size. The meter hears of it as it grows, so a
/// budget stops the request before the text is made.
#[test]
fn the_text_of_records_is_metered_as_it_is_written() {
    let mut request = request(vec![LogRecord::default(); 10_000]);
    let resource = request.resource_logs[0].resource.as_mut().unwrap();
    resource
        .attributes
        .push(kv("big", string(&"y".repeat(50_000))));
    let body = request.encode_to_vec();
    assert!(body.len() < 100_000, "{}", body.len());
    // What decoding takes is metered apart (`decoded_bytes`): this is the
    // records' text alone.
    let budget = 10 * body.len();
    let mut metered = 0;
    let e = records(&request, &ParseOptions::default(), |bytes| {
        metered += bytes;
        if metered > budget {
            return Err(ProtocolError::invalid(None, "over budget"));
        }
        Ok(())
    })
    .unwrap_err();
    assert_eq!(e.reason(), "over budget");
    // The text stopped growing at the budget (its last doubling at most).
    assert!(metered <= 2 * budget + 100_000, "{metered}");
    // One record over the record size limit is refused as it is written.
    let mut limits = logingest_core::Limits::default();
    limits.max_record_bytes = 40_000;
    let options = ParseOptions::default().limits(limits);
    let e = decode(&body, Encoding::Protobuf, &options, |_| {
        Ok::<(), ProtocolError>(())
    })
    .unwrap_err();
    assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
    assert_eq!(
        e.location(),
        Some("resourceLogs[0].scopeLogs[0].logRecords[0]"),
        "{e}"
    );
}

/// Writes the seeds of the `otlp` fuzz target (`fuzz/corpus/otlp`): the
/// requests of these tests in both encodings, each with the largest limits
/// and with the smallest (the first byte; `crate::fuzz`). Run by hand when
/// the mapping changes:
/// `cargo test -p logingest-protocols -- --ignored write_fuzz_seeds`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/otlp");
    std::fs::create_dir_all(&dir).unwrap();
    let mut no_ids = full_log();
    no_ids.trace_id.clear();
    no_ids.span_id.clear();
    no_ids.time_unix_nano = 0;
    no_ids.body = any(any_value::Value::KvlistValue(KeyValueList {
        values: vec![
            kv("n", any(any_value::Value::IntValue(-3))),
            kv("d", any(any_value::Value::DoubleValue(f64::NAN))),
            kv("b", any(any_value::Value::BytesValue(vec![0, 255]))),
            kv(
                "a",
                any(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![AnyValue {
                        value: Some(any_value::Value::BoolValue(true)),
                    }],
                })),
            ),
        ],
    }));
    let requests = [
        ("one", request(vec![full_log()])),
        ("typed", request(vec![no_ids, LogRecord::default()])),
        ("empty", ExportLogsServiceRequest::default()),
    ];
    for (name, request) in requests {
        let encodings = [
            ("pb", 0x7e, request.encode_to_vec()),
            ("json", 0x7f, serde_json::to_vec(&request).unwrap()),
        ];
        for (encoding, largest, body) in encodings {
            for (limits, first) in [("large", largest), ("small", largest & 1)] {
                let mut seed = vec![first];
                seed.extend_from_slice(&body);
                std::fs::write(dir.join(format!("{name}-{encoding}-{limits}")), seed).unwrap();
            }
        }
    }
}
