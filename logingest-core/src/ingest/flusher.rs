//! The flusher thread: group commit and refresh scheduling.
//!
//! One thread owns the receiving end of the queue, so batches are written one
//! at a time, in submission order, and every backend sees a single writer.
//! The loop:
//!
//! 1. Block for the first submission. While committed records are not yet
//!    refreshed, the wait ends at `last_refresh + refresh_interval` so the
//!    periodic refresh still happens when no traffic arrives; a visibility
//!    waiter can also wake it through the `wake` channel.
//! 2. Collect: keep taking queued submissions (`try_recv`, never waiting)
//!    while the batch is under `max_records` and `max_bytes` and the clock is
//!    before `batch_start + max_linger`. An empty queue ends the batch at once,
//!    so a lone request is written without delay at low load, while under load
//!    batches grow to the limits. A submission that would cross a limit is
//!    held back as the first of the next batch: never dropped, never split.
//! 3. Release the batch's queue room, call `write_batch` once with all its
//!    records, update the stats, tell the observer, and resolve every ticket
//!    of the batch: its own slice of the sequence range on success, the
//!    batch's error on failure (other batches are unaffected). Stats and
//!    observer come first so a caller that has its acknowledgement also sees
//!    the batch counted.
//! 4. Refresh if a visibility waiter asked for it or `refresh_interval` has
//!    passed since the last refresh with something committed since.
//!
//! When the queue is closed and drained, a last refresh makes everything
//! committed visible, then the thread exits. Backend panics are caught and
//! turned into a non-retryable `Error::Backend` for the affected tickets;
//! observer panics are caught and ignored.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{after, never, select, Receiver};

use crate::backend::{Backend, WriteAck};
use crate::error::{Error, Result};
use crate::record::Record;

use super::clock::Clock;
use super::policy::BatchPolicy;
use super::state::{Shared, Submission};
use super::stats::FlushObserver;

/// The flusher's state; [`Flusher::run`] consumes it on its own thread.
pub(super) struct Flusher {
    pub(super) rx: Receiver<Submission>,
    pub(super) wake: Receiver<()>,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) policy: BatchPolicy,
    pub(super) refresh_interval: Duration,
    pub(super) observer: Option<Arc<dyn FlushObserver>>,
    pub(super) shared: Arc<Shared>,
    /// A submission that did not fit the previous batch.
    pub(super) held: Option<Submission>,
    /// Id of the last submission written (committed or failed).
    pub(super) processed_through: u64,
    /// Something was committed since the last successful refresh.
    pub(super) unrefreshed: bool,
    /// Clock time of the last refresh attempt (or of the start).
    pub(super) last_refresh: Instant,
}

/// Whole submissions collected for one `write_batch` call.
struct Batch {
    submissions: Vec<Submission>,
    records: usize,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, submission: Submission) {
        self.records += submission.records.len();
        self.bytes += submission.bytes;
        self.submissions.push(submission);
    }
}

/// What ended an idle wait.
enum Event {
    Submission(Submission),
    /// A refresh may be due or was asked for.
    Wake,
    /// The queue is closed and empty.
    Disconnected,
}

impl Flusher {
    /// The flusher loop; returns when the queue is closed and drained.
    pub(super) fn run(mut self) {
        loop {
            let first = match self.held.take() {
                Some(submission) => submission,
                None => match self.next_event() {
                    Event::Submission(submission) => submission,
                    Event::Wake => {
                        self.maybe_refresh();
                        continue;
                    }
                    Event::Disconnected => break,
                },
            };
            let batch = self.collect(first);
            self.write(batch);
            self.maybe_refresh();
        }
        if self.unrefreshed || self.shared.progress.lock().refresh_wanted {
            self.refresh();
        }
    }

    fn next_event(&self) -> Event {
        let timeout = if self.unrefreshed {
            self.refresh_due_at()
                .map(|due| due.saturating_duration_since(self.clock.now()))
        } else {
            None
        };
        let tick = timeout.map_or_else(never, after);
        select! {
            recv(self.rx) -> msg => msg.map_or(Event::Disconnected, Event::Submission),
            recv(self.wake) -> _ => Event::Wake,
            recv(tick) -> _ => Event::Wake,
        }
    }

    fn refresh_due_at(&self) -> Option<Instant> {
        self.last_refresh.checked_add(self.refresh_interval)
    }

    fn collect(&mut self, first: Submission) -> Batch {
        let max_records = self.policy.max_records();
        let max_bytes = self.policy.max_bytes();
        let deadline = self.clock.now().checked_add(self.policy.max_linger());
        let mut batch = Batch {
            submissions: Vec::new(),
            records: 0,
            bytes: 0,
        };
        batch.push(first);
        while batch.records < max_records && batch.bytes < max_bytes {
            if deadline.is_some_and(|deadline| self.clock.now() >= deadline) {
                break;
            }
            let Ok(next) = self.rx.try_recv() else {
                break;
            };
            if batch.records + next.records.len() > max_records
                || batch.bytes + next.bytes > max_bytes
            {
                self.held = Some(next);
                break;
            }
            batch.push(next);
        }
        batch
    }

    fn write(&mut self, batch: Batch) {
        let Batch {
            submissions,
            records: count,
            bytes,
        } = batch;
        self.shared.release(submissions.len(), count, bytes);

        let mut records: Vec<Record> = Vec::with_capacity(count);
        let mut waiters = Vec::with_capacity(submissions.len());
        for submission in submissions {
            self.processed_through = submission.id;
            waiters.push((submission.records.len() as u64, submission.done));
            records.extend(submission.records);
        }

        let started = Instant::now();
        let outcome = guard("write_batch", || self.backend.write_batch(&records));
        let took = started.elapsed();
        drop(records);

        {
            let mut progress = self.shared.progress.lock();
            let stats = &mut progress.stats;
            stats.batches += 1;
            stats.last_batch_records = count;
            match &outcome {
                Ok(_) => {
                    stats.committed_records += count as u64;
                    stats.committed_bytes += bytes as u64;
                }
                Err(error) => {
                    stats.failed_records += count as u64;
                    stats.failed_batches += 1;
                    progress.note_error(error);
                }
            }
        }

        if let Some(observer) = &self.observer {
            let ok = outcome.is_ok();
            // A panicking observer must not take acknowledgements down with it.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                observer.on_batch(count, bytes, took, ok)
            }));
        }
        match outcome {
            Ok(ack) => {
                self.unrefreshed = true;
                let mut next = ack.first_seq;
                for (len, done) in waiters {
                    done.complete(Ok(WriteAck::new(next, len)));
                    next += len;
                }
            }
            Err(error) => {
                for (_, done) in waiters {
                    done.complete(Err(error.clone()));
                }
            }
        }
    }

    fn maybe_refresh(&mut self) {
        let due = self.unrefreshed
            && self
                .refresh_due_at()
                .is_some_and(|due| self.clock.now() >= due);
        if due || self.shared.progress.lock().refresh_wanted {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.shared.progress.lock().refresh_wanted = false;
        let covers = self.processed_through;
        let started = Instant::now();
        let outcome = guard("refresh", || self.backend.refresh());
        let took = started.elapsed();
        self.last_refresh = self.clock.now();
        if let Some(observer) = &self.observer {
            let ok = outcome.is_ok();
            let _ = catch_unwind(AssertUnwindSafe(|| observer.on_refresh(took, ok)));
        }
        {
            let mut progress = self.shared.progress.lock();
            progress.refresh_attempts += 1;
            progress.stats.refreshes += 1;
            match outcome {
                Ok(()) => {
                    self.unrefreshed = false;
                    progress.visible_through = covers;
                    progress.last_refresh_error = None;
                }
                Err(error) => {
                    progress.stats.failed_refreshes += 1;
                    progress.note_error(&error);
                    progress.last_refresh_error = Some(error);
                }
            }
            self.shared.progressed.notify_all();
        }
    }
}

impl Drop for Flusher {
    /// Runs on normal exit and if the thread panics: stop accepting, fail
    /// the held and still queued submissions with `Closed` (none are left on
    /// a normal exit), and wake every waiter.
    fn drop(&mut self) {
        self.shared.close_queue();
        drop(self.held.take());
        while let Ok(submission) = self.rx.try_recv() {
            drop(submission);
        }
        self.shared.progress.lock().exited = true;
        self.shared.progressed.notify_all();
    }
}

/// Calls the backend, turning a panic into a non-retryable error.
fn guard<T>(what: &str, call: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| {
        Err(Error::backend_msg(
            false,
            format!("backend panicked in {what}"),
        ))
    })
}
