//! Background upkeep of the record store: training dictionary sets and
//! merging small blocks.
//!
//! Both run off the write path (the backend's refresh thread calls
//! [`Store::maintain`]) and both are crash-safe the same way: the expensive
//! part (decoding, training, encoding) runs without any lock, and the result
//! lands in one short transaction that first checks that the blocks it
//! replaces are still there, unchanged. A crash before the commit leaves the
//! old blocks; after it, the new ones; never both, never neither.
//!
//! - **Dictionaries.** Once the store holds `dictionary_records` records
//!   written without a set, a set is trained on the newest of them; after
//!   that, a new set every [`RETRAIN_RECORDS`] records, so the dictionaries
//!   follow what the logs look like now. Sets are never changed, and a block
//!   keeps the set it was written with.
//! - **Merging.** A batch at low load makes a small block (a request of one
//!   record is a block of one record), and small blocks compress poorly.
//!   Runs of adjacent blocks under half of `block_records` are merged into
//!   blocks of at most `block_records`; a block written before the first set
//!   existed is rewritten with it.

use logingest_core::Result;
use rusqlite::Connection;

use super::rows::row_of;
use super::{block_rows, delete_block, insert_block, BlockRow, Store};
use crate::block::{Block, Dictionaries};
use crate::error;

/// Records between two dictionary sets after the first.
pub(crate) const RETRAIN_RECORDS: u64 = 1_000_000;

/// Blocks one maintenance pass looks at, and groups it rewrites at most:
/// each pass stays short, and the next pass goes on.
const SCAN_BLOCKS: i64 = 512;
const MAX_GROUPS: usize = 16;

/// What one maintenance pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Maintenance {
    /// A dictionary set was trained.
    pub trained: bool,
    /// Blocks replaced by merged or rewritten ones.
    pub blocks_rewritten: u64,
}

impl Store {
    /// Trains a dictionary set if one is due, then merges small blocks.
    pub(crate) fn maintain(&self) -> Result<Maintenance> {
        let _one_at_a_time = self.upkeep.lock();
        let trained = self.train_if_due()?;
        let blocks_rewritten = self.merge_small_blocks()?;
        Ok(Maintenance {
            trained,
            blocks_rewritten,
        })
    }

    /// Trains and stores a new dictionary set when enough records came
    /// since the last one.
    fn train_if_due(&self) -> Result<bool> {
        if self.dictionary_records == 0 {
            return Ok(false);
        }
        let current = self.current.lock().clone();
        let since_seq: i64 = match &current {
            None => 0,
            Some(set) => self.read(|conn| {
                conn.query_row(
                    "SELECT through_seq FROM dictionaries WHERE id = ?1",
                    [set.id],
                    |r| r.get(0),
                )
                .map_err(error::store)
            })?,
        };
        let due = match current {
            None => self.dictionary_records as u64,
            Some(_) => RETRAIN_RECORDS,
        };
        let since: i64 = self.read(|conn| {
            conn.query_row(
                "SELECT coalesce(sum(count), 0) FROM blocks WHERE first_seq > ?1",
                [since_seq],
                |r| r.get(0),
            )
            .map_err(error::store)
        })?;
        if (since as u64) < due {
            return Ok(false);
        }
        // The newest records, oldest first.
        let records = self.read(|conn| {
            let newest = block_rows(conn, "WHERE first_seq > ?1", since_seq)?;
            let mut taken = Vec::new();
            let mut n = 0;
            for row in newest.into_iter().rev() {
                if n >= self.dictionary_records as u64 {
                    break;
                }
                n += row.count;
                taken.push(row);
            }
            let mut records = Block::new();
            for row in taken.into_iter().rev() {
                let block = self.read_block(conn, row)?;
                for (seq, ts, text) in block.records() {
                    records.push(seq, ts, text);
                }
            }
            Ok(records)
        })?;
        let Some(&through) = records.seqs.last() else {
            return Ok(false);
        };
        // Ids come from the table; train under a provisional one, then
        // store and name the set with the id it got.
        let trained = Dictionaries::train(0, &records);
        let bytes = trained.to_bytes();
        let id = {
            let writer = self.writer.lock();
            writer
                .conn
                .execute(
                    "INSERT INTO dictionaries (through_seq, checksum, data) VALUES (?1, ?2, ?3)",
                    rusqlite::params![through as i64, i64::from(crc32fast::hash(&bytes)), bytes],
                )
                .map_err(error::store)?;
            writer.conn.last_insert_rowid()
        };
        let set = self.read(|conn| self.dictionary_set(conn, id))?;
        *self.current.lock() = Some(set);
        Ok(true)
    }

    /// Merges runs of small adjacent blocks (and rewrites blocks without a
    /// dictionary set once one exists); returns how many blocks it replaced.
    fn merge_small_blocks(&self) -> Result<u64> {
        let current = self.current.lock().clone();
        let upgrade = current.is_some();
        let small = (self.block_records / 2).max(1) as i64;
        let candidate =
            |row: &BlockRow| (row.count as i64) < small || (upgrade && row.dictionaries == 0);
        let window = self.read(|conn| {
            let first: Option<i64> = conn
                .query_row(
                    "SELECT min(first_seq) FROM blocks WHERE count < ?1 OR (?2 AND dict = 0)",
                    rusqlite::params![small, upgrade],
                    |r| r.get(0),
                )
                .map_err(error::store)?;
            match first {
                Some(first) => window(conn, first),
                None => Ok(Vec::new()),
            }
        })?;
        let mut groups: Vec<Vec<BlockRow>> = Vec::new();
        let mut group: Vec<BlockRow> = Vec::new();
        let mut records = 0;
        let worth = |group: &[BlockRow]| {
            group.len() > 1
                || group
                    .first()
                    .is_some_and(|r| upgrade && r.dictionaries == 0)
        };
        for row in window {
            let fits = records + row.count <= self.block_records as u64;
            if !candidate(&row) || !fits {
                if worth(&group) {
                    groups.push(std::mem::take(&mut group));
                }
                group.clear();
                records = 0;
            }
            if candidate(&row) {
                records += row.count;
                group.push(row);
            }
            if groups.len() == MAX_GROUPS {
                break;
            }
        }
        if worth(&group) && groups.len() < MAX_GROUPS {
            groups.push(group);
        }
        let mut replaced = 0;
        for group in groups {
            replaced += self.rewrite(&group, current.as_deref())?;
        }
        Ok(replaced)
    }

    /// Replaces the adjacent blocks `group` by one block, if they are all
    /// still there unchanged; returns how many it replaced (0 if not).
    fn rewrite(&self, group: &[BlockRow], dictionaries: Option<&Dictionaries>) -> Result<u64> {
        let merged = self.read(|conn| {
            let mut merged = Block::new();
            for row in group {
                // The group was chosen in an earlier snapshot: retention
                // may have replaced a block since. Then try next pass.
                if !unchanged(conn, row)? {
                    return Ok(Block::new());
                }
                let block = self.read_block(conn, *row)?;
                for (seq, ts, text) in block.records() {
                    merged.push(seq, ts, text);
                }
            }
            Ok(merged)
        })?;
        if merged.is_empty() {
            return Ok(0);
        }
        let mut writer = self.writer.lock();
        let tx = writer.conn.transaction().map_err(error::store)?;
        for row in group {
            if !unchanged(&tx, row)? {
                // Retention rewrote or removed it meanwhile; try next pass.
                return Ok(0);
            }
        }
        for row in group {
            delete_block(&tx, row.id)?;
        }
        insert_block(&tx, &merged, self.level, dictionaries)?;
        tx.commit().map_err(error::store)?;
        drop(writer);
        for row in group {
            self.cache.remove(row.id);
        }
        Ok(group.len() as u64)
    }
}

/// Whether the block of `row` is still there as it was.
fn unchanged(conn: &Connection, row: &BlockRow) -> Result<bool> {
    conn.query_row(
        "SELECT count(*) = 1 FROM blocks WHERE id = ?1 AND checksum = ?2",
        rusqlite::params![row.id, i64::from(row.checksum)],
        |r| r.get(0),
    )
    .map_err(error::store)
}

/// Up to [`SCAN_BLOCKS`] blocks from the one starting at `first_seq` on,
/// in order: a window in which adjacency is plain to see.
fn window(conn: &Connection, first_seq: i64) -> Result<Vec<BlockRow>> {
    conn.prepare_cached(
        "SELECT id, first_seq, last_seq, checksum, count, dict FROM blocks
         WHERE first_seq >= ?1 ORDER BY first_seq LIMIT ?2",
    )
    .and_then(|mut select| {
        select
            .query_map(rusqlite::params![first_seq, SCAN_BLOCKS], row_of)?
            .collect()
    })
    .map_err(error::store)
}
