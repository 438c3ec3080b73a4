//! How the kit gets a backend to test.

use crate::backend::{Backend, HistogramRequest, WriteAck};
use crate::record::Record;

/// Owns one backend under test and its storage.
///
/// Each test case creates a fresh harness (empty storage) through the
/// closure given to [`conformance_tests!`](crate::conformance_tests).
pub trait Harness {
    /// The backend type.
    type Backend: Backend;

    /// The open backend.
    fn backend(&self) -> &Self::Backend;

    /// Closes the backend and opens the same storage again, as a restart of
    /// the process would. Everything acknowledged before must still be there.
    fn reopen(&mut self);

    /// A second backend on the same storage, as another process (node)
    /// would open it: required of a backend whose capabilities say
    /// `shared_storage`, which the kit then tests; `None` otherwise.
    fn second(&self) -> Option<Self::Backend> {
        None
    }
}

/// Writes `records` in batches of `batch` records, refreshes, and returns
/// the acknowledgements. Panics on any error (this is test code).
pub fn write_all<B: Backend + ?Sized>(
    backend: &B,
    records: &[Record],
    batch: usize,
) -> Vec<WriteAck> {
    let acks = records
        .chunks(batch.max(1))
        .map(|chunk| backend.write_batch(chunk).expect("write_batch"))
        .collect();
    backend.refresh().expect("refresh");
    acks
}

/// The reference answer of a facet request over `matching` records: each
/// record counts once per distinct value of `field`; counts descending, ties
/// by value ascending; the first `size`.
pub fn reference_facets<'a>(
    matching: impl IntoIterator<Item = &'a Record>,
    field: &str,
    size: usize,
) -> Vec<(String, u64)> {
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for record in matching {
        let mut values: Vec<&str> = record.keyword_values(field).collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            *counts.entry(v).or_default() += 1;
        }
    }
    let mut want: Vec<(String, u64)> = counts.into_iter().map(|(v, c)| (v.to_owned(), c)).collect();
    want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    want.truncate(size);
    want
}

/// The reference histogram of `request` over `records`: the records
/// matching `request.query`, counted in the bucket of their time.
pub fn reference_histogram<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    request: &HistogramRequest,
) -> Vec<u64> {
    let mut counts = vec![0u64; request.bucket_count()];
    for record in records {
        if !crate::eval::matches(&request.query, record) {
            continue;
        }
        if let Some(bucket) = request.bucket_of(record.timestamp()) {
            counts[bucket] += 1;
        }
    }
    counts
}
