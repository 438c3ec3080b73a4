//! How the kit gets a backend to test.

use crate::backend::{Backend, WriteAck};
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
