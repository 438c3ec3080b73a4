//! A real, unmodified Loki client library from PyPI (`loki-logger-handler`)
//! ships logs from Python's `logging` to `POST /loki/api/v1/push` (JSON,
//! gzip and plain); they are then found through our own search API with
//! the fields the mapping promises (docs/ingest-protocols.md).
//!
//! `tests/loki_push.py` does the shipping; the interpreter is
//! `$LOGINGEST_PYTHON` (default `python3`); `scripts/test.sh` creates
//! `target/pyenv` with the package and sets it. Without it this test fails,
//! saying how to install it: a shipper compatibility test that silently
//! skips proves nothing.

mod common;

use common::{encode, python};
use serde_json::Value;

/// Records the script ships.
const N: u64 = 180;

const INGEST: &str = "loki-ingest-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d";
const READ: &str = "loki-read-1f2e3d4c5b6a79880716253443526170";

#[test]
fn a_loki_client_library_ships_logs_we_can_search() {
    let (server, _auth) = python::keyed_server(INGEST, READ);

    let summary = python::run_script(
        "loki_push.py",
        &[&server.url, &N.to_string(), INGEST],
        "loki-logger-handler",
        "loki_client",
    );
    assert_eq!(summary["records"], N, "{summary}");

    let flushed = server.post("/api/flush", b"", &[], Some(INGEST));
    assert_eq!(flushed.status, 200, "{}", flushed.text);
    let get = |path: &str| server.get_ok(path, READ);
    let all = get(&format!(
        "/api/search?order=asc&limit=1000&q={}",
        encode("resourceId:cart-api metadata.labels.env:test")
    ));
    assert_eq!(all["total"], N, "records shipped by the client");
    let mut seen = vec![false; N as usize];
    for hit in all["hits"].as_array().expect("hits") {
        // The handler writes each line as JSON of the log record.
        let line: Value = serde_json::from_str(hit["message"].as_str().expect("message"))
            .unwrap_or_else(|e| panic!("the line is the handler's JSON ({e}): {hit}"));
        let i = line["seq"].as_u64().expect("seq") as usize;
        assert!(!seen[i], "record {i} stored twice");
        seen[i] = true;
        assert_eq!(line["message"], format!("loki record {i}"), "{hit}");
        let level = ["INFO", "WARNING", "ERROR"][i % 3];
        assert_eq!(hit["level"], level, "{hit}");
        assert_eq!(hit["metadata"]["labels"]["level"], level, "{hit}");
        assert_eq!(
            hit["metadata"]["labels"]["application"], "cart-api",
            "{hit}"
        );
        // The handler stamps each line with the record's creation time.
        assert!(hit["timestamp"].as_str().is_some(), "{hit}");
    }
    assert!(seen.iter().all(|s| *s), "every record is stored");
    let count = |q: &str| get(&format!("/api/search?limit=1&q={}", encode(q)))["total"].clone();
    assert_eq!(
        count("level:ERROR resourceId:cart-api"),
        (0..N).filter(|i| i % 3 == 2).count()
    );
    assert_eq!(count("\"loki record 42\""), 1);
}
