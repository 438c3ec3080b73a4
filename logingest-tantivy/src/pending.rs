//! Documents of acknowledged batches that tantivy's writer has not taken yet.
//!
//! Why a queue of our own: a batch is acknowledged when SQLite committed it.
//! Handing its documents to tantivy's writer in the same call made every
//! acknowledgement wait for the writer, whose own queue is bounded and which
//! stops taking documents while a commit serialises its segment (100 ms and
//! more under load). Now `write_batch` commits in SQLite, pushes the
//! batch's documents here and returns; the indexing thread feeds them to the
//! writer in sequence order, and a tantivy commit first takes whatever is
//! still queued, so `refresh` keeps its meaning (everything acknowledged
//! before it is searchable after it).
//!
//! The queue has a byte budget: past it, `push` waits for the indexing
//! thread, which slows the ingester and, through its bounded channel, turns
//! into 429/503 at the HTTP edge instead of unbounded memory. A crash loses
//! nothing: whatever the last tantivy commit does not hold is indexed again
//! from SQLite on open.

use std::collections::VecDeque;

use parking_lot::{Condvar, Mutex};
use tantivy::TantivyDocument;

/// Documents of one acknowledged batch, sequence numbers `first_seq..`.
pub(crate) struct Batch {
    pub first_seq: u64,
    pub docs: Vec<TantivyDocument>,
    /// Estimated memory of `docs`, counted against the budget.
    pub bytes: usize,
}

/// The queue between `write_batch` and the indexing thread.
pub(crate) struct Pending {
    state: Mutex<State>,
    changed: Condvar,
    budget: usize,
}

#[derive(Default)]
struct State {
    batches: VecDeque<Batch>,
    bytes: usize,
    closed: bool,
}

impl Pending {
    /// An empty queue holding at most `budget` bytes of documents (one batch
    /// is always admitted, whatever its size).
    pub(crate) fn new(budget: usize) -> Self {
        Pending {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            budget,
        }
    }

    /// Queues `batch`, first waiting while the queue is over its budget.
    pub(crate) fn push(&self, batch: Batch) {
        let mut state = self.state.lock();
        while !state.batches.is_empty() && state.bytes + batch.bytes > self.budget && !state.closed
        {
            self.changed.wait(&mut state);
        }
        state.bytes += batch.bytes;
        state.batches.push_back(batch);
        self.changed.notify_all();
    }

    /// Takes the oldest batch, if any.
    pub(crate) fn pop(&self) -> Option<Batch> {
        let mut state = self.state.lock();
        let batch = state.batches.pop_front()?;
        state.bytes -= batch.bytes;
        self.changed.notify_all();
        Some(batch)
    }

    /// Waits until a batch is queued (true) or the queue is closed (false).
    pub(crate) fn wait(&self) -> bool {
        let mut state = self.state.lock();
        while state.batches.is_empty() && !state.closed {
            self.changed.wait(&mut state);
        }
        !state.closed
    }

    /// Wakes the indexing thread for good; `pop` keeps working.
    pub(crate) fn close(&self) {
        self.state.lock().closed = true;
        self.changed.notify_all();
    }

    /// Drops every queued batch (recovery re-reads them from SQLite).
    pub(crate) fn clear(&self) {
        let mut state = self.state.lock();
        state.batches.clear();
        state.bytes = 0;
        self.changed.notify_all();
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.state.lock().batches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    fn batch(first_seq: u64, bytes: usize) -> Batch {
        Batch {
            first_seq,
            docs: Vec::new(),
            bytes,
        }
    }

    #[test]
    fn pops_in_order_and_counts_bytes() {
        let pending = Pending::new(100);
        pending.push(batch(1, 10));
        pending.push(batch(11, 20));
        assert!(!pending.is_empty());
        assert_eq!(pending.pop().map(|b| b.first_seq), Some(1));
        assert_eq!(pending.pop().map(|b| b.first_seq), Some(11));
        assert!(pending.pop().is_none());
        assert_eq!(pending.state.lock().bytes, 0);
    }

    #[test]
    fn push_waits_past_the_budget_until_a_pop() {
        let pending = Arc::new(Pending::new(100));
        pending.push(batch(1, 80));
        let pusher = {
            let pending = Arc::clone(&pending);
            std::thread::spawn(move || pending.push(batch(2, 80)))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(pending.state.lock().batches.len(), 1, "over budget: waits");
        assert_eq!(pending.pop().map(|b| b.first_seq), Some(1));
        pusher.join().unwrap();
        assert_eq!(pending.pop().map(|b| b.first_seq), Some(2));
    }

    #[test]
    fn an_oversized_batch_is_admitted_into_an_empty_queue() {
        let pending = Pending::new(10);
        pending.push(batch(1, 1_000));
        assert_eq!(pending.pop().map(|b| b.bytes), Some(1_000));
    }

    #[test]
    fn close_ends_waiting_but_keeps_batches() {
        let pending = Pending::new(100);
        pending.push(batch(1, 1));
        assert!(pending.wait());
        pending.close();
        assert!(!pending.wait());
        assert_eq!(pending.pop().map(|b| b.first_seq), Some(1));
    }
}
