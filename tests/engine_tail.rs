//! `Engine::tail`: records a query selects, once searchable, in order;
//! losses counted, never unbounded memory; a dropped tail stops costing.

use std::time::Duration;

use logingest::query::parse_query;
use logingest::{Engine, MemoryBackend, Record, TailEvent};

const WAIT: Duration = Duration::from_secs(30);

fn engine() -> Engine {
    Engine::builder()
        .backend(MemoryBackend::new())
        .refresh_interval(Duration::from_millis(20))
        .open()
        .unwrap()
}

fn body(level: &str, from: usize, n: usize) -> Vec<u8> {
    (from..from + n)
        .map(|i| format!("{{\"level\":\"{level}\",\"message\":\"event {i}\"}}\n"))
        .collect::<String>()
        .into_bytes()
}

/// The events of `tail` until it has nothing for a while.
fn drain(tail: &logingest::Tail) -> Vec<TailEvent> {
    let mut events = Vec::new();
    while let Some(event) = tail.next_timeout(Duration::from_millis(300)) {
        events.push(event);
    }
    events
}

#[test]
fn a_tail_yields_what_its_query_selects_once_searchable_in_ingest_order() {
    let engine = engine();
    let errors = engine.tail(parse_query("level:error").unwrap());
    let all = engine.tail(parse_query("*").unwrap());
    engine.ingest_json(&body("info", 0, 3)).unwrap();
    let ticket = engine.ingest_json(&body("error", 3, 4)).unwrap();
    engine.ingest_json(&body("info", 7, 1)).unwrap();
    let Some(TailEvent::Record(first)) = errors.next_timeout(WAIT) else {
        panic!("no error record within {WAIT:?}");
    };
    // Published only once a search can find it.
    assert!(ticket.is_durable());
    let found = engine
        .search(&logingest::SearchRequest::parse("level:error").unwrap())
        .unwrap();
    assert!(found.hits.iter().any(|h| h.seq == first.seq));
    let mut messages = vec![first.source];
    messages.extend(drain(&errors).into_iter().map(|event| match event {
        TailEvent::Record(hit) => hit.source,
        other => panic!("unexpected {other:?}"),
    }));
    // Sources carry the receive time the parser inserted; compare messages.
    assert_eq!(messages.len(), 4, "{messages:?}");
    for (got, i) in messages.iter().zip(3..) {
        assert!(got.contains(&format!("\"event {i}\"")), "{got}");
    }
    flush_and_count(&engine, &all, 8);
}

fn flush_and_count(engine: &Engine, tail: &logingest::Tail, want: usize) {
    engine.flush().unwrap();
    let mut seqs = Vec::new();
    for event in drain(tail) {
        match event {
            TailEvent::Record(hit) => seqs.push(hit.seq),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seqs.len(), want);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn a_reader_that_falls_behind_is_told_how_many_it_missed() {
    let engine = engine();
    let tail = engine.tail_with_capacity(parse_query("*").unwrap(), 10);
    // Subscribers are published to in the order they subscribed: once this
    // one has all 25, `tail` was offered them all while nobody read it.
    let sentinel = engine.tail(parse_query("*").unwrap());
    engine.ingest_json(&body("info", 0, 25)).unwrap();
    engine.flush().unwrap();
    for _ in 0..25 {
        assert!(matches!(
            sentinel.next_timeout(WAIT),
            Some(TailEvent::Record(_))
        ));
    }
    let events = drain(&tail);
    let records = events
        .iter()
        .filter(|e| matches!(e, TailEvent::Record(_)))
        .count();
    let missed: u64 = events
        .iter()
        .map(|e| match e {
            TailEvent::Missed(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(records, 10, "{events:?}");
    assert_eq!(missed, 15, "{events:?}");
}

#[test]
fn copies_beyond_the_tail_memory_are_skipped_and_counted() {
    let one: Vec<Record> =
        logingest::parse_records(&body("info", 0, 1), &Default::default()).unwrap();
    let engine = Engine::builder()
        .backend(MemoryBackend::new())
        // Room for one record's copy, not for a submission of 50.
        .tail_memory_bytes(one[0].memory() * 2)
        .open()
        .unwrap();
    let tail = engine.tail(parse_query("*").unwrap());
    engine.ingest_json(&body("info", 0, 50)).unwrap();
    engine.ingest_json(&body("info", 50, 1)).unwrap();
    engine.flush().unwrap();
    let events = drain(&tail);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], TailEvent::Missed(50));
    assert!(matches!(&events[1], TailEvent::Record(hit) if hit.source.contains("event 50")));
    assert_eq!(engine.tail_skipped(), 50);
    assert_eq!(
        engine.tail_memory().0,
        0,
        "copies given back once published"
    );
}

#[test]
fn nothing_is_copied_once_every_tail_is_dropped() {
    let engine = engine();
    let tail = engine.tail(parse_query("*").unwrap());
    engine.ingest_json(&body("info", 0, 5)).unwrap();
    engine.flush().unwrap();
    assert_eq!(drain(&tail).len(), 5);
    drop(tail);
    // The feed forgets a dropped tail; with nobody listening a large
    // submission is neither copied nor skipped.
    let small = Engine::builder()
        .backend(MemoryBackend::new())
        .tail_memory_bytes(1)
        .open()
        .unwrap();
    let gone = small.tail(parse_query("*").unwrap());
    drop(gone);
    small.ingest_json(&body("info", 0, 100)).unwrap();
    small.flush().unwrap();
    assert_eq!(small.tail_skipped(), 0);
}

#[test]
fn iterating_a_tail_ends_once_the_engine_is_gone() {
    let engine = engine();
    let mut tail = engine.tail(parse_query("*").unwrap());
    engine.ingest_json(&body("info", 0, 2)).unwrap();
    engine.flush().unwrap();
    engine.close().unwrap();
    drop(engine);
    let (done, ended) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(tail.by_ref().count()));
    let seen = ended
        .recv_timeout(WAIT)
        .expect("the iteration ends when the engine is gone");
    assert_eq!(seen, 2);
}
