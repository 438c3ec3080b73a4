//! `Engine`, as a service uses it: open a directory, ingest, wait, search,
//! close, reopen; clones; the async tickets; precise errors.

use std::time::Duration;

use logingest::ingest::{Ticket, WhenFull};
use logingest::{Engine, FacetRequest, IngestError, MemoryBackend, OpenError, SearchRequest};

const BODY: &[u8] = br#"{"timestamp":"2026-12-03T10:00:00Z","level":"error","message":"Failed to connect to DB","resourceId":"server-1"}
{"timestamp":"2026-12-03T10:00:01Z","level":"info","message":"connected","resourceId":"server-2"}
"#;

fn in_memory() -> Engine {
    Engine::builder()
        .backend(MemoryBackend::new())
        .open()
        .unwrap()
}

fn total(engine: &Engine, query: &str) -> u64 {
    engine
        .search(&SearchRequest::parse(query).expect("query"))
        .expect("search")
        .total
}

#[test]
fn ingests_searches_and_keeps_its_records_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let ticket = engine.ingest_json(BODY).unwrap();
    let ack = ticket.wait_durable().unwrap();
    assert_eq!(ack.len, 2);
    ticket.wait_visible().unwrap();
    assert_eq!(total(&engine, r#"level:error AND "failed to connect""#), 1);
    assert_eq!(total(&engine, "*"), 2);
    let levels = FacetRequest::new(logingest::query::parse_query("*").unwrap(), "level", 10);
    let facets = engine.facets(&levels).unwrap();
    let mut values: Vec<(&str, u64)> = facets.iter().map(|f| (f.value.as_str(), f.count)).collect();
    values.sort();
    assert_eq!(values, [("error", 1), ("info", 1)]);
    assert_eq!(engine.stats().unwrap().records, 2);
    assert_eq!(engine.ingest_stats().committed_records, 2);
    engine.close().unwrap();
    drop(engine);

    let engine = Engine::open(dir.path()).unwrap();
    assert_eq!(
        total(&engine, "resourceId:server-2"),
        1,
        "durable across the reopen"
    );
    engine.close().unwrap();
}

#[test]
fn clones_share_one_engine_and_close_closes_all() {
    let engine = in_memory();
    let clone = engine.clone();
    let writers: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let body = format!(r#"{{"message":"from thread {i}"}}"#);
                engine
                    .ingest_json(body.as_bytes())
                    .unwrap()
                    .wait_durable()
                    .unwrap()
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    clone.flush().unwrap();
    assert_eq!(total(&engine, "thread"), 4);
    clone.close().unwrap();
    assert!(matches!(engine.ingest_json(BODY), Err(IngestError::Closed)));
    // Reads still answer: the backend lives as long as a clone does.
    assert_eq!(total(&engine, "thread"), 4);
}

#[test]
fn tickets_and_flush_can_be_awaited() {
    let engine = Engine::builder()
        .backend(MemoryBackend::new())
        .refresh_interval(Duration::from_secs(3600))
        .open()
        .unwrap();
    let tickets: Vec<Ticket> = (0..20)
        .map(|i| {
            let body = format!(r#"{{"message":"event {i}"}}"#);
            engine.ingest_json(body.as_bytes()).unwrap()
        })
        .collect();
    pollster::block_on(async {
        for ticket in &tickets {
            ticket.durable().await.unwrap();
        }
        // The periodic refresh is an hour away: the wait asks for one.
        tickets[19].visible().await.unwrap();
    });
    assert_eq!(total(&engine, "event"), 20);
    engine.ingest_json(br#"{"message":"late"}"#).unwrap();
    pollster::block_on(engine.flush_async()).unwrap();
    assert_eq!(total(&engine, "late"), 1);
}

#[test]
fn a_bad_body_is_located_and_stores_nothing() {
    let engine = in_memory();
    let body = b"{\"message\":\"ok\"}\n{\"message\":\"cut";
    match engine.ingest_json(body) {
        Err(IngestError::InvalidRecord(e)) => {
            assert_eq!((e.record, e.line), (Some(2), 2), "{e}");
            assert!(e.column.is_some(), "{e}");
        }
        other => panic!("{other:?}"),
    }
    engine.flush().unwrap();
    assert_eq!(total(&engine, "*"), 0);
}

#[test]
fn the_builder_refuses_what_cannot_work() {
    let error = Engine::builder().open().unwrap_err();
    assert!(
        matches!(error, OpenError::InvalidConfig(ref m) if m.contains("no backend")),
        "{error}"
    );
    let error = Engine::builder()
        .backend(MemoryBackend::new())
        .queue(0, 1 << 20)
        .when_full(WhenFull::Reject)
        .open()
        .unwrap_err();
    assert!(
        matches!(error, OpenError::InvalidConfig(ref m) if m.contains("queue_capacity")),
        "{error}"
    );
}
