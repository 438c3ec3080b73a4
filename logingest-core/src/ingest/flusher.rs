//! The flusher thread: group commit.
//!
//! One thread owns the receiving end of the queue, so batches are written one
//! at a time, in submission order, and every backend sees a single writer.
//! Refreshes run on their own thread ([`super::refresher`]), so a slow
//! refresh never delays the next batch's acknowledgement. The loop:
//!
//! 1. Block for the first submission.
//! 2. Collect: keep taking queued submissions (`try_recv`, never waiting)
//!    while the batch is under `max_records` and `max_bytes` and the clock is
//!    before `batch_start + max_linger`. An empty queue ends the batch at once,
//!    so a lone request is written without delay at low load, while under load
//!    batches grow to the limits. A submission that would cross a limit is
//!    held back as the first of the next batch: never dropped, never split.
//! 3. Release the batch's queue room, call `write_batch` once with all its
//!    records, update the stats, tell the observer, and resolve every ticket
//!    of the batch: its own slice of the sequence range on success, the
//!    batch's error on failure (other batches are unaffected). Stats, the
//!    written-through mark the refresher reads, and the observer come first,
//!    so a caller that has its acknowledgement also sees the batch counted.
//! 4. Tell the refresher a batch was written.
//!
//! When the queue is closed and drained, the thread exits; dropping its end
//! of the `written` channel tells the refresher to make a last refresh.
//! Backend panics are caught and turned into a non-retryable
//! `Error::Backend` for the affected tickets; observer panics are caught and
//! ignored.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};

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
    /// Tells the refresher a batch was written (capacity 1: a full channel
    /// means it will look anyway).
    pub(super) written: Sender<()>,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) policy: BatchPolicy,
    pub(super) observer: Option<Arc<dyn FlushObserver>>,
    pub(super) shared: Arc<Shared>,
    /// A submission that did not fit the previous batch.
    pub(super) held: Option<Submission>,
    /// Id of the last submission written (committed or failed).
    pub(super) processed_through: u64,
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

impl Flusher {
    /// The flusher loop; returns when the queue is closed and drained.
    pub(super) fn run(mut self) {
        loop {
            let first = match self.held.take() {
                Some(submission) => submission,
                None => match self.rx.recv() {
                    Ok(submission) => submission,
                    // Closed and drained.
                    Err(_) => break,
                },
            };
            let batch = self.collect(first);
            self.write(batch);
            // Full means a wake-up is already pending.
            let _ = self.written.try_send(());
        }
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
            progress.written_through = self.processed_through;
            if outcome.is_ok() {
                progress.unrefreshed = true;
            }
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
}

impl Drop for Flusher {
    /// Runs on normal exit and if the thread panics: stop accepting, fail
    /// the held and still queued submissions with `Closed` (none are left on
    /// a normal exit). Dropping `written` then lets the refresher finish.
    fn drop(&mut self) {
        self.shared.close_queue();
        drop(self.held.take());
        while let Ok(submission) = self.rx.try_recv() {
            drop(submission);
        }
    }
}

/// Calls the backend, turning a panic into a non-retryable error.
pub(super) fn guard<T>(what: &str, call: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| {
        Err(Error::backend_msg(
            false,
            format!("backend panicked in {what}"),
        ))
    })
}
