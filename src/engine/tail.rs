//! [`Tail`]: the records a query selects, as they become searchable.
//!
//! A tail is a [`Subscriber`] of the engine's feed with a bounded queue of
//! its own: a reader that falls behind loses records (counted, and told as
//! [`TailEvent::Missed`]) rather than holding memory without bound or
//! slowing ingest down. Matching runs on the feed thread, with the
//! reference evaluator, so a tail selects exactly what a search would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use logingest_core::query::Query;
use logingest_core::{matches, Hit, Record};

use super::feed::Subscriber;

/// What a [`Tail`] yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TailEvent {
    /// A record the query selects, now searchable.
    Record(Hit),
    /// This many matching records were not delivered: the reader fell
    /// more than the tail's capacity behind, or the engine's tail memory
    /// was full (then the count is of all records skipped, matching or not).
    Missed(u64),
}

/// A live tail of an [`Engine`](crate::Engine): see [`Engine::tail`](crate::Engine::tail).
///
/// Dropping it ends the subscription. Reading blocks the calling thread;
/// in async code read it from a blocking task.
pub struct Tail {
    state: Arc<TailState>,
    query: String,
    events: mpsc::Receiver<TailEvent>,
}

/// What a [`Tail`] and its subscriber share. Not the sender: only the
/// subscriber holds it, so that the reader sees the end once the engine
/// (and with it the subscriber) is gone.
#[derive(Default)]
struct TailState {
    /// Losses not queued yet (the queue was full when they happened).
    missed: AtomicU64,
    closed: AtomicBool,
}

/// The subscriber side of a [`Tail`].
pub(crate) struct TailFeed {
    query: Query,
    events: mpsc::SyncSender<TailEvent>,
    state: Arc<TailState>,
}

impl Tail {
    /// A tail of `query` holding at most `capacity` undelivered events,
    /// and its subscriber for the feed.
    pub(crate) fn new(query: Query, capacity: usize) -> (Tail, Arc<TailFeed>) {
        let (sender, events) = mpsc::sync_channel(capacity.max(1));
        let state = Arc::new(TailState::default());
        let tail = Tail {
            state: Arc::clone(&state),
            query: query.to_string(),
            events,
        };
        let feed = Arc::new(TailFeed {
            query,
            events: sender,
            state,
        });
        (tail, feed)
    }

    /// The next event, waiting at most `timeout`; `None` if none came.
    pub fn next_timeout(&self, timeout: Duration) -> Option<TailEvent> {
        self.ready()
            .or_else(|| self.events.recv_timeout(timeout).ok())
            .or_else(|| self.take_missed())
    }

    /// The next event if one is ready.
    pub fn try_next(&self) -> Option<TailEvent> {
        self.ready()
    }

    /// What is queued, else a loss not yet queued (it came after
    /// everything queued: a record is queued only once the losses before
    /// it are).
    fn ready(&self) -> Option<TailEvent> {
        self.events.try_recv().ok().or_else(|| self.take_missed())
    }

    fn take_missed(&self) -> Option<TailEvent> {
        match self.state.missed.swap(0, Ordering::Relaxed) {
            0 => None,
            n => Some(TailEvent::Missed(n)),
        }
    }
}

impl Iterator for Tail {
    type Item = TailEvent;

    /// Blocks until the next event; `None` once the engine is gone.
    fn next(&mut self) -> Option<TailEvent> {
        self.ready().or_else(|| self.events.recv().ok())
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        self.state.closed.store(true, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl TailFeed {
    /// Queues `event` after any loss not queued yet, so that the reader
    /// learns of losses where they happened; if the queue is full, the
    /// event becomes part of the loss.
    fn send(&self, event: TailEvent) {
        let lost = |event: &TailEvent| match event {
            TailEvent::Missed(n) => *n,
            _ => 1,
        };
        let pending = self.state.missed.swap(0, Ordering::Relaxed);
        let event = match (pending, event) {
            (0, event) => event,
            (n, TailEvent::Missed(more)) => TailEvent::Missed(n + more),
            (n, event) => match self.events.try_send(TailEvent::Missed(n)) {
                Ok(()) => event,
                Err(mpsc::TrySendError::Full(_)) => {
                    self.state
                        .missed
                        .fetch_add(n + lost(&event), Ordering::Relaxed);
                    return;
                }
                Err(mpsc::TrySendError::Disconnected(_)) => {
                    self.state.closed.store(true, Ordering::Relaxed);
                    return;
                }
            },
        };
        match self.events.try_send(event) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(event)) => {
                self.state.missed.fetch_add(lost(&event), Ordering::Relaxed);
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                self.state.closed.store(true, Ordering::Relaxed);
            }
        }
    }
}

impl Subscriber for TailFeed {
    fn is_active(&self) -> bool {
        !self.is_closed()
    }

    fn publish(&self, first_seq: u64, records: &[Record]) {
        for (seq, record) in (first_seq..).zip(records) {
            if self.is_closed() {
                return;
            }
            if matches(&self.query, record) {
                let hit = Hit::new(seq, record.timestamp(), record.source().to_owned());
                self.send(TailEvent::Record(hit));
            }
        }
    }

    fn missed(&self, count: u64) {
        self.send(TailEvent::Missed(count));
    }

    fn is_closed(&self) -> bool {
        self.state.closed.load(Ordering::Relaxed)
    }
}
