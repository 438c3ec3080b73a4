//! The feed of searchable records: what live tail is built on.
//!
//! A record may be shown to a tailing client only once a search could find
//! it too, so the feed publishes a submission when its ticket is visible,
//! not when it is queued. One thread waits for the submissions in turn
//! (visibility advances in submission order, so by the time it waits for
//! one, those before it are usually visible already) and hands each to
//! every [`Subscriber`].
//!
//! Copies are made only while some subscriber is active, and what waits
//! for visibility is bounded in bytes (`EngineBuilder::tail_memory_bytes`):
//! a submission that does not fit is not copied, and subscribers are told
//! how many records they missed instead. So an engine nobody tails pays
//! nothing, and one whose subscribers are slow never holds more than the
//! budget on their behalf.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use logingest_core::ingest::{Ingester, Ticket};
use logingest_core::{IngestError, Record};

/// Receives the records of each submission once they are searchable.
///
/// [`Engine::tail`](crate::Engine::tail) is one; a server's fan-out to
/// many clients (with budgets of its own) is another. Calls come from the
/// engine's feed thread, in submission order: keep them short (hand the
/// records on, do not block on a client).
pub trait Subscriber: Send + Sync {
    /// Whether it wants records now; the engine copies a submission's
    /// records only if some subscriber does.
    fn is_active(&self) -> bool;

    /// The records of one submission, now searchable; the first has
    /// sequence number `first_seq`, the others follow it.
    fn publish(&self, first_seq: u64, records: &[Record]);

    /// `count` records became searchable that this subscriber will not be
    /// given (they did not fit in the engine's tail memory).
    fn missed(&self, count: u64);

    /// Whether it is gone for good; the feed then forgets it.
    fn is_closed(&self) -> bool {
        false
    }
}

/// What waits for a ticket to become visible.
enum Pending {
    /// A copy of the submission's records and the bytes reserved for it.
    Copy(Vec<Record>, usize),
    /// A submission not copied for lack of room: this many records.
    Skipped(u64),
}

/// The subscribers and the thread publishing to them.
pub(crate) struct Feed {
    shared: Arc<Shared>,
    /// Submissions in the order the ingester admitted them (sent from
    /// `Ingester::submit_with`'s hook, which runs in ticket order).
    order: mpsc::Sender<(Ticket, Pending)>,
}

struct Shared {
    subscribers: Mutex<Vec<Arc<dyn Subscriber>>>,
    budget: usize,
    used: AtomicUsize,
    skipped: AtomicU64,
}

impl Shared {
    fn subscribers(&self) -> Vec<Arc<dyn Subscriber>> {
        let mut list = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        list.retain(|s| !s.is_closed());
        list.clone()
    }
}

impl Feed {
    /// A feed holding at most `budget` bytes of copies, with its thread.
    pub(crate) fn start(budget: usize) -> std::io::Result<Feed> {
        let shared = Arc::new(Shared {
            subscribers: Mutex::new(Vec::new()),
            budget,
            used: AtomicUsize::new(0),
            skipped: AtomicU64::new(0),
        });
        let (sender, waiting) = mpsc::channel::<(Ticket, Pending)>();
        let publisher = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("logingest-feed".into())
            .spawn(move || {
                for (ticket, pending) in waiting {
                    publisher.deliver(&ticket, pending);
                }
            })?;
        Ok(Feed {
            shared,
            order: sender,
        })
    }

    /// Adds a subscriber; it gets submissions queued from now on.
    pub(crate) fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(subscriber);
    }

    /// Whether some subscriber wants records.
    pub(crate) fn is_active(&self) -> bool {
        // On every ingest: look under the lock, without copying the list.
        let mut list = self
            .shared
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        list.retain(|s| !s.is_closed());
        list.iter().any(|s| s.is_active())
    }

    /// Bytes of copies waiting for visibility, and the most there may be.
    pub(crate) fn memory(&self) -> (usize, usize) {
        (self.shared.used.load(Ordering::Relaxed), self.shared.budget)
    }

    /// Records not copied for lack of room, since the start.
    pub(crate) fn skipped(&self) -> u64 {
        self.shared.skipped.load(Ordering::Relaxed)
    }

    /// Submits `records` to `ingester` and, if anyone listens, queues a
    /// copy to publish once the submission is visible.
    pub(crate) fn submit(
        &self,
        records: Vec<Record>,
        ingester: &Ingester,
    ) -> Result<Ticket, IngestError> {
        if !self.is_active() {
            return ingester.submit(records);
        }
        let count = records.len() as u64;
        let bytes: usize = records.iter().map(Record::memory).sum();
        let mut pending = Some(if self.reserve(bytes) {
            Pending::Copy(records.clone(), bytes)
        } else {
            self.shared.skipped.fetch_add(count, Ordering::Relaxed);
            Pending::Skipped(count)
        });
        let result = ingester.submit_with(records, |ticket| {
            if let Some(p) = pending.take() {
                // Gone only when the feed's thread is: then given back below.
                if let Err(mpsc::SendError((_, p))) = self.order.send((ticket.clone(), p)) {
                    pending = Some(p);
                }
            }
        });
        // Not submitted, or the feed's thread is gone: give back what was
        // reserved or counted for it.
        match pending {
            Some(Pending::Copy(_, bytes)) => {
                self.shared.used.fetch_sub(bytes, Ordering::Relaxed);
            }
            Some(Pending::Skipped(count)) => {
                self.shared.skipped.fetch_sub(count, Ordering::Relaxed);
            }
            None => {}
        }
        result
    }

    /// Reserves `bytes` of the budget if they fit.
    fn reserve(&self, bytes: usize) -> bool {
        let used = &self.shared.used;
        let mut current = used.load(Ordering::Relaxed);
        loop {
            let Some(next) = current
                .checked_add(bytes)
                .filter(|n| *n <= self.shared.budget)
            else {
                return false;
            };
            match used.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }
}

impl Shared {
    /// Waits until `ticket` is visible and hands `pending` to every
    /// subscriber. A submission that failed is never published.
    fn deliver(&self, ticket: &Ticket, pending: Pending) {
        let published = ticket
            .wait_visible_passive()
            .and_then(|()| ticket.wait_durable());
        match pending {
            Pending::Copy(records, bytes) => {
                if let Ok(ack) = published {
                    self.each(|s| s.publish(ack.first_seq, &records));
                }
                drop(records);
                self.used.fetch_sub(bytes, Ordering::Relaxed);
            }
            Pending::Skipped(count) => {
                if published.is_ok() {
                    self.each(|s| s.missed(count));
                }
            }
        }
    }

    /// Calls `f` on every subscriber. A subscriber that panics is dropped
    /// from the list (the others, and the feed, go on).
    fn each(&self, f: impl Fn(&dyn Subscriber)) {
        let mut failed = Vec::new();
        for subscriber in self.subscribers() {
            let call = std::panic::AssertUnwindSafe(|| f(subscriber.as_ref()));
            if std::panic::catch_unwind(call).is_err() {
                failed.push(subscriber);
            }
        }
        if !failed.is_empty() {
            self.subscribers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|s| !failed.iter().any(|f| Arc::ptr_eq(f, s)));
        }
    }
}
