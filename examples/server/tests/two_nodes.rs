//! Two server processes on one PostgreSQL + one OpenSearch (the pg
//! backend): both ingest at the same time, and each then finds every record
//! of both, once. Then one node dies by SIGKILL and the other still serves
//! everything.
//!
//! Needs `LOGINGEST_PG_URL` and `LOGINGEST_ES_URL` (scripts/test.sh starts
//! the services); skipped without them unless `LOGINGEST_REQUIRE_SERVICES=1`.

mod common;

use std::collections::BTreeSet;

use common::{encode, PgStorage, Server};
use serde_json::Value;

const BATCHES: usize = 40;
const PER_BATCH: usize = 25;

fn batch(node: &str, k: usize) -> String {
    (0..PER_BATCH)
        .map(|i| {
            format!(
                r#"{{"message":"two nodes batch {k} record {i}","id":"{node}-{k}-{i}","resourceId":"node-{node}","timestamp":"2023-09-15T08:{:02}:{:02}Z"}}"#,
                k % 60,
                i % 60
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every record id `server` finds for `q`, paging with cursors.
fn all_ids(server: &Server, q: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let answer = server.get(
            &format!("/api/search?q={}&limit=333&cursor={cursor}", encode(q)),
            None,
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        let page = answer.json();
        for hit in page["hits"].as_array().expect("hits") {
            ids.push(hit["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return ids,
        }
    }
}

fn facet_counts(server: &Server) -> Value {
    let answer = server.get("/api/facets?field=resourceId", None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["values"].clone()
}

#[test]
fn two_nodes_ingest_concurrently_and_each_finds_every_record_of_both() {
    let Some(storage) = PgStorage::new() else {
        return;
    };
    let mut a = Server::start_pg(&storage, &[]);
    let b = Server::start_pg(&storage, &[]);
    std::thread::scope(|scope| {
        for (node, server) in [("a", &a), ("b", &b)] {
            scope.spawn(move || {
                for k in 0..BATCHES {
                    let answer = server.post(
                        "/logs",
                        batch(node, k).as_bytes(),
                        &[("Content-Type", "application/x-ndjson")],
                        None,
                    );
                    assert_eq!(answer.status, 200, "node {node} batch {k}: {}", answer.text);
                    assert_eq!(answer.json()["accepted"], PER_BATCH);
                }
            });
        }
    });
    // Each node makes its own records searchable; then both see both.
    for server in [&a, &b] {
        let flushed = server.post("/api/flush", b"", &[], None);
        assert_eq!(flushed.status, 200, "{}", flushed.text);
    }
    let want: BTreeSet<String> = ["a", "b"]
        .iter()
        .flat_map(|node| {
            (0..BATCHES).flat_map(move |k| (0..PER_BATCH).map(move |i| format!("{node}-{k}-{i}")))
        })
        .collect();
    let per_node = (BATCHES * PER_BATCH) as u64;
    for (name, server) in [("a", &a), ("b", &b)] {
        let ids = all_ids(server, "message:two");
        let distinct: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(ids.len(), want.len(), "node {name}: hits (duplicates?)");
        assert_eq!(distinct, want, "node {name}: every record of both nodes");
        let counts = facet_counts(server);
        assert_eq!(
            counts,
            serde_json::json!([{"value": "node-a", "count": per_node}, {"value": "node-b", "count": per_node}]),
            "node {name}"
        );
    }
    // One node dies; the other still has everything (nothing lived only in
    // the dead node).
    a.kill9();
    assert_eq!(all_ids(&b, "message:two").len(), want.len());
    let health = b.get("/healthz", None);
    assert_eq!(health.json()["records"], 2 * per_node, "{}", health.text);
}
