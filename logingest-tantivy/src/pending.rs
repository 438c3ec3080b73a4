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
//! The queue is core's [`Handoff`], with the byte budget
//! `index_queue_bytes`: past it, `push` waits for the indexing thread,
//! which slows the ingester and, through its bounded channel, turns into
//! 429/503 at the HTTP edge instead of unbounded memory. A crash loses
//! nothing: whatever the last tantivy commit does not hold is indexed again
//! from SQLite on open. (The pg backend's `pending.rs` is the same queue,
//! holding `_bulk` bodies.)

use logingest_core::ingest::Handoff;
use tantivy::TantivyDocument;

/// Documents of one acknowledged batch, sequence numbers `first_seq..`.
pub(crate) struct Batch {
    pub first_seq: u64,
    pub docs: Vec<TantivyDocument>,
}

/// The queue between `write_batch` and the indexing thread; a batch's
/// bytes are the estimated memory of its documents.
pub(crate) type Pending = Handoff<Batch>;
