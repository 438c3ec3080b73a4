//! What the raw baselines of the benches need, without the backend.
//!
//! The flush-path bench (`benches/benches/tantivy_flush.rs`) compares the
//! backend with raw tantivy and raw SQLite doing the same work. To be a fair
//! baseline, raw tantivy must index the same documents with the same schema,
//! tokenizer and writer settings, and raw SQLite must write the same table;
//! this module hands out exactly those pieces so they cannot drift from the
//! backend. Not part of the supported API.

use std::path::Path;
use std::sync::OnceLock;

use logingest_core::Record;
use parking_lot::Mutex;
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexWriter, TantivyDocument};

use crate::columns::KeywordColumns;
use crate::config::TantivyConfig;
use crate::index;

/// Creates an index in `dir` (an existing, empty directory) with the
/// backend's schema and message tokenizer registered.
pub fn create_index(dir: &Path) -> tantivy::Result<Index> {
    let (schema, _) = index::schema();
    let index = Index::create(MmapDirectory::open(dir)?, schema, index::settings())?;
    index::register_tokenizer(&index);
    Ok(index)
}

/// The index writer the backend would open with `config` (threads, memory).
pub fn writer(index: &Index, config: &TantivyConfig) -> tantivy::Result<IndexWriter> {
    index::writer(index, config)
}

/// The tantivy document the backend indexes for `record` with sequence `seq`,
/// its keyword columns decided by the default rule over the records passed
/// here so far (as the backend decides them over the records it indexes).
///
/// The schema's field handles are computed once, so this costs what the
/// backend's own document building costs.
pub fn document(seq: u64, record: &Record) -> TantivyDocument {
    static FIELDS: OnceLock<index::Fields> = OnceLock::new();
    static COLUMNS: OnceLock<Mutex<KeywordColumns>> = OnceLock::new();
    let fields = FIELDS.get_or_init(|| index::schema().1);
    let columns = COLUMNS.get_or_init(|| {
        let config = TantivyConfig::default();
        Mutex::new(KeywordColumns::new(
            config.column_paths,
            config.column_window,
            None,
        ))
    });
    let mut columns = columns.lock();
    columns.plan(std::slice::from_ref(record));
    index::document(fields, &columns, seq, record)
}

/// The SQLite schema of the system of record (`blocks` of compressed
/// records, `block_data`, `meta`).
pub const SQLITE_SCHEMA: &str = crate::store::SCHEMA;

/// Encodes records as one block of the record store (zstd `level`), as
/// `write_batch` does for each block of a batch; returns the encoded bytes.
pub fn encode_block(first_seq: u64, records: &[Record], level: i32) -> Vec<u8> {
    let mut block = crate::block::Block::new();
    for (i, record) in records.iter().enumerate() {
        block.push(
            first_seq + i as u64,
            record.timestamp().as_nanos(),
            record.source(),
        );
    }
    crate::block::encode(&block, level, None)
}

/// The raw `message` column of each block of `records` (blocks of
/// `block_records`), as the block codec compresses it: what the codec
/// bench compares zstd and lz4 on.
pub fn message_columns(records: &[Record], block_records: usize) -> Vec<Vec<u8>> {
    records
        .chunks(block_records.max(1))
        .map(|chunk| {
            let mut block = crate::block::Block::new();
            for (i, record) in chunk.iter().enumerate() {
                block.push(i as u64 + 1, record.timestamp().as_nanos(), record.source());
            }
            let sections = crate::block::sections(&block);
            sections
                .names
                .iter()
                .position(|name| name == "message")
                .map(|i| sections.columns[i].clone())
                .unwrap_or_default()
        })
        .collect()
}
