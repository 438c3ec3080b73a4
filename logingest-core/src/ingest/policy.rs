//! The knobs of the ingest pipeline: how submissions are grouped into backend
//! batches ([`BatchPolicy`]), what happens when the queue is full
//! ([`WhenFull`]), and the whole configuration ([`IngestConfig`]).
//!
//! Why a policy at all: every backend commit has a fixed cost (an fsync, a
//! transaction, a new index segment), so committing one HTTP request at a time
//! caps throughput at "commits per second". Grouping many requests into one
//! commit (group commit) amortises that cost. The policy bounds the group so
//! latency and memory stay bounded too: a batch closes when it reaches
//! `max_records` or `max_bytes`, when collecting it has taken `max_linger`, or
//! — the common case at low load — as soon as the queue runs dry. The
//! flusher never *waits* for more work to arrive; `max_linger` only caps how
//! long it keeps draining an already busy queue.
//!
//! Values are validated once, into `NonZeroUsize`, as Vector does for its
//! `BatchConfig`: a zero limit would mean "never flush" and is rejected with a
//! message instead of deadlocking at run time.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};

use super::stats::FlushObserver;

const fn non_zero(n: usize) -> NonZeroUsize {
    match NonZeroUsize::new(n) {
        Some(n) => n,
        None => panic!("zero in a constant batch policy"),
    }
}

const MIB: usize = 1024 * 1024;

/// When the flusher closes a batch and hands it to [`crate::Backend::write_batch`].
///
/// A batch is a run of whole submissions (one submission is one caller
/// request; it is never split). Limits are soft for a single submission: a
/// submission larger than `max_records` or `max_bytes` is written as a batch
/// of its own rather than rejected (request size limits belong to the parser).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchPolicy {
    /// Most records in one batch. Unit: records. Default 1,000 ([`BatchPolicy::realtime`]).
    max_records: NonZeroUsize,
    /// Most bytes in one batch, summed over [`crate::Record::size`]. Unit:
    /// bytes. Default 4 MiB.
    max_bytes: NonZeroUsize,
    /// Longest time the flusher keeps adding queued submissions to a batch,
    /// measured from the first one taken. Default 5 ms. Zero disables grouping
    /// (one submission per batch).
    max_linger: Duration,
}

impl BatchPolicy {
    /// The largest accepted `max_linger`: one minute.
    pub const MAX_LINGER: Duration = Duration::from_secs(60);

    const REALTIME: BatchPolicy = BatchPolicy {
        max_records: non_zero(1_000),
        max_bytes: non_zero(4 * MIB),
        max_linger: Duration::from_millis(5),
    };

    const BULK: BatchPolicy = BatchPolicy {
        max_records: non_zero(10_000),
        max_bytes: non_zero(32 * MIB),
        max_linger: Duration::from_millis(200),
    };

    /// A validated policy.
    ///
    /// Errors with [`Error::InvalidRequest`] when `max_records` or `max_bytes`
    /// is zero, or `max_linger` exceeds [`BatchPolicy::MAX_LINGER`].
    pub fn new(max_records: usize, max_bytes: usize, max_linger: Duration) -> Result<Self> {
        let max_records = NonZeroUsize::new(max_records).ok_or_else(|| {
            Error::InvalidRequest("batch policy: max_records must be at least 1".into())
        })?;
        let max_bytes = NonZeroUsize::new(max_bytes).ok_or_else(|| {
            Error::InvalidRequest("batch policy: max_bytes must be at least 1".into())
        })?;
        if max_linger > Self::MAX_LINGER {
            return Err(Error::InvalidRequest(format!(
                "batch policy: max_linger must be at most {:?}, got {max_linger:?}",
                Self::MAX_LINGER
            )));
        }
        Ok(BatchPolicy {
            max_records,
            max_bytes,
            max_linger,
        })
    }

    /// Low latency for interactive ingest: 1,000 records, 4 MiB, 5 ms.
    pub const fn realtime() -> Self {
        Self::REALTIME
    }

    /// Throughput for backfills and bulk loads: 10,000 records, 32 MiB, 200 ms.
    pub const fn bulk() -> Self {
        Self::BULK
    }

    /// Most records in one batch (unless one submission alone is larger).
    pub fn max_records(&self) -> usize {
        self.max_records.get()
    }

    /// Most bytes in one batch (unless one submission alone is larger).
    pub fn max_bytes(&self) -> usize {
        self.max_bytes.get()
    }

    /// Longest time spent collecting one batch from a busy queue.
    pub fn max_linger(&self) -> Duration {
        self.max_linger
    }
}

impl Default for BatchPolicy {
    /// [`BatchPolicy::realtime`].
    fn default() -> Self {
        Self::REALTIME
    }
}

/// What [`super::Ingester::submit`] does when the queue has no room (too many
/// queued submissions, or too many queued bytes). Nothing is ever dropped
/// silently: a submission is either accepted (and then reaches the backend or
/// fails its ticket) or `submit` returns an error and nothing of it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WhenFull {
    /// Wait for room, at most `timeout`, then fail with
    /// `Error::Timeout("queue space")`. Waiting submitters are admitted in
    /// arrival order (FIFO), so a large submission is not starved by small
    /// ones. Back-pressure reaches the client as a slower response.
    Block {
        /// Longest wait for room (wall time).
        timeout: Duration,
    },
    /// Fail immediately with [`Error::QueueFull`], which is retryable; the
    /// server answers 429/503 so the client backs off.
    Reject,
}

impl Default for WhenFull {
    /// `Block` for at most 5 s.
    fn default() -> Self {
        WhenFull::Block {
            timeout: Duration::from_secs(5),
        }
    }
}

/// Configuration of an [`super::Ingester`]. Build it from `Default` and the
/// setters; it is validated by [`super::Ingester::start`].
#[derive(Clone)]
#[non_exhaustive]
pub struct IngestConfig {
    /// How submissions are grouped into batches. Default [`BatchPolicy::realtime`].
    pub policy: BatchPolicy,
    /// Most submissions waiting in the queue (not yet taken into a batch).
    /// Unit: submissions. Default 1,024; at least 1.
    pub queue_capacity: usize,
    /// Most bytes waiting in the queue, summed over [`crate::Record::size`].
    /// Unit: bytes. Default 256 MiB; at least 1. A single submission larger
    /// than this is admitted only when the queue is empty.
    pub max_queued_bytes: usize,
    /// What `submit` does when either bound is reached. Default
    /// `Block { timeout: 5 s }`.
    pub when_full: WhenFull,
    /// Longest time committed records may stay invisible to search when
    /// nobody asks for visibility: the refresher refreshes the backend at most
    /// this long after the previous refresh if something was committed since.
    /// Default 1 s. Zero refreshes after every batch.
    pub refresh_interval: Duration,
    /// Told about every batch write and refresh (for metrics). Default none.
    pub observer: Option<Arc<dyn FlushObserver>>,
}

impl IngestConfig {
    /// Default `queue_capacity`.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 1024;
    /// Default `max_queued_bytes`: 256 MiB.
    pub const DEFAULT_MAX_QUEUED_BYTES: usize = 256 * MIB;
    /// Default `refresh_interval`: 1 s.
    pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

    /// Sets the batch policy.
    pub fn policy(mut self, policy: BatchPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the most queued submissions.
    pub fn queue_capacity(mut self, submissions: usize) -> Self {
        self.queue_capacity = submissions;
        self
    }

    /// Sets the most queued bytes.
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Sets the behaviour when the queue is full.
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.when_full = when_full;
        self
    }

    /// Sets the periodic refresh interval.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Sets the observer.
    pub fn observer(mut self, observer: Arc<dyn FlushObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Checks the values `Default` and the setters cannot guarantee.
    pub fn validate(&self) -> Result<()> {
        if self.queue_capacity == 0 {
            return Err(Error::InvalidRequest(
                "ingest config: queue_capacity must be at least 1".into(),
            ));
        }
        if self.max_queued_bytes == 0 {
            return Err(Error::InvalidRequest(
                "ingest config: max_queued_bytes must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            policy: BatchPolicy::default(),
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            max_queued_bytes: Self::DEFAULT_MAX_QUEUED_BYTES,
            when_full: WhenFull::default(),
            refresh_interval: Self::DEFAULT_REFRESH_INTERVAL,
            observer: None,
        }
    }
}

impl fmt::Debug for IngestConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestConfig")
            .field("policy", &self.policy)
            .field("queue_capacity", &self.queue_capacity)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("when_full", &self.when_full)
            .field("refresh_interval", &self.refresh_interval)
            .field("observer", &self.observer.as_ref().map(|_| "FlushObserver"))
            .finish()
    }
}
