//! The server starts, takes the sample record of docs/query-language.md and finds it.

mod common;

use common::{Server, SAMPLE};

#[test]
fn ingest_then_search_returns_the_record_as_sent() {
    let server = Server::start();
    let answer = server.post("/logs?refresh=wait_for", SAMPLE.as_bytes(), &[], None);
    assert_eq!(
        (answer.status, answer.json()["accepted"].as_u64()),
        (200, Some(1)),
        "{}",
        answer.text
    );
    let found = server.get("/api/search?q=level:error", None);
    assert_eq!(found.status, 200);
    let body = found.json();
    assert_eq!(body["total"], 1);
    assert!(
        found.text.contains(SAMPLE),
        "the record must come back byte for byte: {}",
        found.text
    );
}
