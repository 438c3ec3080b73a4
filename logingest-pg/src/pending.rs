//! `_bulk` bodies of acknowledged batches that the indexer thread has not
//! delivered yet.
//!
//! `write_batch` commits a batch in PostgreSQL (with its outbox row: the
//! acknowledgement), builds its `_bulk` body from the records in memory
//! and queues it here for this node's indexer thread, so the common path
//! never reads a record back from PG. The queue is core's [`Handoff`] with
//! the byte budget `index_queue_bytes`: when the search cluster indexes
//! slower than PG commits, `write_batch` waits for the indexer instead of
//! memory growing with the backlog (it once reached 640 MB under 64
//! clients, `docs/performance.md`). Bodies are cut into pieces of at most
//! `bulk_max_records` records and `bulk_max_bytes` bytes, so that however
//! large a batch, no `_bulk` request is larger than configured. (The
//! embedded backend's `pending.rs` is the same queue, holding tantivy
//! documents.)

use logingest_core::ingest::Handoff;
use logingest_core::Record;

use crate::outbox::Limit;

/// One acknowledged batch, ready to send.
pub(crate) struct Pending {
    /// Its outbox key (its first sequence number).
    pub first_seq: u64,
    /// Its `_bulk` lines, in pieces within the bulk limits.
    pub pieces: Vec<Piece>,
}

/// Whole `_bulk` items (action and document lines) of some records.
pub(crate) struct Piece {
    pub body: Vec<u8>,
    pub records: usize,
}

/// The queue between `write_batch` and the indexer thread; a batch's bytes
/// are the capacity of its pieces.
pub(crate) type Queue = Handoff<Pending>;

impl Pending {
    /// The bulk items of `records`, sequence numbers `first_seq..`, each
    /// appended by `add_item` (`SearchIndex::add_bulk_item`).
    pub(crate) fn build(
        first_seq: u64,
        records: &[Record],
        limit: Limit,
        add_item: impl Fn(&mut Vec<u8>, u64, &Record),
    ) -> Self {
        let mut pieces = Vec::new();
        let mut piece = Piece {
            body: Vec::new(),
            records: 0,
        };
        for (i, record) in records.iter().enumerate() {
            add_item(&mut piece.body, first_seq + i as u64, record);
            piece.records += 1;
            if piece.records >= limit.records || piece.body.len() >= limit.bytes {
                pieces.push(std::mem::replace(
                    &mut piece,
                    Piece {
                        body: Vec::new(),
                        records: 0,
                    },
                ));
            }
        }
        if piece.records > 0 {
            pieces.push(piece);
        }
        Pending { first_seq, pieces }
    }

    /// Memory held by the pieces.
    pub(crate) fn bytes(&self) -> usize {
        self.pieces.iter().map(|p| p.body.capacity()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two lines per record, as the real bulk items.
    fn add_item(out: &mut Vec<u8>, seq: u64, record: &Record) {
        out.extend_from_slice(format!("{{\"index\":{seq}}}\n{}\n", record.source()).as_bytes());
    }

    #[test]
    fn a_body_is_cut_into_pieces_within_the_bulk_limits() {
        let records = logingest_core::testkit::corpus::random_records(1, 25);
        let limit = Limit {
            batches: 1,
            records: 10,
            bytes: usize::MAX,
        };
        let pending = Pending::build(7, &records, limit, add_item);
        let counts: Vec<usize> = pending.pieces.iter().map(|p| p.records).collect();
        assert_eq!(counts, [10, 10, 5]);
        let lines = pending
            .pieces
            .iter()
            .map(|p| p.body.split(|&b| b == b'\n').count() - 1);
        assert_eq!(
            lines.sum::<usize>(),
            50,
            "an action and a document per record"
        );
        assert!(pending.bytes() >= pending.pieces.iter().map(|p| p.body.len()).sum());

        let by_bytes = Limit {
            records: usize::MAX,
            bytes: 2_000,
            ..limit
        };
        let largest = records.iter().map(|r| r.source().len() + 32).max().unwrap();
        let pending = Pending::build(7, &records, by_bytes, add_item);
        assert!(pending.pieces.len() > 1, "cut by bytes");
        for piece in &pending.pieces {
            // A piece ends with the item that reached the limit.
            assert!(
                piece.body.len() < by_bytes.bytes + largest,
                "{}",
                piece.body.len()
            );
        }
        assert_eq!(pending.pieces.iter().map(|p| p.records).sum::<usize>(), 25);
    }
}
