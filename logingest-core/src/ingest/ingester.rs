//! [`Ingester`]: the public face of the ingest pipeline.
//!
//! Why a dedicated flusher thread behind a bounded queue instead of writing
//! from each request thread: concurrent requests are merged into few large
//! backend commits (group commit), the backend sees one writer, and the bound
//! turns overload into an explicit, retryable answer (back-pressure) rather
//! than unbounded memory growth.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::bounded;
use parking_lot::Mutex;

use crate::backend::Backend;
use crate::error::{Error, IngestError, Result, WriteError};
use crate::record::Record;

use super::clock::{Clock, SystemClock};
use super::flusher::Flusher;
use super::policy::IngestConfig;
use super::refresher::Refresher;
use super::state::{Limits, Shared, VisibleWait};
use super::stats::IngestStats;
use super::ticket::Ticket;

/// Accepts submissions, batches them, writes them to a [`Backend`] on a
/// flusher thread, and acknowledges each one through its [`Ticket`].
///
/// `Ingester` is `Send + Sync`; share it by reference or in an `Arc`.
/// Dropping it closes it (see [`Ingester::close`]), ignoring errors.
pub struct Ingester {
    shared: Arc<Shared>,
    /// The flusher and the refresher, joined in that order by `shutdown`.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Ingester {
    /// Validates `config` and starts the flusher and refresher threads, with
    /// the system clock.
    ///
    /// Errors: [`Error::InvalidRequest`] for an invalid config; a retryable
    /// [`Error::Backend`] if the thread cannot be spawned.
    pub fn start(backend: Arc<dyn Backend>, config: IngestConfig) -> Result<Ingester> {
        Self::start_with_clock(backend, config, Arc::new(SystemClock))
    }

    /// [`Ingester::start`] with the clock the threads use for `max_linger`
    /// and `refresh_interval` (tests pass a [`super::ManualClock`]).
    pub fn start_with_clock(
        backend: Arc<dyn Backend>,
        config: IngestConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Ingester> {
        config.validate()?;
        let (sender, rx) = bounded(config.queue_capacity);
        let (wake_sender, wake) = bounded(1);
        let limits = Limits {
            queue_capacity: config.queue_capacity,
            max_queued_bytes: config.max_queued_bytes,
            when_full: config.when_full,
        };
        let (written_sender, written) = bounded(1);
        let shared = Arc::new(Shared::new(limits, sender, wake_sender));
        let refresher = Refresher {
            wake,
            written,
            backend: Arc::clone(&backend),
            last_refresh: clock.now(),
            clock: Arc::clone(&clock),
            refresh_interval: config.refresh_interval,
            observer: config.observer.clone(),
            shared: Arc::clone(&shared),
        };
        let flusher = Flusher {
            rx,
            written: written_sender,
            backend,
            clock,
            policy: config.policy,
            observer: config.observer,
            shared: Arc::clone(&shared),
            held: None,
            processed_through: 0,
        };
        // The refresher first: it ends when the flusher drops `written`, so
        // a flusher that could not start must not leave it waiting.
        let refresher = std::thread::Builder::new()
            .name("logingest-refresh".into())
            .spawn(move || refresher.run())
            .map_err(|e| Error::backend(true, e))?;
        let flusher = std::thread::Builder::new()
            .name("logingest-flusher".into())
            .spawn(move || flusher.run())
            .map_err(|e| Error::backend(true, e))?;
        Ok(Ingester {
            shared,
            threads: Mutex::new(vec![flusher, refresher]),
        })
    }

    /// Queues one caller request as one submission and returns its ticket.
    ///
    /// The records are written in order, in one backend batch, never split
    /// (a submission larger than the batch limits forms a batch of its own).
    /// An empty `records` returns a ticket that is already durable and
    /// visible (`len == 0`) without touching the queue.
    ///
    /// When the queue is at `queue_capacity` submissions or adding these
    /// records would exceed `max_queued_bytes` (a submission larger than the
    /// whole byte budget is admitted only into an empty queue), `when_full`
    /// decides: `Reject` → [`Error::QueueFull`]; `Block { timeout }` → wait
    /// in FIFO order, then `Error::Timeout("queue space")`. After close →
    /// [`Error::Closed`]. On any error nothing of `records` was queued.
    pub fn submit(&self, records: Vec<Record>) -> Result<Ticket, IngestError> {
        self.submit_with(records, |_| {})
    }

    /// [`Ingester::submit`], calling `on_admitted` with the ticket once the
    /// submission is admitted, at the point where its place in the order is
    /// fixed: the calls of concurrent submissions happen in the order of
    /// their tickets (and sequence numbers). For observers that must see
    /// submissions in order, such as a live-tail feed. It runs under the
    /// queue's lock: keep it short, never block or submit in it. Not
    /// called for an empty `records` or when admission fails.
    pub fn submit_with(
        &self,
        records: Vec<Record>,
        on_admitted: impl FnOnce(&Ticket),
    ) -> Result<Ticket, IngestError> {
        if records.is_empty() {
            if self.shared.queue.lock().closed {
                return Err(IngestError::Closed);
            }
            return Ok(Ticket::empty());
        }
        // Admission fails only for want of room, or after close.
        self.shared
            .admit(records, on_admitted)
            .map_err(|e| match e {
                Error::QueueFull => IngestError::QueueFull,
                Error::Timeout(_) => IngestError::Timeout,
                _ => IngestError::Closed,
            })
    }

    /// Blocks until every submission accepted before this call has been
    /// written (committed or failed) and a refresh that started after the
    /// last of them has succeeded, asking the refresher to refresh promptly.
    ///
    /// `Ok` means every *committed* submission is visible. Failed batches are
    /// reported to their tickets and counted in [`IngestStats::failed_records`],
    /// not here. Errors: the refresh's error, or [`Error::Closed`] if the
    /// flusher stopped first. With nothing submitted yet, returns `Ok` at once.
    pub fn flush(&self) -> Result<(), WriteError> {
        let last = self.shared.queue.lock().last.clone();
        let Some(last) = last else {
            return Ok(());
        };
        // Its outcome belongs to its ticket; we only need it processed.
        let _ = last.wait(None);
        Ok(self.shared.wait_visible(last.id(), None, true)?)
    }

    /// [`Ingester::flush`] without blocking a thread.
    pub async fn flush_async(&self) -> Result<(), WriteError> {
        let last = self.shared.queue.lock().last.clone();
        let Some(last) = last else {
            return Ok(());
        };
        let _ = std::future::poll_fn(|cx| last.poll(cx)).await;
        let mut wait = VisibleWait::new(last.id(), true);
        Ok(std::future::poll_fn(|cx| self.shared.poll_visible(&mut wait, cx)).await?)
    }

    /// Stops accepting, writes everything still queued, refreshes, and joins
    /// the flusher and refresher threads.
    ///
    /// Returns the first error of a batch write or refresh that completed
    /// after the close began (the affected tickets carry it too). Waiters
    /// blocked in `submit` get [`Error::Closed`].
    pub fn close(self) -> Result<(), WriteError> {
        self.shutdown()
    }

    /// [`Ingester::close`] through a shared reference, for an ingester in an
    /// `Arc`; later `submit` calls get [`Error::Closed`]. Idempotent: every
    /// call waits for the flusher to stop and returns the same result. Must
    /// not be called from a [`super::FlushObserver`] (the flusher or the refresher thread).
    pub fn shutdown(&self) -> Result<(), WriteError> {
        self.shared.progress.lock().closing = true;
        self.shared.close_queue();
        let threads = std::mem::take(&mut *self.threads.lock());
        let panicked = if threads.is_empty() {
            self.shared.wait_exited();
            false
        } else {
            // Join both (collect first: `any` would stop at a panicked one).
            let joined: Vec<bool> = threads
                .into_iter()
                .map(|thread| thread.join().is_err())
                .collect();
            joined.into_iter().any(|panicked| panicked)
        };
        let mut progress = self.shared.progress.lock();
        if panicked {
            progress.note_error(&Error::backend_msg(false, "ingest thread panicked"));
        }
        match &progress.close_error {
            Some(error) => Err(error.clone().into()),
            None => Ok(()),
        }
    }

    /// A snapshot of queue gauges and flusher totals.
    pub fn stats(&self) -> IngestStats {
        self.shared.stats()
    }
}

impl Drop for Ingester {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl fmt::Debug for Ingester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingester")
            .field("limits", &self.shared.limits)
            .field("stats", &self.stats())
            .finish()
    }
}
