//! Named conformance cases, one per backend contract.
//!
//! Each case is a plain function taking a fresh [`Harness`]; the macro
//! [`conformance_tests!`](crate::conformance_tests) turns the whole list into
//! `#[test]`s for a backend:
//!
//! ```ignore
//! logingest_core::conformance_tests!(|| MyHarness::new());
//! ```

mod aggregate;
mod numbers;
mod query;
mod regex;
mod stats;
mod storage;

pub use aggregate::{
    facets_top_values, histogram_counts, invalid_requests_are_rejected, keys_holding_nul,
    stats_count_records,
};
pub use numbers::numeric_comparisons;
pub use query::{
    complex_wildcard_cases, complex_wildcards, cursor_pages_never_skip_or_repeat,
    cursor_pages_under_concurrent_ingest, every_query_form, large_messages,
    ordering_ties_follow_sequence, sample_queries_of_product, time_range_edges,
    total_is_exact_beyond_the_page, unicode_text_and_values,
};
pub use regex::word_boundary_regexes_on_real_logs;
pub use stats::stats_functions;
pub use storage::{
    durability_survives_reopen, empty_batch_is_a_no_op, retention_deletes_older_records,
    round_trip_exactly_as_sent, sequence_numbers_are_contiguous, shared_storage_is_shared,
    visibility_after_refresh,
};

use super::harness::Harness;
use crate::backend::{Backend, Order, SearchRequest, TimeRange};
use crate::query::{parse_query_at, Query};
use crate::record::Record;
use crate::timestamp::Timestamp;

/// Makes one `#[test]` per conformance case, in a module `conformance`.
/// `$make` is an expression callable with no argument that returns a fresh
/// [`Harness`] over empty storage.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            round_trip_exactly_as_sent,
            durability_survives_reopen,
            visibility_after_refresh,
            sequence_numbers_are_contiguous,
            empty_batch_is_a_no_op,
            retention_deletes_older_records,
            shared_storage_is_shared,
            sample_queries_of_product,
            every_query_form,
            numeric_comparisons,
            time_range_edges,
            ordering_ties_follow_sequence,
            cursor_pages_never_skip_or_repeat,
            cursor_pages_under_concurrent_ingest,
            total_is_exact_beyond_the_page,
            unicode_text_and_values,
            complex_wildcards,
            word_boundary_regexes_on_real_logs,
            large_messages,
            histogram_counts,
            facets_top_values,
            keys_holding_nul,
            stats_count_records,
            stats_functions,
            invalid_requests_are_rejected
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    let mut harness = ($make)();
                    $crate::testkit::conformance::$case(&mut harness);
                }
            )*
        }
    };
}

/// The fixed "now" of conformance queries, so relative times are stable.
pub(crate) const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

/// Parses a query of a test table; panics with the query on error.
pub(crate) fn q(text: &str) -> Query {
    parse_query_at(text, NOW).unwrap_or_else(|e| panic!("test query `{text}` does not parse: {e}"))
}

/// Every visible hit of `query` in `order`, paging with `limit`, as sources.
pub(crate) fn all_sources<B: Backend + ?Sized>(
    backend: &B,
    query: &Query,
    time: TimeRange,
    order: Order,
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let request = SearchRequest::new(query.clone())
            .time(time)
            .order(order)
            .limit(limit)
            .cursor(cursor);
        let page = backend
            .search(&request)
            .unwrap_or_else(|e| panic!("search `{query}` failed: {e}"));
        out.extend(page.hits.into_iter().map(|h| h.source));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// The sources of `records` that match `query` in `time`, newest first
/// (records are assumed written in this order).
pub(crate) fn reference_sources(records: &[Record], query: &Query, time: TimeRange) -> Vec<String> {
    let mut want: Vec<(usize, &Record)> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| time.contains(r.timestamp()) && crate::eval::matches(query, r))
        .collect();
    want.sort_by_key(|(i, r)| (r.timestamp(), *i));
    want.into_iter()
        .rev()
        .map(|(_, r)| r.source().to_owned())
        .collect()
}

/// Asserts that `query` returns exactly what the reference evaluator selects.
pub(crate) fn assert_query<H: Harness>(h: &H, records: &[Record], text: &str) -> usize {
    let query = q(text);
    let want = reference_sources(records, &query, TimeRange::default());
    let got = all_sources(h.backend(), &query, TimeRange::default(), Order::Desc, 1000);
    assert_eq!(got, want, "query `{text}` (parsed as `{query}`)");
    want.len()
}
