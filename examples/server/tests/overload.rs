//! Under load the server pushes back with 429/503 and `Retry-After`; it
//! never drops an accepted request and never half-stores a refused one.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use common::Server;

/// One request of `n` records tagged with its id.
fn request(id: u64, n: usize) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..n {
        body.push_str(&format!(
            r#"{{"message":"load test record {i} with some text to index","level":"info","metadata":{{"req":"r{id}"}}}}"#
        ));
        body.push('\n');
    }
    body.into_bytes()
}

#[test]
fn a_full_queue_answers_429_with_retry_after_and_drops_nothing_accepted() {
    // One queued request at most, rejected at once beyond that: concurrent
    // large requests must overflow while the flusher commits.
    let server = Arc::new(Server::start_with(&[
        "--queue-capacity",
        "1",
        "--when-full",
        "reject",
    ]));
    let accepted = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let (server, accepted, rejected) = (
                Arc::clone(&server),
                Arc::clone(&accepted),
                Arc::clone(&rejected),
            );
            std::thread::spawn(move || {
                let mut outcomes = Vec::new();
                for k in 0..6u64 {
                    let id = t * 100 + k;
                    let answer = server.post(
                        "/logs",
                        &request(id, 3_000),
                        &[("content-type", "application/x-ndjson")],
                        None,
                    );
                    match answer.status {
                        200 => {
                            accepted.fetch_add(1, Ordering::Relaxed);
                            outcomes.push((id, true));
                        }
                        429 => {
                            assert_eq!(
                                answer.retry_after.as_deref(),
                                Some("1"),
                                "429 without Retry-After"
                            );
                            assert!(answer.text.contains("queue is full"), "{}", answer.text);
                            rejected.fetch_add(1, Ordering::Relaxed);
                            outcomes.push((id, false));
                        }
                        other => panic!("unexpected {other}: {}", answer.text),
                    }
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<(u64, bool)> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("client thread"))
        .collect();
    let flushed = server.post("/api/flush", b"", &[], None);
    assert_eq!(flushed.status, 200, "{}", flushed.text);
    let (accepted, rejected) = (
        accepted.load(Ordering::Relaxed),
        rejected.load(Ordering::Relaxed),
    );
    println!("overload: {accepted} requests accepted, {rejected} rejected with 429");
    assert!(
        rejected > 0,
        "48 concurrent 3,000-record requests never filled a one-request queue"
    );
    assert!(accepted > 0, "nothing was accepted");
    for (id, ok) in outcomes {
        let stored = server.count(&format!("metadata.req:r{id}"));
        assert_eq!(
            stored,
            if ok { 3_000 } else { 0 },
            "request r{id} (accepted: {ok})"
        );
    }
    assert_eq!(server.count("*"), accepted * 3_000);
}
