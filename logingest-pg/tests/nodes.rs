//! Several nodes on one tenant: two backends (as two processes would be)
//! write concurrently into the same PostgreSQL schema and index prefix.
//! Their sequence blocks never overlap, and after a refresh on either node
//! each finds every record of both, exactly once.

mod common;

use std::collections::HashSet;

use logingest_core::query::parse_query;
use logingest_core::testkit::corpus;
use logingest_core::{Backend, Order, SearchRequest};

#[test]
fn two_nodes_write_concurrently_and_both_see_everything() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let tenant = common::Tenant::new(&pg, &es);
    let nodes = [tenant.open(), tenant.open()];
    let records = corpus::random_records(77, 1_200);
    let acks = common::write_concurrently(&[&nodes[0], &nodes[1]], &records, 150, 25);
    let mut acked = HashSet::new();
    for ack in &acks {
        for seq in ack.first_seq..ack.first_seq + ack.len {
            assert!(acked.insert(seq), "sequence {seq} given to two batches");
        }
    }
    assert_eq!(acked.len(), records.len());
    for (i, node) in nodes.iter().enumerate() {
        node.refresh().expect("refresh");
        let mut seen = HashSet::new();
        let mut cursor = None;
        loop {
            let request = SearchRequest::new(parse_query("*").expect("query"))
                .order(Order::Asc)
                .limit(500)
                .cursor(cursor);
            let page = node.search(&request).expect("search");
            assert_eq!(page.total, records.len() as u64, "node {i}: total");
            for hit in page.hits {
                assert!(seen.insert(hit.seq), "node {i}: seq {} twice", hit.seq);
            }
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(
            seen, acked,
            "node {i} sees exactly the acknowledged records"
        );
        assert_eq!(node.stats().expect("stats").records, records.len() as u64);
    }
}
