//! The handle a caller waits on after submitting: [`Ticket`].
//!
//! Why a handle instead of a blocking `submit`: a server thread can accept a
//! request, hand it to the queue, and decide separately how strong an answer
//! it owes the client — accepted (return at once), durable
//! ([`Ticket::wait_durable`]), or searchable ([`Ticket::wait_visible`], like
//! Elasticsearch `refresh=wait_for`, but the refresher refreshes promptly
//! instead of waiting for the next periodic refresh).
//!
//! Each submission has a small shared slot (mutex + condvar) that the flusher
//! fills exactly once with the submission's outcome. The flusher's side is a
//! [`Completer`]; if it is dropped unfilled (the flusher thread died), the
//! slot is filled with [`Error::Closed`], so no waiter can hang on a lost
//! submission.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::backend::WriteAck;
use crate::error::{Error, Result, WriteError};

use super::state::{Shared, VisibleWait};

/// The outcome slot of one submission.
pub(super) struct TicketInner {
    /// Submission id: position in the queue, from 1; 0 for an empty submission.
    id: u64,
    /// Records in the submission.
    records: usize,
    slot: Mutex<Slot>,
    /// Signalled when the slot is filled.
    filled: Condvar,
}

/// The outcome, and the tasks awaiting it.
struct Slot {
    /// `None` until the flusher resolves the submission.
    outcome: Option<Result<WriteAck>>,
    wakers: Vec<Waker>,
}

impl TicketInner {
    fn new(id: u64, records: usize, outcome: Option<Result<WriteAck>>) -> Self {
        TicketInner {
            id,
            records,
            slot: Mutex::new(Slot {
                outcome,
                wakers: Vec::new(),
            }),
            filled: Condvar::new(),
        }
    }

    /// Blocks until resolved or `deadline`; `None` on timeout.
    pub(super) fn wait(&self, deadline: Option<Instant>) -> Option<Result<WriteAck>> {
        let mut slot = self.slot.lock();
        loop {
            if let Some(outcome) = slot.outcome.as_ref() {
                return Some(outcome.clone());
            }
            match deadline {
                Some(deadline) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    self.filled.wait_until(&mut slot, deadline);
                }
                None => self.filled.wait(&mut slot),
            }
        }
    }

    /// The outcome, or pending with the task's waker registered.
    pub(super) fn poll(&self, cx: &mut Context<'_>) -> Poll<Result<WriteAck>> {
        let mut slot = self.slot.lock();
        match slot.outcome.as_ref() {
            Some(outcome) => Poll::Ready(outcome.clone()),
            None => {
                if !slot.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    slot.wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// The submission id.
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    fn fill(&self, outcome: Result<WriteAck>) {
        let mut slot = self.slot.lock();
        if slot.outcome.is_none() {
            slot.outcome = Some(outcome);
            self.filled.notify_all();
            for waker in slot.wakers.drain(..) {
                waker.wake();
            }
        }
    }
}

/// The flusher's side of a ticket: resolves it exactly once.
pub(super) struct Completer {
    inner: Option<Arc<TicketInner>>,
}

impl Completer {
    /// Resolves the ticket with `outcome`.
    pub(super) fn complete(mut self, outcome: Result<WriteAck>) {
        if let Some(inner) = self.inner.take() {
            inner.fill(outcome);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.fill(Err(Error::Closed));
        }
    }
}

/// A pending ticket for submission `id` of `records` records, and its completer.
pub(super) fn pending(id: u64, records: usize, shared: Arc<Shared>) -> (Ticket, Completer) {
    let inner = Arc::new(TicketInner::new(id, records, None));
    let completer = Completer {
        inner: Some(Arc::clone(&inner)),
    };
    (
        Ticket {
            inner,
            shared: Some(shared),
        },
        completer,
    )
}

/// The acknowledgement handle of one submission.
///
/// Clones wait on the same submission. Dropping every clone does not cancel
/// the submission, and a `*_timeout` that expires only stops *waiting*: the
/// records stay queued and may still be committed.
#[derive(Clone)]
pub struct Ticket {
    inner: Arc<TicketInner>,
    /// `None` for an empty submission, which needs no flusher.
    shared: Option<Arc<Shared>>,
}

impl Ticket {
    /// The ticket of an empty submission: durable and visible from the start,
    /// with `WriteAck { first_seq: 0, len: 0 }`.
    pub(super) fn empty() -> Self {
        Ticket {
            inner: Arc::new(TicketInner::new(0, 0, Some(Ok(WriteAck::new(0, 0))))),
            shared: None,
        }
    }

    /// The shared slot, for `Ingester::flush`.
    pub(super) fn inner(&self) -> &Arc<TicketInner> {
        &self.inner
    }

    /// Number of records in the submission.
    pub fn records(&self) -> usize {
        self.inner.records
    }

    /// Whether the backend has committed this submission (without waiting).
    pub fn is_durable(&self) -> bool {
        matches!(self.inner.slot.lock().outcome, Some(Ok(_)))
    }

    /// Blocks until the batch holding this submission is committed or failed.
    ///
    /// `Ok` carries this submission's own sequence numbers:
    /// `first_seq .. first_seq + len` with `len` = its record count, in
    /// submission order. `Err` is the batch's error (every submission of a
    /// failed batch gets the same one; none of its records were stored), or
    /// [`Error::Closed`] if the ingester's flusher died before writing it.
    pub fn wait_durable(&self) -> Result<WriteAck, WriteError> {
        Ok(self.wait_durable_until(None)?)
    }

    /// [`Ticket::wait_durable`], giving up after `timeout` (wall time) with
    /// `Error::Timeout("durability")`.
    pub fn wait_durable_timeout(&self, timeout: Duration) -> Result<WriteAck, WriteError> {
        Ok(self.wait_durable_until(Instant::now().checked_add(timeout))?)
    }

    /// Blocks until this submission is durable *and* a backend refresh that
    /// started after its commit has completed, so searches that start after
    /// this returns see it.
    ///
    /// Asks the refresher to refresh now rather than at the next
    /// `refresh_interval`. Errors: the batch's error (as
    /// [`Ticket::wait_durable`]), or the refresh's error — the records are
    /// durable then, and a later call asks for a new refresh.
    pub fn wait_visible(&self) -> Result<(), WriteError> {
        Ok(self.wait_visible_until(None)?)
    }

    /// [`Ticket::wait_visible`], giving up after `timeout` (wall time, both
    /// phases together) with `Error::Timeout("durability")` or
    /// `Error::Timeout("visibility")`.
    pub fn wait_visible_timeout(&self, timeout: Duration) -> Result<(), WriteError> {
        Ok(self.wait_visible_until(Instant::now().checked_add(timeout))?)
    }

    /// Blocks until this submission is visible through the ingester's
    /// *periodic* refresh, without asking for an early one: for observers
    /// such as live tail, which must not turn every request into a refresh.
    /// A failed periodic refresh is retried by the refresher; this keeps
    /// waiting. Errors: the batch's error, or `Closed`.
    pub fn wait_visible_passive(&self) -> Result<(), WriteError> {
        self.wait_durable_until(None)?;
        match &self.shared {
            Some(shared) => Ok(shared.wait_visible(self.inner.id, None, false)?),
            None => Ok(()),
        }
    }

    /// [`Ticket::wait_durable`] without blocking a thread: resolves when
    /// the batch holding this submission is committed or failed. Bound the
    /// wait with the runtime's timeout (`tokio::time::timeout`); dropping
    /// the future only stops waiting.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use logingest_core::ingest::{IngestConfig, Ingester};
    /// # use logingest_core::{parse_records, MemoryBackend, ParseOptions};
    /// # let ingester = Ingester::start(Arc::new(MemoryBackend::new()), IngestConfig::default())?;
    /// let records = parse_records(br#"{"message":"hello"}"#, &ParseOptions::default())?;
    /// let ticket = ingester.submit(records)?;
    /// let ack = pollster::block_on(ticket.durable())?; // `.await` in async code
    /// assert_eq!(ack.len, 1);
    /// # Ok::<(), logingest_core::Error>(())
    /// ```
    pub async fn durable(&self) -> Result<WriteAck, WriteError> {
        Ok(std::future::poll_fn(|cx| self.inner.poll(cx)).await?)
    }

    /// [`Ticket::wait_visible`] without blocking a thread: resolves when
    /// this submission is durable and a refresh that started after its
    /// commit has completed (asking for one now).
    pub async fn visible(&self) -> Result<(), WriteError> {
        self.visible_with(true).await
    }

    /// [`Ticket::wait_visible_passive`] without blocking a thread: waits
    /// for the periodic refresh, without asking for an early one.
    pub async fn visible_passive(&self) -> Result<(), WriteError> {
        self.visible_with(false).await
    }

    async fn visible_with(&self, prompt: bool) -> Result<(), WriteError> {
        self.durable().await?;
        match &self.shared {
            Some(shared) => {
                let mut wait = VisibleWait::new(self.inner.id, prompt);
                Ok(std::future::poll_fn(|cx| shared.poll_visible(&mut wait, cx)).await?)
            }
            None => Ok(()),
        }
    }

    fn wait_durable_until(&self, deadline: Option<Instant>) -> Result<WriteAck> {
        self.inner
            .wait(deadline)
            .unwrap_or(Err(Error::Timeout("durability")))
    }

    fn wait_visible_until(&self, deadline: Option<Instant>) -> Result<()> {
        self.wait_durable_until(deadline)?;
        match &self.shared {
            Some(shared) => shared.wait_visible(self.inner.id, deadline, true),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticket")
            .field("id", &self.inner.id)
            .field("records", &self.inner.records)
            .field("outcome", &self.inner.slot.lock().outcome)
            .finish()
    }
}
