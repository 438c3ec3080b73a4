//! Fuzz check of a backend's query translation against the reference
//! evaluator.
//!
//! A backend translates the AST into its own query language (tantivy
//! queries, Elasticsearch DSL); the reference evaluator [`crate::matches`]
//! defines what a query means. The differential test kit compares them on
//! *generated* queries; this check compares them on whatever query text the
//! fuzzer finds, over a small fixed corpus ([`translation_corpus`]) written
//! once to the backend. The input is query text; text that does not parse
//! is skipped (the query parser has its own target). Properties:
//!
//! - neither the evaluator nor the backend panics;
//! - the backend's hits, in ascending `(timestamp, seq)` order, are exactly
//!   the records `matches` selects, and its total is their count; every
//!   query that parses runs (no error is allowed).

use crate::backend::{Backend, Order, SearchRequest};
use crate::eval::matches;
use crate::query::parse_query_at;
use crate::record::Record;
use crate::testkit::corpus::{self, RECEIVE_TIME};

/// The corpus records as written, each with its sequence number.
pub type Written = Vec<(u64, Record)>;

/// The fixed corpus: the sample record of docs/query-language.md, the first lines of both Loghub
/// samples and 30 random records (seed 1: Unicode, long tokens, arrays,
/// numbers, nulls, few distinct times). 47 records.
pub fn translation_corpus() -> Vec<Record> {
    let mut records = corpus::records(corpus::PRODUCT_SAMPLE);
    for sample in [corpus::LOGHUB_HDFS, corpus::LOGHUB_OPENSTACK] {
        let head: Vec<&str> = sample.lines().take(8).collect();
        records.extend(corpus::records(&head.join("\n")));
    }
    records.extend(corpus::random_records(1, 30));
    records
}

/// Writes [`translation_corpus`] to `backend` in one batch and refreshes;
/// what [`check_translation`] compares against. Panics on a backend error.
pub fn write_corpus<B: Backend + ?Sized>(backend: &B) -> Written {
    let records = translation_corpus();
    let ack = backend.write_batch(&records).expect("write_batch");
    backend.refresh().expect("refresh");
    records
        .into_iter()
        .enumerate()
        .map(|(i, record)| (ack.first_seq + i as u64, record))
        .collect()
}

/// Checks `backend` (holding `written`) against the evaluator on one fuzz
/// input (see the module doc).
pub fn check_translation<B: Backend + ?Sized>(backend: &B, written: &[(u64, Record)], data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(query) = parse_query_at(&text, RECEIVE_TIME) else {
        return;
    };
    let mut want: Vec<&(u64, Record)> =
        written.iter().filter(|(_, r)| matches(&query, r)).collect();
    want.sort_by_key(|(seq, r)| (r.timestamp(), *seq));
    let want: Vec<u64> = want.into_iter().map(|(seq, _)| *seq).collect();
    let request = SearchRequest::new(query.clone())
        .order(Order::Asc)
        .limit(written.len() + 1);
    match backend.search(&request) {
        Ok(page) => {
            let got: Vec<u64> = page.hits.iter().map(|h| h.seq).collect();
            assert!(
                got == want && page.total == want.len() as u64,
                "backend and evaluator disagree\n  query: {text:?}\n  parsed: {query}\n  evaluator: {want:?}\n  backend:   {got:?} (total {})",
                page.total
            );
        }
        Err(e) => panic!("search failed\n  query: {text:?}\n  parsed: {query}\n  error: {e}"),
    }
}
