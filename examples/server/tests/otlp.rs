//! `POST /v1/logs` on the real server binary: OTLP/HTTP logs in both
//! encodings are stored and found with their fields, answers are in the
//! request's encoding, bad requests store nothing and say where, and the
//! limits and memory budget of every ingest endpoint hold.

mod common;

use common::{BadCase, Server};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: string(value),
        ..Default::default()
    }
}

/// A request of service `checkout` with `n` log records: record `i` says
/// `payment {i} failed` at error level, 2023-09-15T08:00:00Z + `i` s.
fn request(n: u64) -> ExportLogsServiceRequest {
    let log = |i: u64| LogRecord {
        time_unix_nano: 1_694_764_800_000_000_000 + i * 1_000_000_000,
        severity_number: 17,
        severity_text: "ERROR".into(),
        body: string(&format!("payment {i} failed")),
        attributes: vec![kv("http.route", "/pay")],
        trace_id: (1..=16).collect(),
        span_id: (1..=8).collect(),
        ..Default::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout"), kv("host.name", "node-7")],
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

#[test]
fn protobuf_and_json_requests_are_stored_with_their_fields() {
    let server = Server::start();
    let answer = server.post(
        "/v1/logs?refresh=wait_for",
        &request(3).encode_to_vec(),
        &[PROTOBUF],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/x-protobuf")
    );
    // An empty ExportLogsServiceResponse: no partial success.
    assert_eq!(answer.text, "");
    let found = server.search(
        "resourceId:checkout level:ERROR traceId:0102030405060708090a0b0c0d0e0f10 \
         spanId:0102030405060708 metadata.http.route:\"/pay\" \
         metadata.resource.host.name:node-7 payment",
        "&order=asc",
    );
    assert_eq!(found["total"], 3, "{found}");
    assert_eq!(found["hits"][0]["timestamp"], "2023-09-15T08:00:00Z");
    assert_eq!(found["hits"][2]["message"], "payment 2 failed");

    let json = serde_json::to_vec(&request(2)).unwrap();
    let answer = server.post("/v1/logs?refresh=wait_for", &json, &[JSON], None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert_eq!(answer.json(), serde_json::json!({}));
    assert_eq!(server.count("resourceId:checkout"), 5);
    assert_eq!(
        server.metric(r#"logingest_protocol_records_total{protocol="otlp"}"#),
        5.0
    );
}

#[test]
fn bad_requests_store_nothing_and_say_where() {
    let server = Server::start();
    // A trace id of 3 bytes in the second record: the whole request fails.
    let mut bad = request(2);
    bad.resource_logs[0].scope_logs[0].log_records[1].trace_id = vec![1, 2, 3];
    let answer = server.post(
        "/v1/logs",
        &serde_json::to_vec(&bad).unwrap(),
        &[JSON],
        None,
    );
    assert_eq!(answer.status, 400, "{}", answer.text);
    let status = answer.json();
    assert_eq!(status["code"], 3, "INVALID_ARGUMENT: {status}");
    let message = status["message"].as_str().unwrap();
    assert!(
        message.starts_with("resourceLogs[0].scopeLogs[0].logRecords[1].traceId: "),
        "{message}"
    );
    // The same in protobuf: a google.rpc.Status in protobuf.
    let answer = server.post("/v1/logs", &bad.encode_to_vec(), &[PROTOBUF], None);
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/x-protobuf")
    );
    assert!(
        answer.text.contains("logRecords[1].traceId"),
        "{}",
        answer.text
    );
    // Not protobuf at all.
    let answer = server.post("/v1/logs", &[0x0a, 0xff, 0xff], &[PROTOBUF], None);
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.text.contains("protobuf"), "{}", answer.text);
    // A JSON syntax error, located.
    let answer = server.post("/v1/logs", b"{\n\"resourceLogs\": [}", &[JSON], None);
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2, column "),
        "{}",
        answer.text
    );
    // An encoding OTLP does not define.
    let answer = server.post(
        "/v1/logs",
        b"hello",
        &[("Content-Type", "text/plain")],
        None,
    );
    assert_eq!(answer.status, 415, "{}", answer.text);
    assert_eq!(server.records(), 0);
    assert_eq!(
        server.metric(
            r#"logingest_protocol_rejected_requests_total{protocol="otlp",reason="invalid"}"#
        ),
        5.0
    );
}

#[test]
fn every_limit_of_the_ingest_endpoints_applies() {
    let server = Server::start_with(&["--max-records", "10", "--max-record-bytes", "2000"]);
    let answer = server.post("/v1/logs", &request(11).encode_to_vec(), &[PROTOBUF], None);
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(answer.text.contains("the limit is 10"), "{}", answer.text);
    let mut long = request(1);
    long.resource_logs[0].scope_logs[0].log_records[0].body = string(&"x".repeat(3000));
    let answer = server.post(
        "/v1/logs",
        &serde_json::to_vec(&long).unwrap(),
        &[JSON],
        None,
    );
    // As on `/logs`: a record the record rules refuse is a 400 naming it.
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(
        answer.text.contains("logRecords[0]: record is"),
        "{}",
        answer.text
    );
    // gzip, as exporters send it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &request(10).encode_to_vec()).unwrap();
    let answer = server.post(
        "/v1/logs?refresh=wait_for",
        &gz.finish().unwrap(),
        &[PROTOBUF, ("Content-Encoding", "gzip")],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(server.count("resourceId:checkout"), 10);
}

/// 600 KB of empty log records decode into ~160 MB of structs: the room is
/// reserved from the ingest memory budget before decoding, so a small
/// budget refuses the request (413: more than the whole budget) instead of
/// the server allocating it; the same budget takes a usual request.
#[test]
fn decoding_is_reserved_from_the_memory_budget_first() {
    let server = Server::start_with(&[
        "--ingest-memory-bytes",
        "67108864",
        "--max-body-bytes",
        "8388608",
    ]);
    let empty_logs = request(0);
    let mut hostile = empty_logs.clone();
    hostile.resource_logs[0].scope_logs[0].log_records = vec![LogRecord::default(); 300_000];
    let body = hostile.encode_to_vec();
    assert!(body.len() < 1 << 20, "{}", body.len());
    let answer = server.post("/v1/logs", &body, &[PROTOBUF], None);
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(
        answer.text.contains("--ingest-memory-bytes"),
        "{}",
        answer.text
    );
    let answer = server.post(
        "/v1/logs?refresh=wait_for",
        &request(1_000).encode_to_vec(),
        &[PROTOBUF],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(server.count(""), 1_000);
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer.
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// A JSON request of one log record whose members are `log`.
fn json_log(log: &str) -> Vec<u8> {
    format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{log}]}}]}}]}}"#).into_bytes()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

/// Bad requests of every kind: each refused whole with the status OTLP
/// exporters understand, a `google.rpc.Status` in the request's encoding
/// whose message says what and where, and nothing stored.
#[test]
fn bad_requests_are_refused_whole_with_what_and_where() {
    let server = Server::start();
    let valid = request(2).encode_to_vec();
    let mut short_span = request(1);
    short_span.resource_logs[0].scope_logs[0].log_records[0].span_id = vec![1; 5];
    let mut deep = AnyValue {
        value: Some(any_value::Value::StringValue("bottom".into())),
    };
    for _ in 0..40 {
        deep = AnyValue {
            value: Some(any_value::Value::KvlistValue(
                opentelemetry_proto::tonic::common::v1::KeyValueList {
                    values: vec![KeyValue {
                        key: "k".into(),
                        value: Some(deep),
                        ..Default::default()
                    }],
                },
            )),
        };
    }
    let mut deep_body = request(1);
    deep_body.resource_logs[0].scope_logs[0].log_records[0].body = Some(deep);
    let mut huge = request(1);
    huge.resource_logs[0].scope_logs[0].log_records[0].body = string(&"x".repeat(1_100_000));
    let mut many = request(0);
    many.resource_logs[0].scope_logs[0].log_records = vec![LogRecord::default(); 100_001];
    let pb = "application/x-protobuf";
    let json = "application/json";
    let cases: Vec<BadCase> = vec![
        ("broken varint", pb, None, vec![0x0a, 0xff, 0xff], 400, "protobuf"),
        ("truncated", pb, None, valid[..valid.len() / 2].to_vec(), 400, "protobuf"),
        ("wrong wire type", pb, None, vec![0x08, 0x01], 400, "protobuf"),
        ("span id of 5 bytes", pb, None, short_span.encode_to_vec(), 400, "logRecords[0].spanId: is 5 bytes"),
        ("nested too deep", pb, None, deep_body.encode_to_vec(), 400, "LogRecord.body > AnyValue.value > KeyValueList.values > … (101 levels): not an OTLP ExportLogsServiceRequest in protobuf: recursion limit reached"),
        ("a record over 1 MiB", pb, None, huge.encode_to_vec(), 400, "logRecords[0]: record is"),
        ("100,001 log records", pb, None, many.encode_to_vec(), 413, "the limit is 100000"),
        ("not JSON", json, None, b"hello".to_vec(), 400, "line 1, column 1"),
        ("JSON cut short", json, None, b"{\"resourceLogs\":[".to_vec(), 400, "line 1, column "),
        ("JSON of another shape", json, None, b"{\"resourceLogs\":5}".to_vec(), 400, "line 1, column "),
        ("trace id not hex", json, None, json_log(r#"{"traceId":"zz"}"#), 400, "line 1, column "),
        ("trace id of 3 bytes", json, None, json_log(r#"{"traceId":"010203"}"#), 400, "logRecords[0].traceId: is 3 bytes"),
        ("time after 2262", json, None, json_log(r#"{"timeUnixNano":"18446744073709551615"}"#), 400, "logRecords[0].timeUnixNano"),
        ("time not a number", json, None, json_log(r#"{"timeUnixNano":"yesterday"}"#), 400, "line 1, column "),
        ("severity text a number", json, None, json_log(r#"{"severityText":5}"#), 400, "line 1, column "),
        ("bad gzip", pb, Some(("Content-Encoding", "gzip")), b"not gzip".to_vec(), 400, "gzip"),
        ("gzip of a broken body", pb, Some(("Content-Encoding", "gzip")), gzip(&[0x0a, 0xff]), 400, "protobuf"),
        ("Content-Encoding br", pb, Some(("Content-Encoding", "br")), valid.clone(), 415, "br"),
        ("text/plain", "text/plain", None, valid.clone(), 415, "application/x-protobuf"),
        ("no type", "", None, valid.clone(), 415, "application/x-protobuf"),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (name, content_type, extra, body, status, wanted) in cases {
        let mut headers = Vec::new();
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        headers.extend(extra);
        let answer = server.post("/v1/logs", &body, &headers, None);
        let message = if answer.content_type.as_deref() == Some(pb) {
            Status::decode(&answer.bytes[..])
                .map(|s| s.message)
                .unwrap_or_else(|e| format!("(not a google.rpc.Status: {e}) {}", answer.text))
        } else {
            let status: serde_json::Value = serde_json::from_str(&answer.text).unwrap_or_default();
            status["message"]
                .as_str()
                .unwrap_or("(no message)")
                .to_owned()
        };
        let expected_type = if content_type == pb { pb } else { json };
        if answer.status != status
            || !message.contains(wanted)
            || answer.content_type.as_deref() != Some(expected_type)
        {
            failures.push(format!(
                "{name}: {} {:?} `{message}` (wanted {status} {expected_type} `{wanted}`)",
                answer.status, answer.content_type
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(
        server.records(),
        0,
        "nothing of a refused request is stored"
    );
}
