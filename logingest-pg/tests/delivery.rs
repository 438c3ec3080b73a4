//! The indexer thread's fast path under its limits: with a queue budget of
//! one byte (every write waits for the previous batch's delivery) and
//! `_bulk` requests of at most 7 records, batches of 50 written from four
//! threads all reach the index exactly once, delivered from memory alone
//! (no sweep, no `refresh`).

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use logingest_core::query::parse_query;
use logingest_core::testkit::corpus;
use logingest_core::{Backend, Order, SearchRequest};

#[test]
fn a_tiny_queue_and_tiny_bulk_requests_deliver_every_batch_exactly_once() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let mut tenant = common::Tenant::new(&pg, &es);
    tenant.config = tenant
        .config
        .clone()
        .index_queue_bytes(1)
        .indexer_poll_interval(None);
    tenant.config.bulk_max_records = 7;
    tenant.config.bulk_max_bytes = 4_096;
    let node = tenant.open();
    let records = corpus::random_records(91, 2_000);
    let acked: HashSet<u64> = common::write_concurrently(&[&node], &records, 500, 50)
        .into_iter()
        .flat_map(|ack| ack.first_seq..ack.first_seq + ack.len)
        .collect();
    assert_eq!(acked.len(), records.len());

    // Searchable through the indices' own 1 s refresh once delivered.
    let all = |cursor| {
        SearchRequest::new(parse_query("*").expect("query"))
            .order(Order::Asc)
            .limit(1_000)
            .cursor(cursor)
    };
    let started = Instant::now();
    while node.search(&all(None)).expect("search").total < records.len() as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the indexer did not deliver every batch"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut seen = HashSet::new();
    let mut cursor = None;
    loop {
        let page = node.search(&all(cursor)).expect("search");
        assert_eq!(page.total, records.len() as u64);
        for hit in page.hits {
            assert!(seen.insert(hit.seq), "seq {} twice", hit.seq);
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, acked, "exactly the acknowledged records");
}
