//! The SQL of the record store's tables: block rows, their data, `meta`.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use logingest_core::Result;

use super::{BlockRow, LAST_SEQ};
use crate::block::{self, Block, Dictionaries};
use crate::error;

pub(super) fn put_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )
    .map_err(error::store)?;
    Ok(())
}

pub(super) fn set_last_seq(tx: &Transaction<'_>, seq: u64) -> Result<()> {
    put_meta(tx, LAST_SEQ, &seq.to_string())
}

/// Encodes and inserts one block (not empty), with the dictionary set
/// `dictionaries` when given.
pub(super) fn insert_block(
    tx: &Transaction<'_>,
    block: &Block,
    level: i32,
    dictionaries: Option<&Dictionaries>,
) -> Result<i64> {
    let data = block::encode(block, level, dictionaries);
    let checksum = crc32fast::hash(&data);
    let (min_ts, max_ts) = block
        .timestamps
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    tx.prepare_cached(
        "INSERT INTO blocks (first_seq, last_seq, count, min_ts, max_ts, bytes, checksum, dict)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
            dictionaries.map_or(0, |d| d.id),
        ])
    })
    .map_err(error::store)?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO block_data (id, data) VALUES (?1, ?2)")
        .and_then(|mut insert| insert.execute(params![id, data]))
        .map_err(error::store)?;
    Ok(id)
}

pub(super) fn delete_block(tx: &Transaction<'_>, id: i64) -> Result<()> {
    tx.execute("DELETE FROM blocks WHERE id = ?1", [id])
        .and_then(|_| tx.execute("DELETE FROM block_data WHERE id = ?1", [id]))
        .map_err(error::store)?;
    Ok(())
}

/// The block whose range may hold `seq`: the last one starting at or before it.
pub(super) fn block_of(conn: &Connection, seq: u64) -> Result<Option<BlockRow>> {
    conn.prepare_cached(
        "SELECT id, first_seq, last_seq, checksum, count, dict FROM blocks
         WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
    )
    .and_then(|mut select| select.query_row([seq as i64], row_of).optional())
    .map_err(error::store)
}

/// Blocks matching `condition` (with one parameter), in sequence order.
pub(super) fn block_rows(conn: &Connection, condition: &str, param: i64) -> Result<Vec<BlockRow>> {
    let sql = format!(
        "SELECT id, first_seq, last_seq, checksum, count, dict FROM blocks {condition} ORDER BY first_seq"
    );
    let mut select = conn.prepare(&sql).map_err(error::store)?;
    let rows = select
        .query_map([param], row_of)
        .map_err(error::store)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(error::store)?;
    Ok(rows)
}

pub(super) fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<BlockRow> {
    Ok(BlockRow {
        id: r.get(0)?,
        first_seq: r.get::<_, i64>(1)? as u64,
        last_seq: r.get::<_, i64>(2)? as u64,
        checksum: r.get::<_, i64>(3)? as u32,
        count: r.get::<_, i64>(4)? as u64,
        dictionaries: r.get(5)?,
    })
}
