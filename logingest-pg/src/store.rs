//! The system of record: every accepted record in PostgreSQL.
//!
//! Tables, all in the configured schema (`migrations` below is the truth):
//!
//! - `records(seq, ts, source)`, `PARTITION BY RANGE (ts)` with one
//!   partition per UTC day (`records_YYYYMMDD`), created on demand. `source`
//!   is the record exactly as sent. Retention drops whole partitions.
//! - `seq_counter`: one row holding the last sequence number given out. A
//!   batch takes its block with `UPDATE … SET last = last + n`, whose row lock
//!   is held to the commit: blocks are contiguous, and sequence order is
//!   commit order across every node (a PG `SEQUENCE` gives neither: values
//!   of concurrent `nextval` calls interleave and are not rolled back).
//! - `outbox(first_seq, len, min_ts, max_ts)`: batches committed but not yet
//!   acknowledged by the search index (see [`crate::outbox`]).
//! - `meta(key, value)`: a retention in progress.
//! - `schema_migrations(version)`: which of the embedded steps ran.
//!
//! Migrations run on open under a session advisory lock, so many nodes can
//! start at once against an empty database.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use logingest_core::{Error, Record, Result, Timestamp, WriteAck};
use parking_lot::Mutex;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use crate::config::PgConfig;
use crate::error;
use crate::pool::{Conn, Pool};

/// Nanoseconds in a day: the width of a partition and of a search index.
pub(crate) const DAY: i64 = 86_400_000_000_000;

/// The embedded schema steps, in order; `{s}` is the quoted schema name.
/// Never edit a released step: add a new one.
const MIGRATIONS: &[(i32, &str)] = &[(
    1,
    "CREATE TABLE {s}.seq_counter (
         id   boolean PRIMARY KEY DEFAULT true CHECK (id),
         last bigint  NOT NULL
     );
     INSERT INTO {s}.seq_counter (id, last) VALUES (true, 0);
     CREATE TABLE {s}.records (
         seq    bigint NOT NULL,
         ts     bigint NOT NULL,
         source text   NOT NULL,
         PRIMARY KEY (ts, seq)
     ) PARTITION BY RANGE (ts);
     CREATE INDEX records_seq ON {s}.records (seq);
     CREATE TABLE {s}.outbox (
         first_seq  bigint      PRIMARY KEY,
         len        integer     NOT NULL,
         min_ts     bigint      NOT NULL,
         max_ts     bigint      NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now()
     );
     CREATE TABLE {s}.meta (
         key   text PRIMARY KEY,
         value text NOT NULL
     );",
)];

/// Advisory-lock class of logingest (first key of the two-key form).
const LOCK_CLASS: i32 = 0x6c67_7067; // "lgpg"

/// The PostgreSQL side of one backend.
pub(crate) struct Store {
    pub(crate) pool: Pool,
    /// The schema, quoted for SQL.
    pub(crate) s: String,
    schema: String,
    /// Days whose partition this process knows to exist.
    partitions: Mutex<HashSet<i64>>,
}

/// The UTC day holding `ts`.
pub(crate) fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY)
}

/// `YYYYMMDD` of a day (its first instant, clamped to the representable range).
pub(crate) fn day_label(day: i64) -> String {
    let start = day.checked_mul(DAY).unwrap_or(i64::MIN);
    let date = &Timestamp(start).to_rfc3339()[..10];
    date.replace('-', "")
}

/// The day of a `YYYYMMDD` label.
fn day_from_label(label: &str) -> Option<i64> {
    if label.len() != 8 || !label.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = format!("{}-{}-{}", &label[..4], &label[4..6], &label[6..]);
    Timestamp::parse_date(&date).ok().map(|t| day_of(t.0))
}

/// A stable 32-bit key for advisory locks on `name`.
fn lock_key(name: &str) -> i32 {
    // FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as i32
}

impl Store {
    /// Connects, creates the schema if needed and applies pending migrations.
    pub(crate) fn open(config: &PgConfig) -> Result<Self> {
        let schema = config.schema.as_str();
        // Longer than any request to the search cluster a delivery waits for.
        let idle_tx = config.http_timeout * 2 + Duration::from_secs(10);
        let store = Store {
            pool: Pool::new(&config.pg_url, config.pool_size, idle_tx)?,
            s: format!("\"{schema}\""),
            schema: schema.to_owned(),
            partitions: Mutex::new(HashSet::new()),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.get()?;
        let key = lock_key(&format!("migrate:{}", self.schema));
        conn.execute("SELECT pg_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])
            .map_err(error::pg)?;
        let result = self.migrate_locked(&mut conn);
        // A session lock outlives errors: release it, or drop the connection.
        match conn.execute("SELECT pg_advisory_unlock($1, $2)", &[&LOCK_CLASS, &key]) {
            Ok(_) => {}
            Err(_) => conn.discard(),
        }
        result
    }

    fn migrate_locked(&self, conn: &mut Conn<'_>) -> Result<()> {
        let s = &self.s;
        conn.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {s};
             CREATE TABLE IF NOT EXISTS {s}.schema_migrations (
                 version    integer     PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );"
        ))
        .map_err(error::pg)?;
        let current: i32 = conn
            .query_one(
                &format!("SELECT coalesce(max(version), 0) FROM {s}.schema_migrations"),
                &[],
            )
            .map_err(error::pg)?
            .get(0);
        let newest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > newest {
            return Err(Error::backend_msg(
                false,
                format!(
                    "schema {s} is at version {current}, newer than this build knows ({newest}); upgrade logingest"
                ),
            ));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let mut tx = conn.transaction().map_err(error::pg)?;
            tx.batch_execute(&sql.replace("{s}", s))
                .map_err(error::pg)?;
            tx.execute(
                &format!("INSERT INTO {s}.schema_migrations (version) VALUES ($1)"),
                &[version],
            )
            .map_err(error::pg)?;
            tx.commit().map_err(error::pg)?;
        }
        Ok(())
    }

    /// Drops the schema and everything in it.
    pub(crate) fn destroy(pg_url: &str, schema: &str) -> Result<()> {
        let pool = Pool::new(pg_url, 1, Duration::from_secs(60))?;
        let mut conn = pool.get()?;
        conn.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .map_err(error::pg)
    }

    /// Creates the daily partitions of `days` that may not exist yet.
    ///
    /// Race-safe among nodes: creators serialise on a transaction advisory
    /// lock, and `IF NOT EXISTS` makes the later ones no-ops.
    fn ensure_partitions(&self, days: &HashSet<i64>) -> Result<()> {
        let missing: Vec<i64> = {
            let known = self.partitions.lock();
            days.iter()
                .copied()
                .filter(|d| !known.contains(d))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        let s = &self.s;
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction().map_err(error::pg)?;
        let key = lock_key(&format!("partitions:{}", self.schema));
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key])
            .map_err(error::pg)?;
        for &day in &missing {
            let bound = |d: i64| {
                d.checked_mul(DAY).map_or_else(
                    || {
                        if d < 0 {
                            "MINVALUE".into()
                        } else {
                            "MAXVALUE".into()
                        }
                    },
                    |v| v.to_string(),
                )
            };
            tx.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {s}.records_{} PARTITION OF {s}.records FOR VALUES FROM ({}) TO ({})",
                day_label(day),
                bound(day),
                bound(day + 1),
            ))
            .map_err(error::pg)?;
        }
        tx.commit().map_err(error::pg)?;
        self.partitions.lock().extend(missing);
        Ok(())
    }

    /// The last sequence number given out (0 before the first batch).
    pub(crate) fn last_seq(&self) -> Result<u64> {
        let mut conn = self.pool.get()?;
        let last: i64 = conn
            .query_one(&format!("SELECT last FROM {}.seq_counter", self.s), &[])
            .map_err(error::pg)?
            .get(0);
        Ok(last as u64)
    }

    /// Appends `records` in one transaction: a block of sequence numbers, the
    /// rows by binary COPY, and the batch's outbox row. Returns after the
    /// commit (`synchronous_commit = on`).
    pub(crate) fn append(&self, records: &[Record]) -> Result<WriteAck> {
        if records.is_empty() {
            return Ok(WriteAck::new(self.last_seq()? + 1, 0));
        }
        let days: HashSet<i64> = records.iter().map(|r| day_of(r.timestamp().0)).collect();
        self.ensure_partitions(&days)?;
        let outcome = match self.append_once(records)? {
            // 23514: no partition for a row. Another node's retention dropped
            // a partition this process thought existed: forget and retry once.
            Err(Failed::Before(e)) if is_missing_partition(&e) => {
                self.partitions.lock().retain(|d| !days.contains(d));
                self.ensure_partitions(&days)?;
                self.append_once(records)?
            }
            other => other,
        };
        match outcome {
            Ok(ack) => Ok(ack),
            Err(Failed::Before(e)) => Err(error::pg(e)),
            Err(Failed::Commit(e, ack, (min_ts, max_ts))) => {
                // The connection broke during COMMIT: the outcome is unknown
                // to us, not to the server. Ask it, on another connection;
                // if the rows are there the batch is durable and acknowledged.
                match self.count_range(ack, min_ts, max_ts) {
                    Ok(n) if n == ack.len => Ok(ack),
                    Ok(_) => Err(error::pg(e)),
                    // Still unknown: report the original, retryable error.
                    Err(_) => Err(error::pg(e)),
                }
            }
        }
    }

    /// How many records of the block `ack` exist.
    fn count_range(&self, ack: WriteAck, min_ts: i64, max_ts: i64) -> Result<u64> {
        let mut conn = self.pool.get()?;
        let first = ack.first_seq as i64;
        let last = first + ack.len as i64 - 1;
        let n: i64 = conn
            .query_one(
                &format!(
                    "SELECT count(*) FROM {}.records WHERE seq BETWEEN $1 AND $2 AND ts BETWEEN $3 AND $4",
                    self.s
                ),
                &[&first, &last, &min_ts, &max_ts],
            )
            .map_err(error::pg)?
            .get(0);
        Ok(n as u64)
    }

    /// One attempt of [`Store::append`]; the outer error is the pool's.
    fn append_once(&self, records: &[Record]) -> Result<std::result::Result<WriteAck, Failed>> {
        let mut conn = self.pool.get()?;
        Ok(self.append_on(&mut conn, records))
    }

    fn append_on(
        &self,
        conn: &mut Conn<'_>,
        records: &[Record],
    ) -> std::result::Result<WriteAck, Failed> {
        let s = &self.s;
        let n = records.len() as i64;
        let mut tx = conn.transaction()?;
        let last: i64 = tx
            .query_one(
                &format!("UPDATE {s}.seq_counter SET last = last + $1 RETURNING last"),
                &[&n],
            )?
            .get(0);
        let first = last - n + 1;
        let writer = tx.copy_in(&format!(
            "COPY {s}.records (seq, ts, source) FROM STDIN (FORMAT binary)"
        ))?;
        let mut writer = BinaryCopyInWriter::new(writer, &[Type::INT8, Type::INT8, Type::TEXT]);
        for (i, record) in records.iter().enumerate() {
            let seq = first + i as i64;
            let ts = record.timestamp().0;
            writer.write(&[&seq, &ts, &record.source()])?;
        }
        writer.finish()?;
        let min_ts = records.iter().map(|r| r.timestamp().0).min().unwrap_or(0);
        let max_ts = records.iter().map(|r| r.timestamp().0).max().unwrap_or(0);
        tx.execute(
            &format!(
                "INSERT INTO {s}.outbox (first_seq, len, min_ts, max_ts) VALUES ($1, $2, $3, $4)"
            ),
            &[&first, &(n as i32), &min_ts, &max_ts],
        )?;
        let ack = WriteAck::new(first as u64, n as u64);
        tx.commit()
            .map_err(|e| Failed::Commit(e, ack, (min_ts, max_ts)))?;
        Ok(ack)
    }

    /// The sources of the records at `positions`, `(ts, seq)` each (their
    /// times bound the partitions searched). Missing ones were deleted by
    /// retention.
    pub(crate) fn sources(&self, positions: &[(i64, u64)]) -> Result<HashMap<u64, String>> {
        let Some(min_ts) = positions.iter().map(|&(ts, _)| ts).min() else {
            return Ok(HashMap::new());
        };
        let max_ts = positions.iter().map(|&(ts, _)| ts).max().unwrap_or(min_ts);
        let ids: Vec<i64> = positions.iter().map(|&(_, seq)| seq as i64).collect();
        let mut conn = self.pool.get()?;
        let rows = conn
            .query(
                &format!(
                    "SELECT seq, source FROM {}.records WHERE seq = ANY($1) AND ts BETWEEN $2 AND $3",
                    self.s
                ),
                &[&ids, &min_ts, &max_ts],
            )
            .map_err(error::pg)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)))
            .collect())
    }

    /// Record count, oldest and newest timestamp.
    pub(crate) fn counts(&self) -> Result<(u64, Option<Timestamp>, Option<Timestamp>)> {
        let mut conn = self.pool.get()?;
        let row = conn
            .query_one(
                &format!("SELECT count(*), min(ts), max(ts) FROM {}.records", self.s),
                &[],
            )
            .map_err(error::pg)?;
        let n: i64 = row.get(0);
        let min: Option<i64> = row.get(1);
        let max: Option<i64> = row.get(2);
        Ok((n as u64, min.map(Timestamp), max.map(Timestamp)))
    }

    /// Bytes of every table and index of the schema (TOAST included).
    pub(crate) fn bytes(&self) -> Result<u64> {
        let mut conn = self.pool.get()?;
        let n: i64 = conn
            .query_one(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relkind = 'r'",
                &[&self.schema],
            )
            .map_err(error::pg)?
            .get(0);
        Ok(n.max(0) as u64)
    }

    /// A `meta` value.
    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        let mut conn = self.pool.get()?;
        let row = conn
            .query_opt(
                &format!("SELECT value FROM {}.meta WHERE key = $1", self.s),
                &[&key],
            )
            .map_err(error::pg)?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Sets (`Some`) or clears (`None`) a `meta` value.
    pub(crate) fn set_meta(&self, key: &str, value: Option<&str>) -> Result<()> {
        let s = &self.s;
        let mut conn = self.pool.get()?;
        match value {
            Some(v) => conn.execute(
                &format!(
                    "INSERT INTO {s}.meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value"
                ),
                &[&key, &v],
            ),
            None => conn.execute(&format!("DELETE FROM {s}.meta WHERE key = $1"), &[&key]),
        }
        .map_err(error::pg)?;
        Ok(())
    }

    /// Deletes every record with `ts < cutoff`: whole partitions below the
    /// cutoff are dropped, the partition holding it is pruned with `DELETE`.
    /// One transaction; returns the number of records deleted.
    pub(crate) fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        let s = &self.s;
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction().map_err(error::pg)?;
        let key = lock_key(&format!("partitions:{}", self.schema));
        tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&LOCK_CLASS, &key])
            .map_err(error::pg)?;
        let parts = tx
            .query(
                "SELECT c.relname::text FROM pg_inherits i
                   JOIN pg_class c ON c.oid = i.inhrelid
                   JOIN pg_class p ON p.oid = i.inhparent
                   JOIN pg_namespace n ON n.oid = p.relnamespace
                  WHERE n.nspname = $1 AND p.relname = 'records'",
                &[&self.schema],
            )
            .map_err(error::pg)?;
        let mut deleted = 0u64;
        let mut dropped = Vec::new();
        for row in parts {
            let name: String = row.get(0);
            let Some(day) = name.strip_prefix("records_").and_then(day_from_label) else {
                continue;
            };
            let end = (day + 1).checked_mul(DAY).unwrap_or(i64::MAX);
            if end <= cutoff.0 {
                let n: i64 = tx
                    .query_one(&format!("SELECT count(*) FROM {s}.\"{name}\""), &[])
                    .map_err(error::pg)?
                    .get(0);
                tx.batch_execute(&format!("DROP TABLE {s}.\"{name}\""))
                    .map_err(error::pg)?;
                deleted += n as u64;
                dropped.push(day);
            }
        }
        deleted += tx
            .execute(
                &format!("DELETE FROM {s}.records WHERE ts < $1"),
                &[&cutoff.0],
            )
            .map_err(error::pg)?;
        tx.commit().map_err(error::pg)?;
        self.partitions.lock().retain(|d| !dropped.contains(d));
        Ok(deleted)
    }
}

/// How an append failed: before its COMMIT (nothing was stored), or in it
/// (unknown until asked: the batch, its block and its time span).
enum Failed {
    Before(postgres::Error),
    Commit(postgres::Error, WriteAck, (i64, i64)),
}

impl From<postgres::Error> for Failed {
    fn from(e: postgres::Error) -> Self {
        Failed::Before(e)
    }
}

fn is_missing_partition(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| c.code() == "23514")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_labels_round_trip() {
        for ts in [
            0i64,
            1_694_736_000_000_000_000,
            -1,
            -DAY,
            i64::MAX,
            i64::MIN + DAY,
        ] {
            let day = day_of(ts);
            assert_eq!(day_from_label(&day_label(day)), Some(day), "{ts}");
        }
        assert_eq!(day_label(day_of(1_694_736_000_000_000_000)), "20230915");
        assert_eq!(day_label(-1), "19691231");
    }
}
