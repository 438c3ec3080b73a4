//! The indexer thread every node runs.
//!
//! It delivers the batches this node commits (handed over by `write_batch`
//! with their bulk bodies built from the records in memory, so the common
//! path never reads a record back from PG), grouping whatever queued up
//! meanwhile into one `_bulk` request. Every poll interval it also sweeps
//! the outbox for batches older than that interval which nobody holds: the
//! ones a node left behind when it died between its commit and its
//! delivery. Failed deliveries are not retried here: their rows stay in the
//! outbox for the next sweep or `refresh`.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use logingest_core::ingest::Waited;

use crate::backend::Inner;
use crate::outbox::{deliver_pending, deliver_stored, Claim};
use crate::pending::Queue;

/// The running thread; stops when its queue is closed.
pub(crate) struct Indexer {
    thread: JoinHandle<()>,
}

impl Indexer {
    /// Starts the thread: it delivers what arrives on `queue` and, with
    /// `poll` set, sweeps the outbox at that period. `None` if no thread
    /// could be started.
    pub(crate) fn start(
        inner: Arc<Inner>,
        queue: Arc<Queue>,
        poll: Option<Duration>,
    ) -> Option<Self> {
        let thread = std::thread::Builder::new()
            .name("logingest-pg-indexer".into())
            .spawn(move || run(&inner, &queue, poll))
            .ok()?;
        Some(Indexer { thread })
    }

    /// Waits for the thread to finish (after the queue is closed, it
    /// delivers what is still queued, then ends).
    pub(crate) fn join(self) {
        let _ = self.thread.join();
    }
}

fn run(inner: &Inner, queue: &Queue, poll: Option<Duration>) {
    // With a sweep period, `PgBackend::open` swept the outbox just before
    // starting this thread.
    let mut last_sweep = Instant::now();
    loop {
        // Without a sweep period, wait for batches only.
        let wait = match poll {
            Some(period) => period.saturating_sub(last_sweep.elapsed()),
            None => Duration::from_secs(3600),
        };
        let waited = queue.wait_timeout(wait);
        // What queued up meanwhile goes in one round, within one request's
        // bytes. On failure the rows stay in the outbox: a later sweep or
        // refresh delivers them.
        loop {
            let batches = queue.take(inner.limit().bytes);
            if batches.is_empty() {
                break;
            }
            let _ = deliver_pending(&inner.store, &inner.index, batches, inner.limit());
            if waited != Waited::Closed {
                break;
            }
        }
        if waited == Waited::Closed {
            return;
        }
        // Sweep on schedule even while batches keep arriving.
        if let Some(period) = poll {
            if last_sweep.elapsed() >= period {
                sweep(inner, period);
                last_sweep = Instant::now();
            }
        }
    }
}

/// Delivers outbox rows at least `older_than` old that nobody holds.
fn sweep(inner: &Inner, older_than: Duration) {
    let claim = Claim::SkipLocked { older_than };
    while let Ok(n) = deliver_stored(&inner.store, &inner.index, claim, inner.limit()) {
        if n == 0 {
            break;
        }
    }
}
