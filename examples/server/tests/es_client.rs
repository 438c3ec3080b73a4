//! The real, unmodified official Elasticsearch Python client ships logs to
//! logingest (server issue acceptance 5), then they are found through our
//! own search API.
//!
//! `tests/es_bulk.py` runs `es.info()` and `helpers.bulk` (plain and gzipped
//! clients, several chunks, one invalid item) with `bearer_auth`. The
//! interpreter is `$LOGINGEST_PYTHON` (default `python3`); `scripts/test.sh`
//! creates `target/pyenv` with `elasticsearch>=8,<9` and sets it. Without
//! the package this test fails, saying how to install it: a shipper
//! compatibility test that silently skips proves nothing.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{encode, write_auth_file, Server};
use serde_json::{json, Value};

/// Records the script ships.
const N: u64 = 230;

const INGEST: &str = "es-ingest-5d1c0a9b8e7f6a5b4c3d2e1f0a9b8c7d";
const READ: &str = "es-read-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";

/// The record `es_bulk.py` sends as number `i` (see its docstring).
fn expected_record(i: u64) -> Value {
    let level = ["info", "warn", "error"][(i % 3) as usize];
    json!({
        "timestamp": format!("2024-05-01T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60),
        "level": level,
        "message": format!("es bulk record {i}"),
        "resourceId": format!("es-{}", i % 4),
        "metadata": {"seq": i, "client": "elasticsearch-py"},
    })
}

fn python() -> String {
    std::env::var("LOGINGEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[test]
fn official_python_client_bulk_helper_ships_logs_we_can_search() {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = write_auth_file(
        dir.path(),
        &[("es", INGEST, "ingest", &[]), ("reader", READ, "read", &[])],
    );
    let server = Server::start_with(&["--auth-file", &auth]);

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/es_bulk.py");
    let python = python();
    let out = Command::new(&python)
        .arg(&script)
        .args([&server.url, &N.to_string(), INGEST])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{python}` ({e}). Set LOGINGEST_PYTHON to a Python 3 with the \
                 `elasticsearch` package (>=8,<9), or run scripts/test.sh, which creates one."
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        panic!(
        "\n\nThe official Elasticsearch Python client is not installed for `{python}`:\n{stderr}\n\
         This test needs it (it is not skipped): run scripts/test.sh, or\n  \
         python3 -m venv target/pyenv && target/pyenv/bin/pip install 'elasticsearch>=8,<9'\n  \
         LOGINGEST_PYTHON=$PWD/target/pyenv/bin/python cargo test -p logingest-server --test es_client\n"
        );
    }
    assert!(
        out.status.success(),
        "es_bulk.py failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("es_bulk.py summary is not JSON ({e}): {stdout}"));
    assert_eq!(summary["stored"], N, "{summary}");
    assert!(
        summary["client"]
            .as_str()
            .is_some_and(|v| v.starts_with("8.")),
        "{summary}"
    );

    // The helper sent refresh=wait_for: everything is searchable now.
    let get = |path: &str| {
        let a = server.get(path, Some(READ));
        assert_eq!(a.status, 200, "{path}: {}", a.text);
        a.json()
    };
    let all = get(&format!(
        "/api/search?order=asc&limit=10000&q={}",
        encode("metadata.client:elasticsearch-py")
    ));
    assert_eq!(all["total"], N, "records shipped by the client");
    let hits = all["hits"].as_array().expect("hits");
    assert_eq!(hits.len() as u64, N);
    for (i, hit) in hits.iter().enumerate() {
        // Ascending time order is the order of `i`; each record is as sent.
        assert_eq!(hit, &expected_record(i as u64), "record {i}");
    }
    // The invalid item was not stored; nothing else was.
    assert_eq!(get("/api/search?limit=1")["total"], N);

    // The fields are searchable like any record's.
    let count = |q: &str| get(&format!("/api/search?limit=1&q={}", encode(q)))["total"].clone();
    assert_eq!(count("level:error"), (0..N).filter(|i| i % 3 == 2).count());
    assert_eq!(count("resourceId:es-3 AND metadata.seq:7"), 1);
    assert_eq!(count("\"es bulk record 42\""), 1);
    assert_eq!(count(&format!("metadata.seq:{}", N - 1)), 1);
    assert_eq!(count(&format!("metadata.seq:{N}")), 0);
    let facets = get("/api/facets?field=resourceId&size=10");
    let values = facets["values"].as_array().expect("values");
    assert_eq!(values.len(), 4, "{facets}");
    let sum: u64 = values.iter().map(|v| v["count"].as_u64().unwrap()).sum();
    assert_eq!(sum, N);
}

/// The two requests the client makes before shipping, checked without it:
/// the info document with the product header, and `_bulk` with the
/// vendored compatibility media types.
#[test]
fn info_and_bulk_accept_the_elasticsearch_compatibility_media_types() {
    let server = Server::start();
    let compat_json = "application/vnd.elasticsearch+json; compatible-with=8";
    let info = server.get_with("/", &[("Accept", compat_json)], None);
    assert_eq!(info.status, 200, "{}", info.text);
    assert_eq!(info.header("x-elastic-product"), Some("Elasticsearch"));
    assert!(info.json()["version"]["number"]
        .as_str()
        .unwrap()
        .starts_with("8."));

    let body = "{\"create\":{\"_index\":\"x\"}}\n{\"message\":\"vendored\"}\n";
    let bulk = server.post(
        "/_bulk?refresh=wait_for",
        body.as_bytes(),
        &[
            ("Accept", compat_json),
            (
                "Content-Type",
                "application/vnd.elasticsearch+x-ndjson; compatible-with=8",
            ),
        ],
        None,
    );
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(bulk.header("x-elastic-product"), Some("Elasticsearch"));
    assert_eq!(bulk.json()["errors"], false, "{}", bulk.text);
    assert_eq!(server.count("vendored"), 1);
}
