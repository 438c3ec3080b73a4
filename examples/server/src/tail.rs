//! Publishing records to live-tail subscribers once they are visible.
//!
//! A request's records may be published only after the periodic refresh
//! made them searchable. Waiting for that in a blocking task per request
//! would tie up one thread per in-flight request under load (and starve the
//! ingest handlers that share the blocking pool), so one thread waits for
//! the submissions in turn: visibility advances in submission order, so by
//! the time it waits for a submission, those before it are usually visible
//! already.

use std::sync::mpsc;
use std::sync::Arc;

use logingest_core::ingest::Ticket;
use logingest_core::Record;
use tokio::sync::broadcast;

/// Capacity of the live-tail broadcast, in published batches. A subscriber
/// further behind is told how many batches it missed.
pub const TAIL_BACKLOG: usize = 1024;

/// The live-tail fan-out.
pub struct TailHub {
    visible: broadcast::Sender<Arc<[Record]>>,
    pending: mpsc::Sender<(Ticket, Arc<[Record]>)>,
}

impl TailHub {
    /// Starts the publishing thread; it ends when the hub is dropped.
    pub fn start() -> Self {
        let (visible, _) = broadcast::channel(TAIL_BACKLOG);
        let (pending, waiting) = mpsc::channel::<(Ticket, Arc<[Record]>)>();
        let publish = visible.clone();
        std::thread::Builder::new()
            .name("logingest-tail".into())
            .spawn(move || {
                for (ticket, records) in waiting {
                    // A failed batch is never published.
                    if ticket.wait_visible_passive().is_ok() {
                        let _ = publish.send(records);
                    }
                }
            })
            .expect("spawn the live-tail thread");
        TailHub { visible, pending }
    }

    /// Whether anyone is tailing (records are copied for tail only then).
    pub fn has_subscribers(&self) -> bool {
        self.visible.receiver_count() > 0
    }

    /// A new subscription to records as they become visible.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[Record]>> {
        self.visible.subscribe()
    }

    /// Publishes `records` once `ticket`'s submission is visible.
    pub fn publish_when_visible(&self, ticket: Ticket, records: Arc<[Record]>) {
        let _ = self.pending.send((ticket, records));
    }
}
