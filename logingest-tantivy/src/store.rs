//! The system of record: every accepted record in SQLite, in compressed
//! blocks.
//!
//! Records are kept in **blocks** of consecutive sequence numbers
//! ([`crate::block`]: split by column, zstd per column), one row per block
//! in `blocks` (its range, time span, size and CRC-32) with the encoded
//! bytes in `block_data`, so the metadata of every block stays in a few
//! pages while the data lives in overflow pages read only when needed. A
//! batch is one transaction that inserts its blocks and advances
//! `meta.last_seq`; `append` returns only after it committed with the
//! configured `synchronous` level, which is what makes an acknowledgement
//! durable. The search index is derived from these blocks and can always be
//! rebuilt from them. `last_seq` never goes back, even when retention
//! deletes the newest blocks.
//!
//! A hit `(timestamp, seq)` finds its block by `first_seq` (a unique
//! index), then the record inside it by binary search; decoded blocks are
//! kept in a [`BlockCache`]. Every block read is checked against its CRC-32
//! before it is decoded: a damaged block is an error naming the block,
//! never a wrong answer. Design and measurements: `docs/backends.md`.
//!
//! One connection writes (behind a mutex; SQLite has one writer anyway);
//! searches borrow read connections from a small pool, which WAL lets run
//! concurrently with the writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use logingest_core::{Error, Record, Result, Timestamp, WriteAck};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};

use crate::block::{self, Block};
use crate::cache::BlockCache;
use crate::config::TantivyConfig;
use crate::error;

/// The SQLite database of one backend directory.
pub(crate) struct Store {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
    cache: BlockCache,
    /// Most records in one block.
    block_records: usize,
    /// zstd level of new blocks.
    level: i32,
}

struct Writer {
    conn: Connection,
    last_seq: u64,
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blocks (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    first_seq INTEGER NOT NULL UNIQUE,
    last_seq  INTEGER NOT NULL,
    count     INTEGER NOT NULL,
    min_ts    INTEGER NOT NULL,
    max_ts    INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    checksum  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS block_data (
    id   INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// `meta` key of the highest sequence number ever assigned.
const LAST_SEQ: &str = "last_seq";

/// One block's row, without its data.
#[derive(Debug, Clone, Copy)]
struct BlockRow {
    id: i64,
    first_seq: u64,
    last_seq: u64,
    checksum: u32,
}

impl Store {
    /// Opens or creates the database at `path`, migrating a directory of
    /// the row-per-record format (see `docs/backends.md`).
    pub(crate) fn open(path: &Path, config: &TantivyConfig) -> Result<Self> {
        let conn = Connection::open(path).map_err(error::store)?;
        let fresh: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(error::store)?;
        if fresh == 0 {
            // Only settable before the first table: lets retention hand
            // freed pages back to the file system.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
                .map_err(error::store)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(error::store)?;
        conn.pragma_update(None, "synchronous", config.synchronous.pragma())
            .map_err(error::store)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(error::store)?;
        conn.execute_batch(SCHEMA).map_err(error::store)?;
        let store = Store {
            path: path.to_owned(),
            writer: Mutex::new(Writer { conn, last_seq: 0 }),
            readers: Mutex::new(Vec::new()),
            cache: BlockCache::new(config.block_cache_bytes),
            block_records: config.block_records.max(1),
            level: config.block_compression_level,
        };
        store.migrate_rows()?;
        let last_seq = store.read_last_seq()?;
        store.writer.lock().last_seq = last_seq;
        Ok(store)
    }

    fn read_last_seq(&self) -> Result<u64> {
        let writer = self.writer.lock();
        let from_meta: Option<String> = writer
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [LAST_SEQ], |r| {
                r.get(0)
            })
            .optional()
            .map_err(error::store)?;
        let from_blocks: Option<i64> = writer
            .conn
            .query_row("SELECT max(last_seq) FROM blocks", [], |r| r.get(0))
            .map_err(error::store)?;
        let from_meta = match from_meta {
            Some(text) => text.parse::<u64>().map_err(|e| Error::backend(false, e))?,
            None => 0,
        };
        Ok(from_meta.max(from_blocks.unwrap_or(0) as u64))
    }

    /// The sequence number the next appended record will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.writer.lock().last_seq + 1
    }

    /// Appends `records` in one transaction; returns after the commit.
    pub(crate) fn append(&self, records: &[Record]) -> Result<WriteAck> {
        let mut writer = self.writer.lock();
        let first_seq = writer.last_seq + 1;
        if records.is_empty() {
            return Ok(WriteAck::new(first_seq, 0));
        }
        let blocks: Vec<Block> = records
            .chunks(self.block_records)
            .enumerate()
            .map(|(c, chunk)| {
                let mut block = Block::new();
                let base = first_seq + (c * self.block_records) as u64;
                for (i, record) in chunk.iter().enumerate() {
                    block.push(
                        base + i as u64,
                        record.timestamp().as_nanos(),
                        record.source(),
                    );
                }
                block
            })
            .collect();
        let last_seq = writer.last_seq + records.len() as u64;
        let tx = writer.conn.transaction().map_err(error::store)?;
        for block in &blocks {
            insert_block(&tx, block, self.level)?;
        }
        set_last_seq(&tx, last_seq)?;
        tx.commit().map_err(error::store)?;
        writer.last_seq = last_seq;
        Ok(WriteAck::new(first_seq, records.len() as u64))
    }

    /// Runs `f` with a read connection from the pool.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match self.readers.lock().pop() {
            Some(conn) => conn,
            None => {
                let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(&self.path, flags).map_err(error::store)?;
                conn.busy_timeout(std::time::Duration::from_secs(10))
                    .map_err(error::store)?;
                conn
            }
        };
        let result = f(&conn);
        let mut pool = self.readers.lock();
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }

    /// The sources of `seqs`, in the same order. A seq without a record
    /// (deleted by retention meanwhile) gives `None`.
    pub(crate) fn sources(&self, seqs: &[u64]) -> Result<Vec<Option<String>>> {
        self.read(|conn| {
            let mut current: Option<(BlockRow, Arc<Block>)> = None;
            let mut out = Vec::with_capacity(seqs.len());
            for &seq in seqs {
                let hit = current
                    .as_ref()
                    .filter(|(row, _)| row.first_seq <= seq && seq <= row.last_seq);
                if hit.is_none() {
                    current = match block_of(conn, seq)? {
                        Some(row) => Some((row, self.load(conn, row)?)),
                        None => None,
                    };
                }
                out.push(
                    current
                        .as_ref()
                        .filter(|(row, _)| row.first_seq <= seq && seq <= row.last_seq)
                        .and_then(|(_, block)| block.find(seq))
                        .map(str::to_owned),
                );
            }
            Ok(out)
        })
    }

    /// The decoded block of `row`, from the cache or the database.
    fn load(&self, conn: &Connection, row: BlockRow) -> Result<Arc<Block>> {
        if let Some(block) = self.cache.get(row.id) {
            return Ok(block);
        }
        let block = Arc::new(read_block(conn, row)?);
        self.cache.insert(row.id, Arc::clone(&block));
        Ok(block)
    }

    /// Calls `f(seq, ts, source)` for every record with `seq > after`, in
    /// sequence order (recovery of the index).
    pub(crate) fn scan_after(
        &self,
        after: u64,
        mut f: impl FnMut(u64, i64, &str) -> Result<()>,
    ) -> Result<u64> {
        let writer = self.writer.lock();
        let rows = block_rows(&writer.conn, "WHERE last_seq > ?1", after as i64)?;
        let mut n = 0;
        for row in rows {
            let block = read_block(&writer.conn, row)?;
            for i in 0..block.len() {
                if block.seqs[i] > after {
                    f(block.seqs[i], block.timestamps[i], block.text(i))?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Deletes every record with `ts < cutoff`; returns how many. Blocks
    /// entirely older go whole; a block that straddles the cutoff is
    /// rewritten with its newer records only. One transaction.
    pub(crate) fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        let mut writer = self.writer.lock();
        let rows = block_rows(&writer.conn, "WHERE min_ts < ?1", cutoff.as_nanos())?;
        let tx = writer.conn.transaction().map_err(error::store)?;
        let mut deleted = 0;
        for row in &rows {
            let block = read_block(&tx, *row)?;
            let mut kept = Block::new();
            for i in 0..block.len() {
                if block.timestamps[i] >= cutoff.as_nanos() {
                    kept.push(block.seqs[i], block.timestamps[i], block.text(i));
                }
            }
            deleted += (block.len() - kept.len()) as u64;
            delete_block(&tx, row.id)?;
            if !kept.is_empty() {
                insert_block(&tx, &kept, self.level)?;
            }
        }
        tx.commit().map_err(error::store)?;
        for row in rows {
            self.cache.remove(row.id);
        }
        // Hand the freed pages back (auto_vacuum = INCREMENTAL).
        writer
            .conn
            .execute_batch("PRAGMA incremental_vacuum")
            .map_err(error::store)?;
        Ok(deleted)
    }

    /// Number of records and their time span.
    pub(crate) fn counts(&self) -> Result<(u64, Option<Timestamp>, Option<Timestamp>)> {
        self.read(|conn| {
            conn.query_row(
                "SELECT coalesce(sum(count), 0), min(min_ts), max(max_ts) FROM blocks",
                [],
                |r| {
                    let count: i64 = r.get(0)?;
                    let min: Option<i64> = r.get(1)?;
                    let max: Option<i64> = r.get(2)?;
                    Ok((count as u64, min.map(Timestamp), max.map(Timestamp)))
                },
            )
            .map_err(error::store)
        })
    }

    /// Reads a value of the `meta` table.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        let writer = self.writer.lock();
        writer
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(error::store)
    }

    /// Writes a value of the `meta` table durably.
    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let writer = self.writer.lock();
        put_meta(&writer.conn, key, value)
    }

    /// Removes a value of the `meta` table.
    pub(crate) fn delete_meta(&self, key: &str) -> Result<()> {
        let writer = self.writer.lock();
        writer
            .conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map_err(error::store)?;
        Ok(())
    }

    /// Moves the rows of the row-per-record format (table `records`, before
    /// blocks) into blocks, a block per transaction, then drops the table
    /// and compacts the file. A crash midway resumes where it stopped: each
    /// transaction deletes exactly the rows it stored as a block.
    fn migrate_rows(&self) -> Result<()> {
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
            insert_block(&tx, &block, self.level)?;
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
            set_last_seq(&tx, seq.max(blocks_max.unwrap_or(0)) as u64)?;
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

impl Drop for Store {
    fn drop(&mut self) {
        // Close the read-only connections first: the last connection to a
        // WAL database checkpoints it on close, and only the writer can.
        self.readers.lock().clear();
    }
}

fn put_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(error::store)?;
    Ok(())
}

fn set_last_seq(tx: &Transaction<'_>, seq: u64) -> Result<()> {
    put_meta(tx, LAST_SEQ, &seq.to_string())
}

/// Encodes and inserts one block (not empty).
fn insert_block(tx: &Transaction<'_>, block: &Block, level: i32) -> Result<()> {
    let data = block::encode(block, level);
    let checksum = crc32fast::hash(&data);
    let (min_ts, max_ts) = block
        .timestamps
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    tx.prepare_cached(
        "INSERT INTO blocks (first_seq, last_seq, count, min_ts, max_ts, bytes, checksum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            block.seqs[0] as i64,
            *block.seqs.last().expect("not empty") as i64,
            block.len() as i64,
            min_ts,
            max_ts,
            block.text_bytes() as i64,
            i64::from(checksum),
        ])
    })
    .map_err(error::store)?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO block_data (id, data) VALUES (?1, ?2)")
        .and_then(|mut insert| insert.execute(params![id, data]))
        .map_err(error::store)?;
    Ok(())
}

fn delete_block(tx: &Transaction<'_>, id: i64) -> Result<()> {
    tx.execute("DELETE FROM blocks WHERE id = ?1", [id])
        .and_then(|_| tx.execute("DELETE FROM block_data WHERE id = ?1", [id]))
        .map_err(error::store)?;
    Ok(())
}

/// The block whose range may hold `seq`: the last one starting at or before it.
fn block_of(conn: &Connection, seq: u64) -> Result<Option<BlockRow>> {
    conn.prepare_cached(
        "SELECT id, first_seq, last_seq, checksum FROM blocks
         WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
    )
    .and_then(|mut select| select.query_row([seq as i64], row_of).optional())
    .map_err(error::store)
}

/// Blocks matching `condition` (with one parameter), in sequence order.
fn block_rows(conn: &Connection, condition: &str, param: i64) -> Result<Vec<BlockRow>> {
    let sql = format!(
        "SELECT id, first_seq, last_seq, checksum FROM blocks {condition} ORDER BY first_seq"
    );
    let mut select = conn.prepare(&sql).map_err(error::store)?;
    let rows = select
        .query_map([param], row_of)
        .map_err(error::store)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(error::store)?;
    Ok(rows)
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<BlockRow> {
    Ok(BlockRow {
        id: r.get(0)?,
        first_seq: r.get::<_, i64>(1)? as u64,
        last_seq: r.get::<_, i64>(2)? as u64,
        checksum: r.get::<_, i64>(3)? as u32,
    })
}

/// Reads, checks and decodes one block.
fn read_block(conn: &Connection, row: BlockRow) -> Result<Block> {
    let data: Option<Vec<u8>> = conn
        .prepare_cached("SELECT data FROM block_data WHERE id = ?1")
        .and_then(|mut select| select.query_row([row.id], |r| r.get(0)).optional())
        .map_err(error::store)?;
    let corrupt = |reason: String| {
        Error::backend_msg(
            false,
            format!(
                "block {} (records {}..={}) of the record store is corrupt: {reason}; \
                 the records in it cannot be read (restore the directory from a backup)",
                row.id, row.first_seq, row.last_seq
            ),
        )
    };
    let data = data.ok_or_else(|| corrupt("its data row is missing".into()))?;
    let computed = crc32fast::hash(&data);
    if computed != row.checksum {
        return Err(corrupt(format!(
            "checksum mismatch (stored {:08x}, computed {computed:08x} over {} bytes)",
            row.checksum,
            data.len()
        )));
    }
    let block = block::decode(&data).map_err(|e| corrupt(e.to_string()))?;
    if block.seqs.first() != Some(&row.first_seq) || block.seqs.last() != Some(&row.last_seq) {
        return Err(corrupt("its records do not match its range".into()));
    }
    Ok(block)
}

#[cfg(test)]
mod tests;
