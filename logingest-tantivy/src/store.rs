//! The system of record: every accepted record in SQLite.
//!
//! One table, `records(seq, ts, source)`, in WAL mode. A batch is one
//! transaction; `append` returns only after it committed with the configured
//! `synchronous` level, which is what makes an acknowledgement durable. The
//! search index is derived from this table and can always be rebuilt from
//! it. Sequence numbers come from `AUTOINCREMENT`, so they never go back,
//! even after retention deletes the newest rows.
//!
//! One connection writes (behind a mutex; SQLite has one writer anyway);
//! searches borrow read connections from a small pool, which WAL lets run
//! concurrently with the writer.

use std::path::{Path, PathBuf};

use logingest_core::{Record, Result, Timestamp, WriteAck};
use parking_lot::Mutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::config::Synchronous;
use crate::error;

/// The SQLite database of one backend directory.
pub(crate) struct Store {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

struct Writer {
    conn: Connection,
    last_seq: u64,
}

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    ts     INTEGER NOT NULL,
    source TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS records_ts ON records(ts);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

impl Store {
    /// Opens or creates the database at `path`.
    pub(crate) fn open(path: &Path, synchronous: Synchronous) -> Result<Self> {
        let conn = Connection::open(path).map_err(error::store)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(error::store)?;
        conn.pragma_update(None, "synchronous", synchronous.pragma())
            .map_err(error::store)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(error::store)?;
        conn.execute_batch(SCHEMA).map_err(error::store)?;
        let last_seq: i64 = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'records'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(error::store)?
            .unwrap_or(0);
        let last_seq = last_seq as u64;
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(Writer { conn, last_seq }),
            readers: Mutex::new(Vec::new()),
        })
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
        let tx = writer.conn.transaction().map_err(error::store)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO records (seq, ts, source) VALUES (?1, ?2, ?3)")
                .map_err(error::store)?;
            for (i, record) in records.iter().enumerate() {
                let seq = first_seq + i as u64;
                insert
                    .execute(params![
                        seq as i64,
                        record.timestamp().as_nanos(),
                        record.source()
                    ])
                    .map_err(error::store)?;
            }
        }
        tx.commit().map_err(error::store)?;
        writer.last_seq += records.len() as u64;
        Ok(WriteAck::new(first_seq, records.len() as u64))
    }

    /// Runs `f` with a read connection from the pool.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
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
        let result = f(&conn).map_err(error::store);
        let mut pool = self.readers.lock();
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }

    /// The sources of `seqs`, in the same order. A seq without a row (deleted
    /// by retention meanwhile) gives `None`.
    pub(crate) fn sources(&self, seqs: &[u64]) -> Result<Vec<Option<String>>> {
        self.read(|conn| {
            let mut select = conn.prepare_cached("SELECT source FROM records WHERE seq = ?1")?;
            seqs.iter()
                .map(|&seq| select.query_row([seq as i64], |r| r.get(0)).optional())
                .collect()
        })
    }

    /// Calls `f(seq, ts, source)` for every record with `seq > after`, in
    /// sequence order (recovery of the index).
    pub(crate) fn scan_after(
        &self,
        after: u64,
        mut f: impl FnMut(u64, i64, &str) -> Result<()>,
    ) -> Result<u64> {
        let conn = self.writer.lock();
        let mut select = conn
            .conn
            .prepare("SELECT seq, ts, source FROM records WHERE seq > ?1 ORDER BY seq")
            .map_err(error::store)?;
        let mut rows = select.query([after as i64]).map_err(error::store)?;
        let mut n = 0;
        while let Some(row) = rows.next().map_err(error::store)? {
            let seq: i64 = row.get(0).map_err(error::store)?;
            let ts: i64 = row.get(1).map_err(error::store)?;
            let source: String = row.get(2).map_err(error::store)?;
            f(seq as u64, ts, &source)?;
            n += 1;
        }
        Ok(n)
    }

    /// Deletes every record with `ts < cutoff`; returns how many.
    pub(crate) fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        let writer = self.writer.lock();
        let n = writer
            .conn
            .execute("DELETE FROM records WHERE ts < ?1", [cutoff.as_nanos()])
            .map_err(error::store)?;
        Ok(n as u64)
    }

    /// Number of records and their time span.
    pub(crate) fn counts(&self) -> Result<(u64, Option<Timestamp>, Option<Timestamp>)> {
        self.read(|conn| {
            let count: i64 = conn.query_row("SELECT count(*) FROM records", [], |r| r.get(0))?;
            let min: Option<i64> =
                conn.query_row("SELECT min(ts) FROM records", [], |r| r.get(0))?;
            let max: Option<i64> =
                conn.query_row("SELECT max(ts) FROM records", [], |r| r.get(0))?;
            Ok((count as u64, min.map(Timestamp), max.map(Timestamp)))
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
        writer
            .conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map_err(error::store)?;
        Ok(())
    }
}

impl Store {
    /// Removes a value of the `meta` table.
    pub(crate) fn delete_meta(&self, key: &str) -> Result<()> {
        let writer = self.writer.lock();
        writer
            .conn
            .execute("DELETE FROM meta WHERE key = ?1", [key])
            .map_err(error::store)?;
        Ok(())
    }
}
