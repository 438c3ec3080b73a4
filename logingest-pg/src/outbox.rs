//! Delivery from PostgreSQL to the search index, exactly once.
//!
//! Every committed batch has an `outbox` row (written in the batch's own
//! transaction). Delivering a batch means, in one PG transaction: claim its
//! row (`FOR UPDATE`), send its documents to `_bulk`, and delete the row only
//! after the cluster acknowledged every document; then commit. Documents use
//! `_id` = sequence number and an index chosen by the record's timestamp, so
//! sending a batch again (a node died after `_bulk` but before its commit)
//! overwrites the same documents: the index ends with every committed record
//! exactly once, whichever node delivers it and however often.
//!
//! Two ways in:
//! - [`deliver_pending`]: the batches this node just wrote, with their bulk
//!   bodies already built from the records in memory. Claims with `SKIP
//!   LOCKED`: a batch someone else is delivering is theirs.
//! - [`deliver_stored`]: rows read back from PG (re-parsing each stored
//!   source), for batches a dead node left behind, or for `refresh`, which
//!   waits for rows others hold so that every acknowledged batch is
//!   delivered when it returns.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use logingest_core::{parse_records, Error, Limits, ParseOptions, Record, Result, Timestamp};

use crate::error;
use crate::index::SearchIndex;
use crate::pending::Pending;
use crate::store::Store;

/// How [`deliver_stored`] claims rows.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Claim {
    /// Wait for rows other transactions hold; only batches up to `through`
    /// (acknowledged before the caller started).
    Waiting {
        /// Highest `first_seq` to deliver.
        through: u64,
    },
    /// Skip rows others hold, and rows younger than `older_than` (their
    /// writer is about to deliver them itself).
    SkipLocked {
        /// Minimum age of a row.
        older_than: Duration,
    },
}

/// Limits of one delivery round.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limit {
    /// Most batches claimed in one transaction.
    pub batches: i64,
    /// Most records per `_bulk` request.
    pub records: usize,
    /// Most bytes per `_bulk` request.
    pub bytes: usize,
}

/// Delivers batches this node wrote; the ones already claimed or delivered
/// by another node are dropped here.
pub(crate) fn deliver_pending(
    store: &Store,
    index: &SearchIndex,
    batches: Vec<Pending>,
    limit: Limit,
) -> Result<()> {
    if batches.is_empty() {
        return Ok(());
    }
    let keys: Vec<i64> = batches.iter().map(|b| b.first_seq as i64).collect();
    let mut conn = store.pool.get()?;
    let mut tx = conn.transaction().map_err(error::pg)?;
    let claimed: Vec<i64> = tx
        .query(
            &format!(
                "SELECT first_seq FROM {}.outbox WHERE first_seq = ANY($1) FOR UPDATE SKIP LOCKED",
                store.s
            ),
            &[&keys],
        )
        .map_err(error::pg)?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    if claimed.is_empty() {
        return Ok(());
    }
    // Small batches share a request; a large one's pieces go one by one.
    let (mut body, mut in_body) = (Vec::new(), 0usize);
    let pieces = batches
        .into_iter()
        .filter(|b| claimed.contains(&(b.first_seq as i64)))
        .flat_map(|b| b.pieces);
    for piece in pieces {
        if in_body > 0
            && (in_body + piece.records > limit.records
                || body.len() + piece.body.len() > limit.bytes)
        {
            index.bulk(std::mem::take(&mut body))?;
            in_body = 0;
        }
        if in_body == 0 {
            body = piece.body;
        } else {
            body.extend_from_slice(&piece.body);
        }
        in_body += piece.records;
    }
    index.bulk(body)?;
    tx.execute(
        &format!("DELETE FROM {}.outbox WHERE first_seq = ANY($1)", store.s),
        &[&claimed],
    )
    .map_err(error::pg)?;
    tx.commit().map_err(error::pg)
}

/// Claims up to `limit.batches` outbox rows, indexes their records read from
/// PG, deletes the rows; returns how many batches were delivered (0: none left).
pub(crate) fn deliver_stored(
    store: &Store,
    index: &SearchIndex,
    claim: Claim,
    limit: Limit,
) -> Result<usize> {
    let s = &store.s;
    let mut conn = store.pool.get()?;
    let mut tx = conn.transaction().map_err(error::pg)?;
    let rows = match claim {
        Claim::Waiting { through } => tx.query(
            &format!(
                "SELECT first_seq, len, min_ts, max_ts FROM {s}.outbox
                  WHERE first_seq <= $1 ORDER BY first_seq LIMIT $2 FOR UPDATE"
            ),
            &[&(through as i64), &limit.batches],
        ),
        Claim::SkipLocked { older_than } => tx.query(
            &format!(
                "SELECT first_seq, len, min_ts, max_ts FROM {s}.outbox
                  WHERE created_at <= now() - make_interval(secs => $1)
                  ORDER BY first_seq LIMIT $2 FOR UPDATE SKIP LOCKED"
            ),
            &[&older_than.as_secs_f64(), &limit.batches],
        ),
    }
    .map_err(error::pg)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut claimed = Vec::with_capacity(rows.len());
    let (mut body, mut in_body) = (Vec::new(), 0usize);
    for row in &rows {
        let (first, len, min_ts, max_ts): (i64, i32, i64, i64) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        claimed.push(first);
        // Streamed: a batch of 64 MiB is never in memory at once here.
        let last = first + i64::from(len) - 1;
        let mut records = tx
            .query_raw(
                &format!(
                    "SELECT seq, ts, source FROM {s}.records
                      WHERE seq BETWEEN $1 AND $2 AND ts BETWEEN $3 AND $4"
                ),
                [&first as &dyn ToSql, &last, &min_ts, &max_ts],
            )
            .map_err(error::pg)?;
        while let Some(r) = records.next().map_err(error::pg)? {
            let (seq, ts, source): (i64, i64, String) = (r.get(0), r.get(1), r.get(2));
            let record = reparse(seq as u64, Timestamp(ts), &source)?;
            index.add_bulk_item(&mut body, seq as u64, &record);
            in_body += 1;
            if in_body >= limit.records || body.len() >= limit.bytes {
                index.bulk(std::mem::take(&mut body))?;
                in_body = 0;
            }
        }
    }
    index.bulk(body)?;
    tx.execute(
        &format!("DELETE FROM {s}.outbox WHERE first_seq = ANY($1)"),
        &[&claimed],
    )
    .map_err(error::pg)?;
    tx.commit().map_err(error::pg)?;
    Ok(claimed.len())
}

/// A stored record parsed again. It passed the ingest limits when it was
/// accepted, whatever they were then; re-checking it against today's could
/// make it impossible to deliver. Only the term limit stays: it is what
/// the index can hold.
fn reparse(seq: u64, ts: Timestamp, source: &str) -> Result<Record> {
    let limits = Limits::default()
        .max_record_bytes(usize::MAX)
        .max_body_bytes(usize::MAX)
        .max_records(usize::MAX)
        .max_depth(usize::MAX);
    let options = ParseOptions::default().limits(limits).receive_time(ts);
    parse_records(source.as_bytes(), &options)?
        .pop()
        .ok_or_else(|| Error::backend_msg(false, format!("stored record {seq} is empty")))
}
