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
//!
//! The script also ships Elastic Common Schema documents (Filebeat's nested
//! and ecs-logging's dotted spelling): they must be filed under their
//! `@timestamp`, with `log.level`, `service.name` / `host.name`, `trace.id`
//! and `span.id` as the record's own fields, and the original kept.

mod common;

use common::{encode, python, Server};
use serde_json::{json, Value};

/// Records the script ships.
const N: u64 = 230;

/// ECS documents the script ships (`ECS_N` in `es_bulk.py`).
const ECS_N: u64 = 40;

const INGEST: &str = "es-ingest-5d1c0a9b8e7f6a5b4c3d2e1f0a9b8c7d";
const READ: &str = "es-read-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d";

/// The record `es_bulk.py` sends as number `i` (see its docstring).
fn expected_record(i: u64) -> Value {
    let level = ["info", "warn", "error"][(i % 3) as usize];
    json!({
        "_index": "logs-es",
        "timestamp": format!("2024-05-01T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60),
        "level": level,
        "message": format!("es bulk record {i}"),
        "resourceId": format!("es-{}", i % 4),
        "metadata": {"seq": i, "client": "elasticsearch-py"},
    })
}

#[test]
fn official_python_client_bulk_helper_ships_logs_we_can_search() {
    let (server, _auth) = python::keyed_server(INGEST, READ);

    let summary = python::run_script(
        "es_bulk.py",
        &[&server.url, &N.to_string(), INGEST],
        "'elasticsearch>=8,<9'",
        "es_client",
    );
    assert_eq!(summary["stored"], N, "{summary}");
    assert_eq!(summary["ecs_stored"], ECS_N, "{summary}");
    assert!(
        summary["client"]
            .as_str()
            .is_some_and(|v| v.starts_with("8.")),
        "{summary}"
    );

    // The helper sent refresh=wait_for: everything is searchable now.
    let get = |path: &str| server.get_ok(path, READ);
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
    assert_eq!(get("/api/search?limit=1")["total"], N + ECS_N);

    // The fields are searchable like any record's.
    let count = |q: &str| get(&format!("/api/search?limit=1&q={}", encode(q)))["total"].clone();
    assert_eq!(
        count("level:error AND _index:logs-es"),
        (0..N).filter(|i| i % 3 == 2).count()
    );
    assert_eq!(count("resourceId:es-3 AND metadata.seq:7"), 1);
    assert_eq!(count("\"es bulk record 42\""), 1);
    assert_eq!(count(&format!("metadata.seq:{}", N - 1)), 1);
    assert_eq!(count(&format!("metadata.seq:{N}")), 0);
    let facets = get(&format!(
        "/api/facets?field=resourceId&size=10&q={}",
        encode("_index:logs-es")
    ));
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

/// What `ecs_document(i)` of `es_bulk.py` must become: its time, level,
/// service (or host), trace and span as the record's own fields.
fn check_ecs_hit(i: u64, hit: &Value) {
    let ts = format!("2024-06-01T10:00:{:02}.{:03}Z", i % 60, i);
    let level = ["info", "warn", "error", "debug"][(i % 4) as usize];
    let resource = if i.is_multiple_of(5) {
        format!("host-{}", i % 3)
    } else {
        format!("svc-{}", i % 2)
    };
    let expected = json!({
        "timestamp": ts,
        "level": level,
        "resourceId": resource,
        "traceId": format!("trace-{i}"),
        "spanId": format!("span-{i}"),
        "_index": "filebeat-8.15.0",
    });
    for (field, value) in expected.as_object().unwrap() {
        assert_eq!(&hit[field], value, "ECS document {i}, field {field}: {hit}");
    }
    // The document as sent is still there.
    assert_eq!(hit["@timestamp"], ts, "{hit}");
    assert_eq!(hit["message"], format!("ecs document {i}"), "{hit}");
    let original_level = if i.is_multiple_of(2) {
        &hit["log"]["level"]
    } else {
        &hit["log.level"]
    };
    assert_eq!(original_level, level, "{hit}");
}

#[test]
fn ecs_documents_from_the_official_client_get_their_own_time_and_fields() {
    let server = Server::start();
    python::run_script(
        "es_bulk.py",
        &[&server.url, "2"],
        "'elasticsearch>=8,<9'",
        "es_client",
    );
    let page = server.get(
        &format!(
            "/api/search?order=asc&limit=1000&q={}",
            encode("_index:filebeat-8.15.0")
        ),
        None,
    );
    assert_eq!(page.status, 200, "{}", page.text);
    let page = page.json();
    assert_eq!(page["total"], ECS_N, "{page}");
    // Ascending time is the order of `i`: each is filed under its @timestamp.
    for (i, hit) in page["hits"].as_array().unwrap().iter().enumerate() {
        check_ecs_hit(i as u64, hit);
    }
    let count = |q: &str| {
        let a = server.get(&format!("/api/search?limit=1&q={}", encode(q)), None);
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()["total"].clone()
    };
    assert_eq!(count("level:error AND _index:filebeat-*"), ECS_N / 4);
    assert_eq!(
        count("resourceId:host-0"),
        (0..ECS_N).filter(|i| i % 5 == 0 && i % 3 == 0).count()
    );
    assert_eq!(count("traceId:trace-7 AND spanId:span-7"), 1);
    assert_eq!(
        count("timestamp:[2024-06-01T10:00:00Z TO 2024-06-01T10:00:09.999Z]"),
        10
    );
}
