//! [`Handoff`]: the byte-budgeted queue between a backend's `write_batch`
//! and its indexing thread.
//!
//! Both backends acknowledge a batch when their system of record committed
//! it and index it afterwards, on a thread of their own, so that an
//! acknowledgement never waits for the search index. What sits in between
//! (tantivy documents, `_bulk` bodies) must not grow without bound when the
//! index is slower than the store: past its budget, [`Handoff::push`] waits
//! for the indexing thread. That slows the flusher, fills the ingest queue
//! and reaches clients as 429/503, instead of memory growing with the
//! backlog. Nothing is lost by bounding it: every queued batch is already
//! in the system of record, from which a backend re-indexes after a crash.
//!
//! Memory held is the budget plus what the indexing thread took last (one
//! [`Handoff::take`]); one batch larger than the whole budget is admitted
//! into an empty queue, so a batch never waits forever.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A FIFO queue of batches with a byte budget. Share it in an `Arc`.
#[derive(Debug)]
pub struct Handoff<T> {
    state: Mutex<State<T>>,
    changed: Condvar,
    budget: usize,
}

#[derive(Debug)]
struct State<T> {
    batches: VecDeque<(T, usize)>,
    bytes: usize,
    closed: bool,
}

/// What [`Handoff::wait_timeout`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// A batch is queued.
    Ready,
    /// The timeout passed with nothing queued.
    TimedOut,
    /// The queue was closed; batches may still be queued.
    Closed,
}

impl<T> Handoff<T> {
    /// An empty queue holding at most `budget` bytes of batches (one batch
    /// is always admitted into an empty queue, whatever its size).
    pub fn new(budget: usize) -> Self {
        Handoff {
            state: Mutex::new(State {
                batches: VecDeque::new(),
                bytes: 0,
                closed: false,
            }),
            changed: Condvar::new(),
            budget,
        }
    }

    /// The byte budget.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Queues `batch` of `bytes` (estimated memory), first waiting while the
    /// queue is non-empty and `bytes` more would exceed the budget. After
    /// [`Handoff::close`] it no longer waits.
    pub fn push(&self, batch: T, bytes: usize) {
        let mut state = self.state.lock();
        while !state.batches.is_empty() && state.bytes + bytes > self.budget && !state.closed {
            self.changed.wait(&mut state);
        }
        state.bytes += bytes;
        state.batches.push_back((batch, bytes));
        self.changed.notify_all();
    }

    /// Takes the oldest batch, if any.
    pub fn pop(&self) -> Option<T> {
        self.take(0).pop()
    }

    /// Takes the oldest batches while together they hold at most `bytes`;
    /// always the oldest one if any is queued. Empty if none is.
    pub fn take(&self, bytes: usize) -> Vec<T> {
        let mut state = self.state.lock();
        let mut taken = Vec::new();
        let mut size = 0;
        while let Some(&(_, next)) = state.batches.front() {
            if !taken.is_empty() && size + next > bytes {
                break;
            }
            let (batch, next) = state.batches.pop_front().expect("a front batch");
            state.bytes -= next;
            size += next;
            taken.push(batch);
        }
        if !taken.is_empty() {
            self.changed.notify_all();
        }
        taken
    }

    /// Waits until a batch is queued (true) or the queue is closed (false).
    pub fn wait(&self) -> bool {
        let mut state = self.state.lock();
        while state.batches.is_empty() && !state.closed {
            self.changed.wait(&mut state);
        }
        !state.closed
    }

    /// Waits up to `timeout` for a batch or for the queue to close.
    pub fn wait_timeout(&self, timeout: Duration) -> Waited {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        loop {
            if state.closed {
                return Waited::Closed;
            }
            if !state.batches.is_empty() {
                return Waited::Ready;
            }
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return if state.closed {
                    Waited::Closed
                } else if state.batches.is_empty() {
                    Waited::TimedOut
                } else {
                    Waited::Ready
                };
            }
        }
    }

    /// Marks the queue closed: waiting ends (for good), pushing no longer
    /// waits, taking keeps working.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.changed.notify_all();
    }

    /// Drops every queued batch (a backend re-reads them from its store).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.batches.clear();
        state.bytes = 0;
        self.changed.notify_all();
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.state.lock().batches.is_empty()
    }

    /// Bytes queued now.
    pub fn bytes(&self) -> usize {
        self.state.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn pops_in_order_and_counts_bytes() {
        let queue = Handoff::new(100);
        queue.push(1, 10);
        queue.push(11, 20);
        assert_eq!(queue.bytes(), 30);
        assert_eq!(queue.pop(), Some(1));
        assert_eq!(queue.pop(), Some(11));
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.bytes(), 0);
        assert!(queue.is_empty());
    }

    #[test]
    fn push_waits_past_the_budget_until_a_take() {
        let queue = Arc::new(Handoff::new(100));
        queue.push(1, 80);
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || queue.push(2, 80))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(queue.bytes(), 80, "over budget: the second push waits");
        assert_eq!(queue.pop(), Some(1));
        pusher.join().unwrap();
        assert_eq!(queue.pop(), Some(2));
    }

    #[test]
    fn an_oversized_batch_is_admitted_into_an_empty_queue() {
        let queue = Handoff::new(10);
        queue.push("large", 1_000);
        assert_eq!(queue.take(10), vec!["large"]);
    }

    #[test]
    fn take_stops_before_the_byte_limit_but_takes_at_least_one() {
        let queue = Handoff::new(1_000);
        for (batch, bytes) in [(1, 40), (2, 40), (3, 40), (4, 500)] {
            queue.push(batch, bytes);
        }
        assert_eq!(queue.take(100), vec![1, 2]);
        assert_eq!(queue.take(10), vec![3]);
        assert_eq!(queue.take(10), vec![4]);
        assert!(queue.take(10).is_empty());
    }

    #[test]
    fn close_ends_waiting_and_pushing_waits_no_more() {
        let queue = Handoff::new(10);
        queue.push(1, 10);
        assert!(queue.wait());
        assert_eq!(queue.wait_timeout(Duration::ZERO), Waited::Ready);
        queue.close();
        assert!(!queue.wait());
        assert_eq!(queue.wait_timeout(Duration::from_secs(60)), Waited::Closed);
        queue.push(2, 10);
        assert_eq!(queue.take(100), vec![1, 2]);
    }

    #[test]
    fn wait_timeout_times_out_on_an_empty_queue_and_wakes_on_push() {
        let queue = Arc::new(Handoff::new(10));
        assert_eq!(
            queue.wait_timeout(Duration::from_millis(10)),
            Waited::TimedOut
        );
        let pusher = {
            let queue = Arc::clone(&queue);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                queue.push(1, 1);
            })
        };
        assert_eq!(queue.wait_timeout(Duration::from_secs(60)), Waited::Ready);
        pusher.join().unwrap();
    }
}
