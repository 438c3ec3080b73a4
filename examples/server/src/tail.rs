//! Publishing records to live-tail subscribers once they are visible,
//! within a byte budget.
//!
//! Records may be published only after the periodic refresh made them
//! searchable. The engine's feed waits for that ([`logingest::Subscriber`]),
//! for every submission however it came in (HTTP, or a program's own
//! `Engine::ingest`), and calls the hub, which makes the copies.
//!
//! Memory: every copy of records made for live tail is a [`Batch`] whose
//! memory is reserved from the tail budget (`--tail-memory-bytes`) when it
//! is made and given back when the last subscriber is done with it. The
//! hub keeps published batches in one backlog shared by all subscribers,
//! each reading it at its own position; batches every subscriber has read
//! leave it at once. When a new batch does not fit in the budget, the
//! oldest batches leave the backlog, and subscribers that had not read
//! them are told how many records they missed; if it still does not fit
//! (subscribers hold the rest), the new records are skipped and counted
//! as missed the same way. So a client that never reads pins at most the
//! budget, whatever it and the others do, and a fast subscriber loses
//! records only when the budget is used by batches it has not read yet or
//! by slow readers. A request's records are cut into batches of at most
//! [`BATCH_BYTES`], so a subscriber holds little outside the backlog.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use logingest::{Record, Subscriber};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::budget::{Budget, Reservation};

/// Most memory of one batch: a request's records are published in batches
/// of up to this much (or one record, if larger).
pub const BATCH_BYTES: usize = 1 << 20;

/// Records published together, with their memory reserved.
pub struct Batch {
    records: Vec<Record>,
    _memory: Reservation,
}

impl Batch {
    /// The records, in ingest order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
}

/// Where a subscriber is in the stream of published batches.
#[derive(Debug, Clone, Copy, Default)]
struct Position {
    /// Number of the next batch.
    batch: u64,
    /// Records published before it.
    records: u64,
}

struct Backlog {
    /// Published batches some subscriber has not read, oldest first.
    batches: VecDeque<(Position, Arc<Batch>)>,
    /// Position of the next batch to publish.
    next: Position,
    /// Each subscriber's next batch number.
    readers: HashMap<u64, u64>,
    next_reader: u64,
}

impl Backlog {
    /// Drops batches every subscriber has read.
    fn forget_read(&mut self) {
        let oldest_unread = self
            .readers
            .values()
            .min()
            .copied()
            .unwrap_or(self.next.batch);
        while self
            .batches
            .front()
            .is_some_and(|(at, _)| at.batch < oldest_unread)
        {
            self.batches.pop_front();
        }
    }
}

struct Hub {
    budget: Budget,
    backlog: Mutex<Backlog>,
    /// The next batch number, sent on every publish.
    published: watch::Sender<u64>,
}

/// What is published: records, or records skipped for lack of room (still
/// counted, so subscribers learn they missed them).
enum Pending {
    Batch(Arc<Batch>),
    Skipped(u64),
}

/// The live-tail fan-out: a [`Subscriber`] of the engine's feed, which
/// calls it once a submission is visible.
#[derive(Clone)]
pub struct TailHub {
    hub: Arc<Hub>,
}

impl TailHub {
    /// A hub with a budget of `budget_bytes`; give it to
    /// [`logingest::Engine::subscribe`] to feed it.
    pub fn new(budget_bytes: usize) -> Self {
        let hub = Arc::new(Hub {
            budget: Budget::new("live-tail memory", "--tail-memory-bytes", budget_bytes),
            backlog: Mutex::new(Backlog {
                batches: VecDeque::new(),
                next: Position::default(),
                readers: HashMap::new(),
                next_reader: 0,
            }),
            published: watch::channel(0).0,
        });
        TailHub { hub }
    }

    /// The budget of live-tail memory.
    pub fn budget(&self) -> &Budget {
        &self.hub.budget
    }

    /// Whether anyone is tailing (records are copied for tail only then).
    pub fn has_subscribers(&self) -> bool {
        !self.hub.backlog.lock().readers.is_empty()
    }

    /// A new subscription to records as they become visible.
    pub fn subscribe(&self) -> Subscription {
        let mut backlog = self.hub.backlog.lock();
        let id = backlog.next_reader;
        backlog.next_reader += 1;
        let at = backlog.next;
        backlog.readers.insert(id, at.batch);
        Subscription {
            hub: Arc::clone(&self.hub),
            id,
            at,
            published: self.hub.published.subscribe(),
        }
    }

    /// A copy of `records` for live tail, in batches that fit the budget
    /// (records that do not fit are only counted, as missed).
    fn copy(&self, records: &[Record]) -> Vec<Pending> {
        chunks(records)
            .map(|chunk| match self.hub.reserve(chunk) {
                Some(memory) => Pending::Batch(Arc::new(Batch {
                    records: chunk.to_vec(),
                    _memory: memory,
                })),
                None => Pending::Skipped(chunk.len() as u64),
            })
            .collect()
    }
}

impl Subscriber for TailHub {
    fn is_active(&self) -> bool {
        self.has_subscribers()
    }

    fn publish(&self, _first_seq: u64, records: &[Record]) {
        // New subscribers start at the next batch: with none now, there
        // is nobody to publish to.
        if self.has_subscribers() {
            self.hub.publish(self.copy(records));
        }
    }

    fn missed(&self, count: u64) {
        self.hub.publish(vec![Pending::Skipped(count)]);
    }
}

/// `records` cut into runs of at most [`BATCH_BYTES`] of memory (at least
/// one record each).
fn chunks(records: &[Record]) -> impl Iterator<Item = &[Record]> {
    let mut rest = records;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0;
        let end = rest
            .iter()
            .position(|r| {
                bytes += r.memory();
                bytes > BATCH_BYTES
            })
            .map_or(rest.len(), |i| i.max(1));
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

impl Hub {
    /// Memory for a copy of `records`, making room by dropping the oldest
    /// published batches if needed; `None` when subscribers hold the rest.
    fn reserve(&self, records: &[Record]) -> Option<Reservation> {
        let bytes = size_of::<Batch>() + records.iter().map(Record::memory).sum::<usize>();
        loop {
            let mut memory = self.budget.none();
            if self.budget.try_grow(&mut memory, bytes).is_ok() {
                return Some(memory);
            }
            // Dropped outside the lock; subscribers find the gap.
            let evicted = self.backlog.lock().batches.pop_front()?;
            drop(evicted);
        }
    }

    fn publish(&self, batches: Vec<Pending>) {
        let next = {
            let mut backlog = self.backlog.lock();
            for pending in batches {
                let at = backlog.next;
                let records = match pending {
                    Pending::Batch(batch) => {
                        let records = batch.records.len() as u64;
                        backlog.batches.push_back((at, batch));
                        records
                    }
                    Pending::Skipped(records) => records,
                };
                backlog.next = Position {
                    batch: at.batch + 1,
                    records: at.records + records,
                };
            }
            backlog.forget_read();
            backlog.next.batch
        };
        self.published.send_replace(next);
    }
}

/// What a subscriber gets next.
pub enum Next {
    /// A batch of records.
    Batch(Arc<Batch>),
    /// This many records were published that the subscriber will not get.
    Missed(u64),
}

/// One subscriber's place in the stream of batches.
pub struct Subscription {
    hub: Arc<Hub>,
    id: u64,
    at: Position,
    published: watch::Receiver<u64>,
}

impl Subscription {
    /// The next batch, or the records missed since the last one; waits for
    /// one to be published.
    pub async fn next(&mut self) -> Next {
        loop {
            self.published.borrow_and_update();
            if let Some(next) = self.take() {
                return next;
            }
            if self.published.changed().await.is_err() {
                // The hub is gone (shutdown): nothing more will come.
                std::future::pending::<()>().await;
            }
        }
    }

    fn take(&mut self) -> Option<Next> {
        let mut backlog = self.hub.backlog.lock();
        // The first batch kept at or after ours; numbers have gaps where
        // records were skipped or batches dropped.
        let found = backlog
            .batches
            .partition_point(|(at, _)| at.batch < self.at.batch);
        let (target, batch) = match backlog.batches.get(found) {
            Some((at, batch)) => (*at, Some(Arc::clone(batch))),
            None => (backlog.next, None),
        };
        let next = if target.batch > self.at.batch {
            let missed = target.records - self.at.records;
            self.at = target;
            Next::Missed(missed)
        } else if let Some(batch) = batch {
            self.at = Position {
                batch: target.batch + 1,
                records: target.records + batch.records.len() as u64,
            };
            Next::Batch(batch)
        } else {
            return None;
        };
        backlog.readers.insert(self.id, self.at.batch);
        backlog.forget_read();
        Some(next)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut backlog = self.hub.backlog.lock();
        backlog.readers.remove(&self.id);
        backlog.forget_read();
    }
}

#[cfg(test)]
mod tests {
    use logingest::{parse_records, ParseOptions};

    use super::*;

    fn records(label: &str, n: usize) -> Vec<Record> {
        let body: String = (0..n)
            .map(|i| format!("{{\"message\":\"{label} {i}\"}}\n"))
            .collect();
        parse_records(body.as_bytes(), &ParseOptions::default()).unwrap()
    }

    fn memory(records: &[Record]) -> usize {
        size_of::<Batch>() + records.iter().map(Record::memory).sum::<usize>()
    }

    /// Publishes as the engine's feed does once a submission is visible.
    fn publish(tail: &TailHub, records: &[Record]) {
        Subscriber::publish(tail, 1, records);
    }

    fn next(subscription: &mut Subscription) -> Option<String> {
        subscription.take().map(|next| match next {
            Next::Batch(batch) => format!("{} records", batch.records().len()),
            Next::Missed(n) => format!("missed {n}"),
        })
    }

    #[test]
    fn subscribers_read_in_order_and_read_batches_leave_the_backlog() {
        let tail = TailHub::new(1 << 20);
        let mut first = tail.subscribe();
        let mut second = tail.subscribe();
        publish(&tail, &records("a", 3));
        publish(&tail, &records("b", 2));
        assert_eq!(next(&mut first).as_deref(), Some("3 records"));
        assert_eq!(next(&mut first).as_deref(), Some("2 records"));
        assert_eq!(next(&mut first), None);
        assert_eq!(
            tail.hub.backlog.lock().batches.len(),
            2,
            "second has not read"
        );
        assert_eq!(next(&mut second).as_deref(), Some("3 records"));
        assert_eq!(tail.hub.backlog.lock().batches.len(), 1);
        drop(second);
        assert!(tail.hub.backlog.lock().batches.is_empty());
        assert_eq!(tail.budget().used(), 0);
    }

    #[test]
    fn the_oldest_batches_make_room_and_their_readers_are_told() {
        let batch = records("a", 10);
        let tail = TailHub::new(memory(&batch) * 2 + 100);
        let mut slow = tail.subscribe();
        publish(&tail, &batch);
        publish(&tail, &records("b", 10));
        // A third does not fit beside two unread: the oldest leaves.
        publish(&tail, &records("c", 10));
        assert_eq!(next(&mut slow).as_deref(), Some("missed 10"));
        assert_eq!(next(&mut slow).as_deref(), Some("10 records"));
        assert_eq!(next(&mut slow).as_deref(), Some("10 records"));
        assert_eq!(next(&mut slow), None);
        assert_eq!(tail.budget().used(), 0);
    }

    #[test]
    fn records_that_cannot_fit_are_counted_as_missed() {
        let small = records("a", 2);
        let tail = TailHub::new(memory(&small) + 100);
        let mut reader = tail.subscribe();
        publish(&tail, &records("big", 50));
        publish(&tail, &small);
        assert_eq!(next(&mut reader).as_deref(), Some("missed 50"));
        assert_eq!(next(&mut reader).as_deref(), Some("2 records"));
        // A batch in a reader's hands is still counted: nothing else fits.
        assert_eq!(next(&mut reader), None);
        publish(&tail, &small);
        let held = reader.take();
        assert!(matches!(held, Some(Next::Batch(_))));
        publish(&tail, &small);
        drop(held);
        assert_eq!(next(&mut reader).as_deref(), Some("missed 2"));
    }

    #[test]
    fn large_requests_are_cut_into_batches_of_bounded_memory() {
        let many = records("x", 20_000);
        let total = memory(&many);
        let chunks: Vec<&[Record]> = chunks(&many).collect();
        assert!(chunks.len() > 1, "{total} bytes in one batch");
        assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), many.len());
        for chunk in &chunks {
            assert!(chunk.iter().map(Record::memory).sum::<usize>() <= BATCH_BYTES);
        }
    }
}
