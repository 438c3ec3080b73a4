//! State shared by submitters, tickets and the flusher: queue accounting
//! (admission and back-pressure) and flusher progress (visibility).
//!
//! Why admission is decided under one lock instead of by the channel alone:
//! the queue has two bounds (submissions *and* bytes) that must be checked
//! together, Block-mode waiters must be admitted in arrival order, and every
//! submission must enter the channel in the order of its id, because
//! `Ingester::flush` and the visibility protocol compare ids ("everything up
//! to id N was processed"). So a submitter reserves room under the `queue`
//! lock and sends while still holding it; the bounded crossbeam channel never
//! blocks (accounting releases room only after the flusher has received a
//! submission) and its capacity is a backstop.
//!
//! Visibility is tracked by id too: the flusher processes ids in order and
//! publishes `written_through`; after a successful refresh the refresher
//! publishes `visible_through`, the `written_through` of when that refresh
//! started.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crossbeam_channel::{Sender, TrySendError};
use parking_lot::{Condvar, Mutex};

use crate::error::{Error, Result};
use crate::record::Record;

use super::policy::WhenFull;
use super::stats::IngestStats;
use super::ticket::{self, Completer, Ticket, TicketInner};

/// One accepted caller request on its way to the flusher.
pub(super) struct Submission {
    /// Position in the queue, from 1.
    pub(super) id: u64,
    /// The records; never split across batches.
    pub(super) records: Vec<Record>,
    /// Sum of `Record::size` of `records`.
    pub(super) bytes: usize,
    /// Resolves the caller's ticket.
    pub(super) done: Completer,
}

/// The queue bounds and full-queue behaviour.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) queue_capacity: usize,
    pub(super) max_queued_bytes: usize,
    pub(super) when_full: WhenFull,
}

/// Accounting of accepted submissions not yet taken into a batch.
pub(super) struct QueueState {
    /// `None` once closed: dropping it lets the flusher drain and stop.
    pub(super) sender: Option<Sender<Submission>>,
    /// No more submissions are accepted.
    pub(super) closed: bool,
    submissions: usize,
    records: usize,
    bytes: usize,
    /// Id of the last accepted submission (0 = none yet).
    last_id: u64,
    /// Slot of the last accepted submission, for `flush`.
    pub(super) last: Option<Arc<TicketInner>>,
    /// Block-mode submitters waiting for room, in arrival order.
    waiters: VecDeque<u64>,
    next_waiter: u64,
}

impl QueueState {
    fn has_room(&self, limits: &Limits, bytes: usize) -> bool {
        self.submissions < limits.queue_capacity
            && (self.submissions == 0
                || self.bytes.saturating_add(bytes) <= limits.max_queued_bytes)
    }

    fn leave(&mut self, waiter: u64) {
        self.waiters.retain(|w| *w != waiter);
    }
}

/// What the flusher and the refresher have achieved, for visibility
/// waiters, `close` and stats.
#[derive(Default)]
pub(super) struct Progress {
    /// Every submission with id up to this one was written (committed or
    /// failed).
    pub(super) written_through: u64,
    /// Something was committed since the last refresh started (or one
    /// failed since).
    pub(super) unrefreshed: bool,
    /// Every submission with id up to this one is visible (or failed).
    pub(super) visible_through: u64,
    /// A visibility waiter asked for a refresh.
    pub(super) refresh_wanted: bool,
    /// Refresh attempts started, numbering them from 1.
    pub(super) refreshes_started: u64,
    /// Start number of the latest refresh attempt that completed (0: none).
    pub(super) last_completed_refresh: u64,
    /// Error of the latest refresh attempt, `None` if it succeeded.
    pub(super) last_refresh_error: Option<Error>,
    /// `close` was called; errors from now on are reported by `close`.
    pub(super) closing: bool,
    /// First batch or refresh error after `closing` was set.
    pub(super) close_error: Option<Error>,
    /// The pipeline has stopped (the refresher, after the flusher).
    pub(super) exited: bool,
    /// Totals reported by `Ingester::stats`.
    pub(super) stats: IngestStats,
    /// Tasks awaiting visibility, woken with the condvar's waiters.
    pub(super) wakers: Vec<Waker>,
}

impl Progress {
    /// Records `error` as the result of `close` if it is the first since closing.
    pub(super) fn note_error(&mut self, error: &Error) {
        if self.closing && self.close_error.is_none() {
            self.close_error = Some(error.clone());
        }
    }
}

/// A visibility wait in progress (blocking or a future's state).
pub(super) struct VisibleWait {
    id: u64,
    prompt: bool,
    /// `refreshes_started` when this wait asked for a refresh.
    asked_at: Option<u64>,
}

impl VisibleWait {
    /// A wait for submission `id`; with `prompt`, one that asks for an
    /// early refresh.
    pub(super) fn new(id: u64, prompt: bool) -> Self {
        VisibleWait {
            id,
            prompt,
            asked_at: None,
        }
    }
}

/// Everything shared between the `Ingester`, its tickets and its flusher.
pub(super) struct Shared {
    pub(super) limits: Limits,
    pub(super) queue: Mutex<QueueState>,
    /// Signalled when queue room is released or the queue closes.
    pub(super) room: Condvar,
    pub(super) progress: Mutex<Progress>,
    /// Signalled on every refresh attempt and when the pipeline exits.
    pub(super) progressed: Condvar,
    /// Wakes the refresher to refresh; capacity 1, a full channel means a
    /// wake-up is already pending.
    pub(super) wake: Sender<()>,
}

impl Shared {
    pub(super) fn new(limits: Limits, sender: Sender<Submission>, wake: Sender<()>) -> Self {
        Shared {
            limits,
            queue: Mutex::new(QueueState {
                sender: Some(sender),
                closed: false,
                submissions: 0,
                records: 0,
                bytes: 0,
                last_id: 0,
                last: None,
                waiters: VecDeque::new(),
                next_waiter: 0,
            }),
            room: Condvar::new(),
            progress: Mutex::new(Progress::default()),
            progressed: Condvar::new(),
            wake,
        }
    }

    /// Admits a non-empty submission (or fails per `when_full`) and queues it.
    pub(super) fn admit(
        self: &Arc<Self>,
        records: Vec<Record>,
        on_admitted: impl FnOnce(&Ticket),
    ) -> Result<Ticket> {
        let bytes = records.iter().map(Record::size).sum::<usize>();
        let mut queue = self.queue.lock();
        if queue.closed {
            return Err(Error::Closed);
        }
        let fast = queue.waiters.is_empty() && queue.has_room(&self.limits, bytes);
        if !fast {
            match self.limits.when_full {
                WhenFull::Reject => return Err(Error::QueueFull),
                WhenFull::Block { timeout } => {
                    let deadline = Instant::now().checked_add(timeout);
                    self.wait_for_room(&mut queue, bytes, deadline)?;
                }
            }
        }

        let id = queue.last_id + 1;
        let (ticket, done) = ticket::pending(id, records.len(), Arc::clone(self));
        let count = records.len();
        let submission = Submission {
            id,
            records,
            bytes,
            done,
        };
        let sent = match &queue.sender {
            Some(sender) => sender.try_send(submission),
            None => Err(TrySendError::Disconnected(submission)),
        };
        match sent {
            Ok(()) => {
                queue.last_id = id;
                queue.submissions += 1;
                queue.records += count;
                queue.bytes += bytes;
                queue.last = Some(Arc::clone(ticket.inner()));
                // Still under the queue's lock: calls happen in ticket order.
                on_admitted(&ticket);
                Ok(ticket)
            }
            // Unreachable while accounting holds (channel length <= accounted
            // submissions <= capacity); reported, never silently dropped.
            Err(TrySendError::Full(_)) => Err(Error::QueueFull),
            Err(TrySendError::Disconnected(_)) => {
                queue.closed = true;
                Err(Error::Closed)
            }
        }
    }

    /// Block mode: waits in FIFO order until there is room for `bytes`.
    fn wait_for_room(
        &self,
        queue: &mut parking_lot::MutexGuard<'_, QueueState>,
        bytes: usize,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let me = queue.next_waiter;
        queue.next_waiter += 1;
        queue.waiters.push_back(me);
        loop {
            if queue.closed {
                queue.leave(me);
                self.room.notify_all();
                return Err(Error::Closed);
            }
            if queue.waiters.front() == Some(&me) && queue.has_room(&self.limits, bytes) {
                queue.waiters.pop_front();
                // The next waiter may fit too.
                self.room.notify_all();
                return Ok(());
            }
            match deadline {
                Some(deadline) if Instant::now() >= deadline => {
                    queue.leave(me);
                    self.room.notify_all();
                    return Err(Error::Timeout("queue space"));
                }
                Some(deadline) => {
                    self.room.wait_until(queue, deadline);
                }
                None => self.room.wait(queue),
            }
        }
    }

    /// The flusher took these submissions into a batch: their room is free.
    pub(super) fn release(&self, submissions: usize, records: usize, bytes: usize) {
        let mut queue = self.queue.lock();
        queue.submissions -= submissions;
        queue.records -= records;
        queue.bytes -= bytes;
        self.room.notify_all();
    }

    /// Stops accepting submissions; wakes Block-mode waiters (they get `Closed`).
    pub(super) fn close_queue(&self) {
        let mut queue = self.queue.lock();
        queue.closed = true;
        queue.sender = None;
        self.room.notify_all();
    }

    /// Blocks until submission `id` (already processed) is visible. With
    /// `prompt`, asks the refresher for an early refresh and reports the
    /// refresh's error; without, waits for the periodic refresh and lets a
    /// failed one be retried.
    pub(super) fn wait_visible(
        &self,
        id: u64,
        deadline: Option<Instant>,
        prompt: bool,
    ) -> Result<()> {
        let mut wait = VisibleWait::new(id, prompt);
        let mut progress = self.progress.lock();
        loop {
            if let Some(outcome) = self.check_visible(&mut progress, &mut wait) {
                return outcome;
            }
            match deadline {
                Some(deadline) if Instant::now() >= deadline => {
                    return Err(Error::Timeout("visibility"));
                }
                Some(deadline) => {
                    self.progressed.wait_until(&mut progress, deadline);
                }
                None => self.progressed.wait(&mut progress),
            }
        }
    }

    /// [`Shared::wait_visible`] for a future: ready with the outcome, or
    /// pending with the task's waker registered for the next progress.
    pub(super) fn poll_visible(
        &self,
        wait: &mut VisibleWait,
        cx: &mut Context<'_>,
    ) -> Poll<Result<()>> {
        let mut progress = self.progress.lock();
        match self.check_visible(&mut progress, wait) {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                if !progress.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    progress.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// One look at whether `wait` is over: `Some` with its outcome, or
    /// `None` to wait for more progress (having asked for a refresh if it
    /// prompts).
    fn check_visible(&self, progress: &mut Progress, wait: &mut VisibleWait) -> Option<Result<()>> {
        if progress.visible_through >= wait.id {
            return Some(Ok(()));
        }
        if let Some(asked) = wait.asked_at {
            if progress.last_completed_refresh > asked {
                // A refresh that started after we asked (so after our
                // batch was processed) has completed. Success covers
                // `id`, so it failed.
                if let Some(error) = &progress.last_refresh_error {
                    return Some(Err(error.clone()));
                }
                wait.asked_at = None;
            }
        }
        if progress.exited {
            return Some(Err(Error::Closed));
        }
        if wait.prompt && wait.asked_at.is_none() {
            wait.asked_at = Some(progress.refreshes_started);
            progress.refresh_wanted = true;
            // Full means a wake-up is already pending.
            let _ = self.wake.try_send(());
        }
        None
    }

    /// Wakes every visibility waiter, blocked or awaiting; `progress` is
    /// the locked progress that changed.
    pub(super) fn notify_progress(&self, progress: &mut Progress) {
        self.progressed.notify_all();
        for waker in progress.wakers.drain(..) {
            waker.wake();
        }
    }

    /// Blocks until the pipeline has stopped.
    pub(super) fn wait_exited(&self) {
        let mut progress = self.progress.lock();
        while !progress.exited {
            self.progressed.wait(&mut progress);
        }
    }

    /// A snapshot of queue gauges and flusher totals.
    pub(super) fn stats(&self) -> IngestStats {
        let (submissions, records, bytes, waiting) = {
            let queue = self.queue.lock();
            (
                queue.submissions,
                queue.records,
                queue.bytes,
                queue.waiters.len(),
            )
        };
        let mut stats = self.progress.lock().stats;
        stats.queued_submissions = submissions;
        stats.queued_records = records;
        stats.queued_bytes = bytes;
        stats.waiting_submitters = waiting;
        stats
    }
}
