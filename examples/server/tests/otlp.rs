//! `POST /v1/logs` on the real server binary: OTLP/HTTP logs in both
//! encodings are stored and found with their fields, answers are in the
//! request's encoding, bad requests store nothing and say where, and the
//! limits and memory budget of every ingest endpoint hold.

mod common;

use common::Server;
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
    assert_eq!(answer.status, 413, "{}", answer.text);
    assert!(answer.text.contains("logRecords[0]"), "{}", answer.text);
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
