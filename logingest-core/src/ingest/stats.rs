//! What the ingest pipeline reports about itself: a snapshot of counters
//! ([`IngestStats`]) for polling, and a callback ([`FlushObserver`]) for
//! per-event metrics such as a latency histogram.
//!
//! Why both: gauges (queue depth) are only meaningful as a snapshot, while
//! durations of individual batch writes and refreshes are lost by any counter;
//! the server feeds the observer into a Prometheus histogram and exports the
//! snapshot as gauges and counters. Core stays free of a metrics dependency.

use std::time::Duration;

/// A snapshot of the ingester's counters, from [`super::Ingester::stats`].
///
/// Queue fields are gauges at the moment of the call; the others are totals
/// since start. A "batch" is one `write_batch` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct IngestStats {
    /// Submissions accepted but not yet taken into a batch.
    pub queued_submissions: usize,
    /// Records in those submissions.
    pub queued_records: usize,
    /// Bytes ([`crate::Record::size`]) in those submissions.
    pub queued_bytes: usize,
    /// Callers currently blocked in `submit` waiting for queue room
    /// ([`super::WhenFull::Block`]).
    pub waiting_submitters: usize,
    /// Records in batches the backend committed.
    pub committed_records: u64,
    /// Bytes in batches the backend committed.
    pub committed_bytes: u64,
    /// Records in batches the backend failed to write.
    pub failed_records: u64,
    /// `write_batch` calls made (committed or failed).
    pub batches: u64,
    /// `write_batch` calls that failed.
    pub failed_batches: u64,
    /// `refresh` calls made (succeeded or failed).
    pub refreshes: u64,
    /// `refresh` calls that failed.
    pub failed_refreshes: u64,
    /// Records in the most recent batch (committed or failed); 0 before the first.
    pub last_batch_records: usize,
}

/// Told about every backend write the flusher makes and every refresh the
/// refresher makes.
///
/// Called on that thread right after the backend call returns and *before*
/// the waiting tickets are resolved (so whoever holds an acknowledgement
/// also sees the event reported); the two methods can run concurrently. It
/// therefore delays acknowledgements: it must be quick and must not block on the ingester (no
/// `flush`, `close`, `wait_*` or blocking `submit` from here). Durations are
/// wall time of the backend call.
pub trait FlushObserver: Send + Sync {
    /// A `write_batch` call of `records` records and `bytes` bytes took
    /// `took`; `ok` is whether it committed.
    fn on_batch(&self, records: usize, bytes: usize, took: Duration, ok: bool) {
        let _ = (records, bytes, took, ok);
    }

    /// A `refresh` call took `took`; `ok` is whether it succeeded.
    fn on_refresh(&self, took: Duration, ok: bool) {
        let _ = (took, ok);
    }
}
