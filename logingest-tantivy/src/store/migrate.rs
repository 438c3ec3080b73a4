//! Directories of the row-per-record format (one `records` row per record,
//! before blocks) are moved into blocks when they are opened; see
//! `docs/backends.md`, "Existing directories".

use logingest_core::Result;
use rusqlite::OptionalExtension;

use super::{rows, Store};
use crate::block::Block;
use crate::error;

impl Store {
    /// Moves the rows of the row-per-record format (table `records`, before
    /// blocks) into blocks, a block per transaction, then drops the table
    /// and compacts the file. A crash midway resumes where it stopped: each
    /// transaction deletes exactly the rows it stored as a block.
    pub(super) fn migrate_rows(&self) -> Result<()> {
        let mut writer = self.writer.lock();
        let exists: Option<String> = writer
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'records'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(error::store)?;
        if exists.is_none() {
            return Ok(());
        }
        let sequence: Option<i64> = writer
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'records'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(error::store)?;
        loop {
            let tx = writer.conn.transaction().map_err(error::store)?;
            let mut block = Block::new();
            {
                let mut select = tx
                    .prepare("SELECT seq, ts, source FROM records ORDER BY seq LIMIT ?1")
                    .map_err(error::store)?;
                let mut rows = select
                    .query([self.block_records as i64])
                    .map_err(error::store)?;
                while let Some(row) = rows.next().map_err(error::store)? {
                    let seq: i64 = row.get(0).map_err(error::store)?;
                    let ts: i64 = row.get(1).map_err(error::store)?;
                    let source: String = row.get(2).map_err(error::store)?;
                    block.push(seq as u64, ts, &source);
                }
            }
            if block.is_empty() {
                break;
            }
            rows::insert_block(&tx, &block, self.level, None)?;
            let last = *block.seqs.last().expect("not empty") as i64;
            tx.execute("DELETE FROM records WHERE seq <= ?1", [last])
                .map_err(error::store)?;
            tx.commit().map_err(error::store)?;
        }
        let tx = writer.conn.transaction().map_err(error::store)?;
        if let Some(seq) = sequence {
            // The old format's counter: never hand out a number again.
            let blocks_max: Option<i64> = tx
                .query_row("SELECT max(last_seq) FROM blocks", [], |r| r.get(0))
                .map_err(error::store)?;
            rows::set_last_seq(&tx, seq.max(blocks_max.unwrap_or(0)) as u64)?;
        }
        tx.execute_batch("DROP INDEX IF EXISTS records_ts; DROP TABLE records;")
            .map_err(error::store)?;
        tx.commit().map_err(error::store)?;
        // Give the old rows' pages back and turn on incremental vacuum.
        writer
            .conn
            .execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
            .map_err(error::store)?;
        Ok(())
    }
}
