//! The real, unmodified official OpenTelemetry Python SDK ships logs to
//! logingest over OTLP/HTTP (protobuf, plain and gzip), from Python's
//! `logging` through the SDK's handler, then they are found through our
//! own search API with the fields the mapping promises
//! (docs/ingest-protocols.md).
//!
//! `tests/otel_sdk.py` does the shipping; the interpreter is
//! `$LOGINGEST_PYTHON` (default `python3`); `scripts/test.sh` creates
//! `target/pyenv` with `opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-http` and sets it. Without them this
//! test fails, saying how to install them: a shipper compatibility test
//! that silently skips proves nothing.

mod common;

use common::{encode, python};

/// Records the script ships.
const N: u64 = 240;

const INGEST: &str = "otel-ingest-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const READ: &str = "otel-read-a1b2c3d4e5f60718293a4b5c6d7e8f90";

#[test]
fn official_python_sdk_ships_logs_we_can_search() {
    let (server, _auth) = python::keyed_server(INGEST, READ);

    let summary = python::run_script(
        "otel_sdk.py",
        &[&server.url, &N.to_string(), INGEST],
        "opentelemetry-sdk opentelemetry-exporter-otlp-proto-http",
        "otel_client",
    );
    assert_eq!(summary["records"], N, "{summary}");
    assert!(summary["exports"].as_u64().unwrap() >= 4, "{summary}");

    // Exports are answered once durable; make them searchable.
    let flushed = server.post("/api/flush", b"", &[], Some(INGEST));
    assert_eq!(flushed.status, 200, "{}", flushed.text);
    let get = |path: &str| server.get_ok(path, READ);
    let all = get(&format!(
        "/api/search?order=asc&limit=1000&q={}",
        encode("resourceId:otel-checkout")
    ));
    assert_eq!(all["total"], N, "records shipped by the SDK");
    let mut seen = vec![false; N as usize];
    for hit in all["hits"].as_array().expect("hits") {
        let i = hit["metadata"]["seq"].as_u64().expect("metadata.seq") as usize;
        assert!(!seen[i], "record {i} stored twice");
        seen[i] = true;
        assert_eq!(hit["message"], format!("otel record {i}"), "{hit}");
        // The SDK names Python's WARNING `WARN` in severityText.
        assert_eq!(hit["level"], ["INFO", "WARN", "ERROR"][i % 3], "{hit}");
        let ids = &summary["ids"][i.to_string()];
        assert_eq!(hit["traceId"], ids[0], "{hit}");
        assert_eq!(hit["spanId"], ids[1], "{hit}");
        assert_eq!(hit["metadata"]["http.route"], "/pay", "{hit}");
        assert_eq!(hit["metadata"]["resource"]["host.name"], "node-7", "{hit}");
        assert_eq!(
            hit["metadata"]["resource"]["telemetry.sdk.language"], "python",
            "{hit}"
        );
        assert!(
            hit["metadata"]["scope"]["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("app.payments.")),
            "{hit}"
        );
        assert!(hit["timestamp"].as_str().is_some(), "{hit}");
    }
    assert!(seen.iter().all(|s| *s), "every record is stored");

    // The fields are searchable like any record's.
    let count = |q: &str| get(&format!("/api/search?limit=1&q={}", encode(q)))["total"].clone();
    assert_eq!(
        count("level:ERROR resourceId:otel-checkout"),
        (0..N).filter(|i| i % 3 == 2).count()
    );
    assert_eq!(
        count(&format!(
            "traceId:{}",
            summary["ids"]["7"][0].as_str().unwrap()
        )),
        1
    );
    assert_eq!(count("metadata.resource.host.name:node-7"), N);
    assert_eq!(count("\"otel record 42\""), 1);
}
