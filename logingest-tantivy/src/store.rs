//! The system of record: every accepted record in SQLite, in compressed
//! blocks.
//!
//! Records are kept in **blocks** of consecutive sequence numbers
//! ([`crate::block`]: split by column, each compressed on its own), one row per block
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

use std::collections::HashMap;

use logingest_core::{Error, Record, Result, Timestamp, WriteAck};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::block::{self, Block, Dictionaries, Messages};
use crate::cache::BlockCache;
use crate::config::TantivyConfig;
use crate::error;

mod maintain;
mod migrate;
mod rows;

use rows::{block_of, block_rows, delete_block, insert_block, put_meta, set_last_seq};

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
    /// Records a dictionary set is trained on (0: no dictionaries).
    dictionary_records: usize,
    /// Dictionary sets read so far, by id.
    dictionaries: Mutex<HashMap<i64, Arc<Dictionaries>>>,
    /// The newest set: new blocks are written with it.
    current: Mutex<Option<Arc<Dictionaries>>>,
    /// Held by an upkeep pass: one at a time.
    upkeep: Mutex<()>,
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
    checksum  INTEGER NOT NULL,
    dict      INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS block_data (
    id   INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dictionaries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    through_seq INTEGER NOT NULL,
    checksum    INTEGER NOT NULL,
    data        BLOB    NOT NULL
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
    count: u64,
    /// The dictionary set it was written with (0: none).
    dictionaries: i64,
}

impl BlockRow {
    /// Whether `seq` lies in the block's range (it may be a hole).
    fn holds(&self, seq: u64) -> bool {
        self.first_seq <= seq && seq <= self.last_seq
    }
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
            dictionary_records: config.dictionary_records,
            dictionaries: Mutex::new(HashMap::new()),
            current: Mutex::new(None),
            upkeep: Mutex::new(()),
        };
        store.migrate_rows()?;
        let last_seq = store.read_last_seq()?;
        store.writer.lock().last_seq = last_seq;
        let newest: Option<i64> = store
            .writer
            .lock()
            .conn
            .query_row("SELECT max(id) FROM dictionaries", [], |r| r.get(0))
            .map_err(error::store)?;
        if let Some(id) = newest {
            let set = store.read(|conn| store.dictionary_set(conn, id))?;
            *store.current.lock() = Some(set);
        }
        Ok(store)
    }

    fn read_last_seq(&self) -> Result<u64> {
        let from_meta = self.meta(LAST_SEQ)?;
        let from_blocks: Option<i64> = self
            .writer
            .lock()
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
    #[cfg(test)]
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
        let dictionaries = self.current.lock().clone();
        let tx = writer.conn.transaction().map_err(error::store)?;
        for block in &blocks {
            insert_block(&tx, block, self.level, dictionaries.as_deref())?;
        }
        set_last_seq(&tx, last_seq)?;
        tx.commit().map_err(error::store)?;
        writer.last_seq = last_seq;
        Ok(WriteAck::new(first_seq, records.len() as u64))
    }

    /// Runs `f` with a read connection from the pool, in one snapshot.
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
        // One read transaction: every statement of `f` sees the same
        // snapshot, so a block that an upkeep pass or retention replaces
        // meanwhile is either wholly there (row and data) or wholly gone.
        let result = conn
            .unchecked_transaction()
            .map_err(error::store)
            .and_then(|tx| {
                let result = f(&tx);
                // Nothing was written; ending the snapshot cannot lose anything.
                let _ = tx.finish();
                result
            });
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
                if !current.as_ref().is_some_and(|(row, _)| row.holds(seq)) {
                    current = match block_of(conn, seq)? {
                        Some(row) => Some((row, self.load(conn, row)?)),
                        None => None,
                    };
                }
                out.push(
                    current
                        .as_ref()
                        .filter(|(row, _)| row.holds(seq))
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
        let block = Arc::new(self.read_block(conn, row)?);
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
            let block = self.read_block(&writer.conn, row)?;
            for (seq, ts, text) in block.records().filter(|&(seq, ..)| seq > after) {
                f(seq, ts, text)?;
                n += 1;
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
        let dictionaries = self.current.lock().clone();
        let tx = writer.conn.transaction().map_err(error::store)?;
        let mut deleted = 0;
        for row in &rows {
            let block = self.read_block(&tx, *row)?;
            let mut kept = Block::new();
            for (seq, ts, text) in block
                .records()
                .filter(|&(_, ts, _)| ts >= cutoff.as_nanos())
            {
                kept.push(seq, ts, text);
            }
            deleted += (block.len() - kept.len()) as u64;
            delete_block(&tx, row.id)?;
            if !kept.is_empty() {
                insert_block(&tx, &kept, self.level, dictionaries.as_deref())?;
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

    /// Reads, checks and decodes one block.
    fn read_block(&self, conn: &Connection, row: BlockRow) -> Result<Block> {
        let (data, dictionaries) = self.read_checked(conn, row)?;
        let block = block::decode(&data, dictionaries.as_deref()).map_err(|e| corrupt(row, e))?;
        if block.seqs.first() != Some(&row.first_seq) || block.seqs.last() != Some(&row.last_seq) {
            return Err(corrupt(row, "its records do not match its range"));
        }
        Ok(block)
    }

    /// The messages of the block holding `seq` (`None`: no such record,
    /// deleted by retention meanwhile), for verifying message regexes.
    pub(crate) fn messages(&self, seq: u64) -> Result<Option<Messages>> {
        self.read(|conn| {
            let Some(row) = block_of(conn, seq)?.filter(|row| row.holds(seq)) else {
                return Ok(None);
            };
            let (data, dictionaries) = self.read_checked(conn, row)?;
            let messages = block::decode_messages(&data, dictionaries.as_deref())
                .map_err(|e| corrupt(row, e))?;
            if messages.first_seq() != Some(row.first_seq)
                || messages.last_seq() != Some(row.last_seq)
            {
                return Err(corrupt(row, "its records do not match its range"));
            }
            Ok(Some(messages))
        })
    }

    /// The error for the message of record `seq`, which its block's
    /// message column holds but cannot give (not UTF-8, not a JSON string):
    /// naming the block, as every damage does.
    pub(crate) fn unreadable_message(&self, seq: u64, e: block::DecodeError) -> Error {
        match self.read(|conn| block_of(conn, seq)) {
            Ok(Some(row)) => corrupt(row, format!("the message of record {seq}: {e}")),
            _ => Error::backend_msg(
                false,
                format!("the message of record {seq} in the record store cannot be read: {e}"),
            ),
        }
    }

    /// A block's encoded bytes, checked against its checksum, and the
    /// dictionary set it was written with.
    fn read_checked(
        &self,
        conn: &Connection,
        row: BlockRow,
    ) -> Result<(Vec<u8>, Option<Arc<Dictionaries>>)> {
        let data: Option<Vec<u8>> = conn
            .prepare_cached("SELECT data FROM block_data WHERE id = ?1")
            .and_then(|mut select| select.query_row([row.id], |r| r.get(0)).optional())
            .map_err(error::store)?;
        let data = data.ok_or_else(|| corrupt(row, "its data row is missing"))?;
        let computed = crc32fast::hash(&data);
        if computed != row.checksum {
            return Err(corrupt(
                row,
                format!(
                    "checksum mismatch (stored {:08x}, computed {computed:08x} over {} bytes)",
                    row.checksum,
                    data.len()
                ),
            ));
        }
        let dictionaries = match row.dictionaries {
            0 => None,
            id => Some(self.dictionary_set(conn, id)?),
        };
        Ok((data, dictionaries))
    }

    /// The dictionary set `id`, read and checked once, then kept.
    fn dictionary_set(&self, conn: &Connection, id: i64) -> Result<Arc<Dictionaries>> {
        if let Some(set) = self.dictionaries.lock().get(&id) {
            return Ok(Arc::clone(set));
        }
        let row: Option<(i64, Vec<u8>)> = conn
            .prepare_cached("SELECT checksum, data FROM dictionaries WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
            .map_err(error::store)?;
        let corrupt = |reason: String| {
            Error::backend_msg(
                false,
                format!(
                    "dictionary set {id} of the record store is unusable: {reason}; \
                     the blocks written with it cannot be read (restore the directory from a backup)"
                ),
            )
        };
        let (checksum, data) = row.ok_or_else(|| corrupt("it is missing".into()))?;
        if crc32fast::hash(&data) != checksum as u32 {
            return Err(corrupt("checksum mismatch".into()));
        }
        let set = Dictionaries::from_bytes(id, &data).map_err(|e| corrupt(e.to_string()))?;
        let set = Arc::new(set);
        self.dictionaries.lock().insert(id, Arc::clone(&set));
        Ok(set)
    }
}

/// The error for a block that cannot be read as written.
fn corrupt(row: BlockRow, reason: impl std::fmt::Display) -> Error {
    Error::backend_msg(
        false,
        format!(
            "block {} (records {}..={}) of the record store is corrupt: {reason}; \
             the records in it cannot be read (restore the directory from a backup)",
            row.id, row.first_seq, row.last_seq
        ),
    )
}

impl Drop for Store {
    fn drop(&mut self) {
        // Close the read-only connections first: the last connection to a
        // WAL database checkpoints it on close, and only the writer can.
        self.readers.lock().clear();
    }
}

#[cfg(test)]
mod tests;
