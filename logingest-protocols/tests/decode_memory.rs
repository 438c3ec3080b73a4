//! `otlp::decoded_bytes` is what a server reserves before it decodes an
//! OTLP request: if it fell short of what decoding allocates, a body of
//! small elements could take many times the memory budget. This test
//! counts the peak of live bytes while bodies of both encodings decode,
//! the hostile (millions of empty elements, deep nesting) and the usual,
//! and checks the bound covers it without being wildly above it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use logingest_protocols::otlp::{decode_request, decoded_bytes, Encoding};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// The system allocator, counting the bytes live in blocks it handed out
/// and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // The old and the new block may both be live while it moves.
        grew(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are the whole process's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Measures the most bytes live at once while `decode` runs (above those
/// live before) against `bound`, noting a bound short of the peak, or one
/// more than 16 times it for a body that decoded (a bound is an upper
/// estimate: JSON is counted by its tokens, which legitimate bodies use
/// sparingly).
fn measure(
    name: &str,
    body_len: usize,
    bound: usize,
    decode: impl FnOnce() -> bool,
    failures: &mut Vec<String>,
) {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let decoded = decode();
    let peak = PEAK.load(Ordering::SeqCst) - before;
    let ratio = bound as f64 / peak.max(1) as f64;
    eprintln!(
        "{name}: {body_len} bytes, decoded {decoded}, peak {peak}, bound {bound} ({ratio:.2}x the peak, {:.1}x the body)",
        bound as f64 / body_len as f64,
    );
    if bound < peak {
        failures.push(format!(
            "{name}: decoding took {peak} bytes, the bound is {bound}"
        ));
    }
    if decoded && ratio >= 16.0 {
        failures.push(format!(
            "{name}: the bound {bound} is {ratio:.1}x what decoding took"
        ));
    }
}

/// A length-delimited protobuf field.
fn field(number: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2];
    prost::encoding::encode_varint(value.len() as u64, &mut out);
    out.extend_from_slice(value);
    out
}

/// A request of one resource and scope around `scope_fields` (the encoded
/// fields of a `ScopeLogs`).
fn protobuf_request(scope_fields: &[u8]) -> Vec<u8> {
    field(1, &field(2, scope_fields))
}

fn json_request(log_records: &str) -> Vec<u8> {
    format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{log_records}]}}]}}]}}"#)
        .into_bytes()
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

/// What an SDK sends: records with a body, a few attributes and ids.
fn usual_request(n: usize) -> ExportLogsServiceRequest {
    let log = |i: usize| LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000 + i as u64,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: string(&format!("request {i} served in {} ms", i % 300)),
        attributes: ["http.route", "http.method", "user.id"]
            .iter()
            .map(|key| KeyValue {
                key: (*key).into(),
                value: string(&format!("value-{i}")),
                ..Default::default()
            })
            .collect(),
        trace_id: vec![7; 16],
        span_id: vec![9; 8],
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: string("checkout"),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: (0..n).map(log).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A body whose value is `depth` array values inside each other, with
/// `scalars` numbers at the bottom (not valid values: decoding fails once
/// it reaches them, after buffering them).
fn nested_json(depth: usize, scalars: usize) -> Vec<u8> {
    let mut value = format!("[{}]", vec!["1"; scalars].join(","));
    for _ in 0..depth {
        value = format!(r#"{{"arrayValue":{{"values":[{{"arrayValue":{{"values":{value}}}}}]}}}}"#);
    }
    json_request(&format!(r#"{{"body":{value}}}"#))
}

#[test]
fn the_bound_covers_what_decoding_allocates() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const N: usize = 200_000;
    let empty_logs: Vec<u8> = field(2, &[]).repeat(N);
    let empty_attributes = field(2, &field(6, &[]).repeat(N));
    let empty_array_values = field(2, &field(5, &field(5, &field(1, &[]).repeat(N))));
    let mut nested = field(1, b"bottom");
    for _ in 0..30 {
        nested = field(6, &field(1, &field(2, &nested)));
    }
    let usual = usual_request(5_000);
    let usual_json = serde_json::to_vec(&usual).unwrap();
    let cases: Vec<(&str, Vec<u8>, Encoding)> = vec![
        (
            "pb: empty log records",
            protobuf_request(&empty_logs),
            Encoding::Protobuf,
        ),
        (
            "pb: empty attributes",
            protobuf_request(&empty_attributes),
            Encoding::Protobuf,
        ),
        (
            "pb: empty array values",
            protobuf_request(&empty_array_values),
            Encoding::Protobuf,
        ),
        (
            "pb: key-value lists 30 deep",
            protobuf_request(&field(2, &field(5, &nested))),
            Encoding::Protobuf,
        ),
        (
            "pb: truncated",
            protobuf_request(&empty_logs)[..N].to_vec(),
            Encoding::Protobuf,
        ),
        ("pb: usual", usual.encode_to_vec(), Encoding::Protobuf),
        (
            "json: empty log records",
            json_request(&vec!["{}"; N].join(",")),
            Encoding::Json,
        ),
        (
            "json: empty attributes",
            json_request(&format!(
                r#"{{"attributes":[{}]}}"#,
                vec![r#"{"key":""}"#; N].join(",")
            )),
            Encoding::Json,
        ),
        (
            "json: empty array values",
            json_request(&format!(
                r#"{{"body":{{"arrayValue":{{"values":[{}]}}}}}}"#,
                vec!["{}"; N].join(",")
            )),
            Encoding::Json,
        ),
        ("json: usual", usual_json, Encoding::Json),
        (
            "json: an array of scalars",
            json_request(&format!(
                r#"{{"body":{{"arrayValue":{{"values":[{}]}}}}}}"#,
                vec!["1"; N].join(",")
            )),
            Encoding::Json,
        ),
        (
            "json: arrays 40 deep",
            nested_json(40, N / 4),
            Encoding::Json,
        ),
        ("json: arrays 4 deep", nested_json(4, N / 4), Encoding::Json),
        (
            "json: arrays 20 deep",
            nested_json(20, N / 4),
            Encoding::Json,
        ),
        (
            "json: arrays 12 deep",
            nested_json(12, N / 4),
            Encoding::Json,
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, encoding) in cases {
        let bound = decoded_bytes(&body, encoding);
        let decoded = || decode_request(&body, encoding).is_ok();
        measure(name, body.len(), bound, decoded, &mut failures);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The same for Loki pushes: a bound from the uncompressed body.
#[test]
fn the_bound_covers_what_decoding_a_loki_push_allocates() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use logingest_protocols::loki;
    use logingest_protocols::loki::proto::{
        EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter,
    };

    const N: usize = 200_000;
    let stream_of = |entries: &[u8]| field(1, &[field(1, b"{a=\"b\"}"), entries.to_vec()].concat());
    let empty_entries = stream_of(&field(2, &[]).repeat(N));
    let empty_pairs = stream_of(&field(2, &field(3, &[]).repeat(N)));
    let usual = PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{app="cart", level="info"}"#.into(),
            entries: (0..5_000)
                .map(|i| EntryAdapter {
                    timestamp: None,
                    line: format!("request {i} served in {} ms", i % 300),
                    structured_metadata: vec![LabelPairAdapter {
                        name: "trace_id".into(),
                        value: format!("{i:032x}"),
                    }],
                })
                .collect(),
            hash: 0,
        }],
    };
    let json_usual: String = (0..5_000)
        .map(|i| format!(r#"["{i}","request {i} served",{{"trace_id":"{i:032x}"}}]"#))
        .collect::<Vec<_>>()
        .join(",");
    let many_labels = field(
        1,
        &field(
            1,
            format!("{{{}}}", vec![r#"a="""#; N].join(",")).as_bytes(),
        ),
    );
    let many_keys = |n: usize| -> String {
        (0..n)
            .map(|i| format!(r#""k{i}":"""#))
            .collect::<Vec<_>>()
            .join(",")
    };
    let cases: Vec<(&str, Vec<u8>, loki::Encoding)> = vec![
        ("pb: 200k labels", many_labels, loki::Encoding::Protobuf),
        (
            "json: 200k stream keys",
            format!(
                r#"{{"streams":[{{"stream":{{{}}},"values":[]}}]}}"#,
                many_keys(N)
            )
            .into_bytes(),
            loki::Encoding::Json,
        ),
        (
            "json: 200k metadata keys",
            format!(
                r#"{{"streams":[{{"values":[["1","x",{{{}}}]]}}]}}"#,
                many_keys(N)
            )
            .into_bytes(),
            loki::Encoding::Json,
        ),
        ("pb: empty entries", empty_entries, loki::Encoding::Protobuf),
        ("pb: empty pairs", empty_pairs, loki::Encoding::Protobuf),
        ("pb: usual", usual.encode_to_vec(), loki::Encoding::Protobuf),
        (
            "json: empty-ish entries",
            format!(
                r#"{{"streams":[{{"values":[{}]}}]}}"#,
                vec![r#"["1",""]"#; N].join(",")
            )
            .into_bytes(),
            loki::Encoding::Json,
        ),
        (
            "json: usual",
            format!(r#"{{"streams":[{{"stream":{{"app":"cart"}},"values":[{json_usual}]}}]}}"#)
                .into_bytes(),
            loki::Encoding::Json,
        ),
    ];
    let mut failures = Vec::new();
    for (name, body, encoding) in cases {
        let bound = loki::decoded_bytes(&body, encoding);
        let decoded = || loki::decode_request(&body, encoding).is_ok();
        measure(
            &format!("loki {name}"),
            body.len(),
            bound,
            decoded,
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
