//! `POST /loki/api/v1/push` on the real server binary: pushes as Promtail
//! and Alloy send them (snappy-compressed protobuf) and as client libraries
//! do (JSON, gzip or not) are stored and found with their fields, answered
//! `204` once durable; bad pushes store nothing and say where; the limits
//! of every ingest endpoint hold.

mod common;

use common::{BadCase, Server};
use logingest_protocols::loki::proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp,
};
use prost::Message;
use serde_json::Value;

const PROTOBUF: (&str, &str) = ("Content-Type", "application/x-protobuf");
const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A stream of `checkout` at `error` with `n` entries: entry `i` says
/// `payment {i} failed` at 2023-09-15T08:00:00Z + `i` s.
fn push(n: i64) -> PushRequest {
    PushRequest {
        streams: vec![StreamAdapter {
            labels: r#"{app="checkout", level="error", env="prod"}"#.into(),
            entries: (0..n)
                .map(|i| EntryAdapter {
                    timestamp: Some(Timestamp {
                        seconds: 1_694_764_800 + i,
                        nanos: 0,
                    }),
                    line: format!("payment {i} failed"),
                    structured_metadata: vec![LabelPairAdapter {
                        name: "trace_id".into(),
                        value: "0102030405060708090a0b0c0d0e0f10".into(),
                    }],
                })
                .collect(),
            hash: 0,
        }],
    }
}

/// The body Promtail sends: the protobuf, snappy-compressed.
fn snappy(push: &PushRequest) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&push.encode_to_vec())
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, bytes).unwrap();
    gz.finish().unwrap()
}

#[test]
fn protobuf_and_json_pushes_are_stored_with_their_fields() {
    let server = Server::start();
    let answer = server.post(
        "/loki/api/v1/push?refresh=wait_for",
        &snappy(&push(3)),
        &[PROTOBUF],
        None,
    );
    assert_eq!(answer.status, 204, "{}", answer.text);
    let found = server.search(
        "resourceId:checkout level:error traceId:0102030405060708090a0b0c0d0e0f10 \
         metadata.labels.env:prod payment",
        "&order=asc",
    );
    assert_eq!(found["total"], 3, "{found}");
    assert_eq!(found["hits"][0]["timestamp"], "2023-09-15T08:00:00Z");
    assert_eq!(found["hits"][2]["message"], "payment 2 failed");

    // Grafana Alloy names the compression every protobuf push has.
    let answer = server.post(
        "/loki/api/v1/push?refresh=wait_for",
        &snappy(&push(1)),
        &[PROTOBUF, ("Content-Encoding", "snappy")],
        None,
    );
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(server.count("resourceId:checkout"), 4);

    let json = r#"{"streams":[{"stream":{"job":"varlogs","level":"info"},
        "values":[["1694764800000000000","from json"],["1694764801000000000","from json too",{"user":"u-7"}]]}]}"#;
    let answer = server.post(
        "/loki/api/v1/push?refresh=wait_for",
        &gzip(json.as_bytes()),
        &[JSON, ("Content-Encoding", "gzip")],
        None,
    );
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(server.count("resourceId:varlogs level:info json"), 2);
    assert_eq!(server.count("metadata.user:u-7"), 1);
    assert_eq!(
        server.metric(r#"logingest_protocol_records_total{protocol="loki"}"#),
        6.0
    );
}

/// Bad pushes of every kind: refused whole with the status Loki clients
/// understand, a message that says what and where, nothing stored.
#[test]
fn bad_pushes_are_refused_whole_with_what_and_where() {
    let server = Server::start_with(&[
        "--max-records",
        "100",
        "--max-body-bytes",
        "1048576",
        "--max-record-bytes",
        "100000",
    ]);
    let valid = push(2);
    let mut bad_labels = push(1);
    bad_labels.streams[0].labels = r#"{app="x" level="y"}"#.into();
    let mut no_brace = push(1);
    no_brace.streams[0].labels = r#"app="x""#.into();
    let mut bad_nanos = push(2);
    bad_nanos.streams[0].entries[1].timestamp = Some(Timestamp {
        seconds: 1,
        nanos: -5,
    });
    let mut far_time = push(1);
    far_time.streams[0].entries[0].timestamp = Some(Timestamp {
        seconds: i64::MAX / 10,
        nanos: 0,
    });
    let mut long_line = push(1);
    long_line.streams[0].entries[0].line = "x".repeat(200_000);
    let zeros = snap::raw::Encoder::new()
        .compress_vec(&vec![0; 2 << 20])
        .unwrap();
    let raw = valid.encode_to_vec();
    let pb = PROTOBUF.1;
    let json = JSON.1;
    let cases: Vec<BadCase> = vec![
        ("not snappy", pb, None, raw.clone(), 400, "snappy"),
        (
            "snappy of no protobuf",
            pb,
            None,
            snap::raw::Encoder::new()
                .compress_vec(&[0x0a, 0xff, 0xff])
                .unwrap(),
            400,
            "not a Loki PushRequest in protobuf",
        ),
        (
            "snappy cut short",
            pb,
            None,
            snappy(&valid)[..10].to_vec(),
            400,
            "snappy",
        ),
        (
            "labels without a comma",
            pb,
            None,
            snappy(&bad_labels),
            400,
            "streams[0].labels: expected `,` at byte 10",
        ),
        (
            "labels without braces",
            pb,
            None,
            snappy(&no_brace),
            400,
            "streams[0].labels: expected `{` at byte 1",
        ),
        (
            "negative nanos",
            pb,
            None,
            snappy(&bad_nanos),
            400,
            "streams[0].entries[1].timestamp: nanos -5",
        ),
        (
            "a time after 2262",
            pb,
            None,
            snappy(&far_time),
            400,
            "streams[0].entries[0].timestamp",
        ),
        (
            "uncompresses past the body limit",
            pb,
            None,
            zeros,
            413,
            "the limit is 1048576",
        ),
        (
            "101 entries",
            pb,
            None,
            snappy(&push(101)),
            413,
            "the push has 101 entries, the limit is 100",
        ),
        (
            "not JSON",
            json,
            None,
            b"hello".to_vec(),
            400,
            "line 1, column 1",
        ),
        (
            "JSON cut short",
            json,
            None,
            b"{\"streams\":[".to_vec(),
            400,
            "line 1, column ",
        ),
        (
            "no streams",
            json,
            None,
            b"{}".to_vec(),
            400,
            "missing field `streams`",
        ),
        (
            "a time that is no number",
            json,
            None,
            br#"{"streams":[{"stream":{},"values":[["yesterday","x"]]}]}"#.to_vec(),
            400,
            "`yesterday` is not nanoseconds",
        ),
        (
            "an entry of one element",
            json,
            None,
            br#"{"streams":[{"stream":{},"values":[["1"]]}]}"#.to_vec(),
            400,
            "line 1, column ",
        ),
        (
            "a label value that is a number",
            json,
            None,
            br#"{"streams":[{"stream":{"a":1},"values":[]}]}"#.to_vec(),
            400,
            "line 1, column ",
        ),
        (
            "bad gzip",
            json,
            Some(("Content-Encoding", "gzip")),
            b"not gzip".to_vec(),
            400,
            "gzip",
        ),
        (
            "text/plain",
            "text/plain",
            None,
            raw.clone(),
            415,
            "application/x-protobuf",
        ),
        ("refresh=maybe", pb, None, snappy(&valid), 400, "refresh"),
    ];
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for (name, content_type, extra, body, status, wanted) in cases {
        let mut headers = vec![("Content-Type", content_type)];
        headers.extend(extra);
        let path = if name == "refresh=maybe" {
            "/loki/api/v1/push?refresh=maybe"
        } else {
            "/loki/api/v1/push"
        };
        let answer = server.post(path, &body, &headers, None);
        let error: Value = serde_json::from_str(&answer.text).unwrap_or_default();
        let message = error["error"].as_str().unwrap_or("(no error)");
        if answer.status != status || !message.contains(wanted) {
            failures.push(format!(
                "{name}: {} `{message}` (wanted {status} `{wanted}`)",
                answer.status
            ));
        }
    }
    // A line over the record limit, placed at its entry.
    let answer = server.post("/loki/api/v1/push", &snappy(&long_line), &[PROTOBUF], None);
    if answer.status != 400 || !answer.text.contains("streams[0].entries[0]: record is") {
        failures.push(format!("long line: {} {}", answer.status, answer.text));
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert_eq!(server.records(), 0, "nothing of a refused push is stored");
}
