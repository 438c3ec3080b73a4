//! The search index: what tantivy holds and how it is kept in step with SQLite.
//!
//! Schema (see `docs/backends.md` for the measurements behind it):
//!
//! | field | type | why |
//! |---|---|---|
//! | `seq` | u64, fast | identity and tie order; joins hits back to SQLite |
//! | `ts` | i64, fast (a column, no postings) | time ranges (on the column), order, histograms |
//! | `message` | text, our tokenizer, positions | terms, phrases, wildcards; not stored: regexes verify candidates on the record store's `message` column (`crate::verify`) |
//! | `kw` | raw text `path\0value`, indexed only | keyword equality, wildcards, regexes (term dictionary); facets of paths without a column (postings) |
//! | `col` | JSON, fast only: a column per keyword path | facets; only the paths [`KeywordColumns`] gives a column (not unique ids) |
//! | `num` | raw text `path\0sortable`, indexed only | numeric comparisons: a range of terms ([`logingest_core::number`]) |
//! | `path` | raw text | `field:*`: every keyword path and each of its parents |
//!
//! The record itself (its exact source) is **not** stored here: SQLite has
//! it, and a page of hits reads at most a few hundred rows by primary key.
//!
//! Consistency: documents are added after their batch committed in SQLite,
//! in sequence order, and every tantivy commit carries the highest sequence
//! number it contains as its payload. After a crash, SQLite rows beyond that
//! number are indexed again, so the index holds each record exactly once.

use std::path::{Path, PathBuf};

use logingest_core::{parse_stored_record, Error, Record, Result, Timestamp};
use parking_lot::{Mutex, RwLock};
use tantivy::directory::MmapDirectory;
use tantivy::query::RangeQuery;
use tantivy::schema::{
    Field, IndexRecordOption, JsonObjectOptions, NumericOptions, Schema, TextFieldIndexing,
    TextOptions,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use crate::columns::{KeywordColumns, SavedColumns};
use crate::config::TantivyConfig;
use crate::error;
use crate::pending::{Batch, Pending};
use crate::tokenizer::{self, MessageTokenizer};

mod document;

pub(crate) use document::document;

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub seq: Field,
    pub ts: Field,
    pub message: Field,
    pub kw: Field,
    pub col: Field,
    pub num: Field,
    pub path: Field,
}

/// Field names, also used to open fast-field columns.
pub(crate) mod names {
    pub const SEQ: &str = "seq";
    pub const TS: &str = "ts";
    pub const MESSAGE: &str = "message";
    pub const KW: &str = "kw";
    pub const COL: &str = "col";
    pub const NUM: &str = "num";
    pub const PATH: &str = "path";
}

/// Builds the schema. Public to the crate's benches through [`crate::bench`].
pub(crate) fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let seq = builder.add_u64_field(names::SEQ, NumericOptions::default().set_fast());
    // Fast only: tantivy runs a range query on a fast field by the column,
    // so an inverted index of timestamps (nearly one term per record)
    // would never be read.
    let ts = builder.add_i64_field(names::TS, NumericOptions::default().set_fast());
    // No field norms anywhere: nothing is scored.
    let message_indexing = TextFieldIndexing::default()
        .set_tokenizer(tokenizer::NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions)
        .set_fieldnorms(false);
    let message = builder.add_text_field(
        names::MESSAGE,
        TextOptions::default().set_indexing_options(message_indexing),
    );
    let raw = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let kw = builder.add_text_field(
        names::KW,
        TextOptions::default().set_indexing_options(raw.clone()),
    );
    // Not indexed: `kw` has the terms. Dots in keys are not expanded: each
    // keyword path is one key (`crate::columns::column_name`).
    let col = builder.add_json_field(names::COL, JsonObjectOptions::default().set_fast("raw"));
    // With frequencies: a record holding the same number twice has it
    // twice in a sum or a quantile (`crate::rows`).
    let num = builder.add_text_field(
        names::NUM,
        TextOptions::default()
            .set_indexing_options(raw.clone().set_index_option(IndexRecordOption::WithFreqs)),
    );
    let path = builder.add_text_field(
        names::PATH,
        TextOptions::default().set_indexing_options(raw),
    );
    (
        builder.build(),
        Fields {
            seq,
            ts,
            message,
            kw,
            col,
            num,
            path,
        },
    )
}

/// Opens the index's writer with the configured threads and memory budget
/// (at least 16 MiB a thread, tantivy's floor) and merge threads.
pub(crate) fn writer(
    index: &Index,
    config: &TantivyConfig,
) -> tantivy::Result<IndexWriter<TantivyDocument>> {
    let threads = config.indexing_threads.max(1);
    let memory = config.writer_memory_bytes.max(threads * (16 << 20));
    let options = tantivy::indexer::IndexWriterOptions::builder()
        .num_worker_threads(threads)
        .memory_budget_per_thread(memory / threads)
        .num_merge_threads(config.merge_threads.max(1))
        .build();
    index.writer_with_options(options)
}

/// Registers the message tokenizer on `index` (needed before indexing or
/// searching `message`).
pub(crate) fn register_tokenizer(index: &Index) {
    index.tokenizers().register(
        tokenizer::NAME,
        TextAnalyzer::from(MessageTokenizer::default()),
    );
}

/// The settings of a new index. No field is stored, yet tantivy's document
/// store keeps an entry per document (its position, 4 bytes a record in
/// lz4); zstd over large blocks keeps it small, and nothing reads it.
pub(crate) fn settings() -> IndexSettings {
    IndexSettings {
        docstore_compression: Compressor::Zstd(ZstdCompressor::default()),
        docstore_blocksize: 1 << 20,
        ..IndexSettings::default()
    }
}

/// The index's own file saying how its files are written, beside tantivy's
/// (which it neither lists nor removes).
const FORMAT_FILE: &str = "logingest-index-format";

/// What [`FORMAT_FILE`] holds for an index of this version: its term
/// dictionaries are tantivy's sstables (its `quickwit` feature), which the
/// FST dictionaries of earlier versions cannot be read as, its commits say
/// which keyword paths have a column, and the paths in its `kw` terms are
/// escaped (`logingest_core::keyword_term`), it has the `num` terms of
/// numeric comparisons, and their frequencies.
const FORMAT: &str = "sstable-terms\nkeyword-columns\nescaped-paths\nnumbers\nnumber-counts\n";

/// Opens the index in `dir`, or creates it. An index written otherwise (of
/// another schema, without this version's format file, or with a commit
/// payload this version cannot read) is removed and
/// created anew: the index is derived data, and the backend re-indexes every
/// record from the record store when the new index's commit says it holds
/// none.
fn open_or_rebuild(dir: &Path, schema: Schema) -> tantivy::Result<Index> {
    let open = |schema: Schema| {
        let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        Index::builder()
            .schema(schema)
            .settings(settings())
            .open_or_create(directory)
    };
    let format = dir.join(FORMAT_FILE);
    let exists = dir.join("meta.json").exists();
    let ours = std::fs::read_to_string(&format).is_ok_and(|f| f == FORMAT);
    let index = match open(schema.clone()) {
        Ok(index) if (!exists || ours) && payload(&index)?.is_some() => Ok(index),
        Ok(_) | Err(tantivy::TantivyError::SchemaError(_)) => {
            std::fs::remove_dir_all(dir)?;
            std::fs::create_dir_all(dir)?;
            open(schema)
        }
        Err(e) => Err(e),
    }?;
    if !ours {
        std::fs::write(&format, FORMAT)?;
    }
    Ok(index)
}

/// Opens (or creates) the index in `dir` with its reader, and the payload
/// of its last commit.
fn open_index(dir: &Path) -> tantivy::Result<(Index, IndexReader, Payload)> {
    let (schema, _) = schema();
    let mut index = open_or_rebuild(dir, schema)?;
    index.set_default_multithread_executor()?;
    register_tokenizer(&index);
    let payload = payload(&index)?.unwrap_or_default();
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok((index, reader, payload))
}

/// The payload of the index's last commit (the default for an index never
/// committed to); `None` if it cannot be read.
fn payload(index: &Index) -> tantivy::Result<Option<Payload>> {
    Ok(match index.load_metas()?.payload {
        Some(text) => serde_json::from_str(&text).ok(),
        None => Some(Payload::default()),
    })
}

/// What a queued document is assumed to cost beyond twice its record's
/// source (the field values, their copies as terms): a rough figure, it
/// only has to keep the queue's memory in proportion to its budget.
const DOC_OVERHEAD_BYTES: usize = 256;

/// The tantivy side of a backend directory.
pub(crate) struct SearchIndex {
    pub fields: Fields,
    index: Index,
    reader: IndexReader,
    writer: Mutex<WriterState>,
    /// Acknowledged documents not yet added to the writer.
    pending: Pending,
    /// Which keyword paths have a column. Locked alone, or after `writer`;
    /// written only to plan a batch, read while its documents are built
    /// (so facets need not wait for a batch to be built).
    columns: RwLock<KeywordColumns>,
    /// For the writers [`SearchIndex::rebuild_uncommitted`] creates.
    config: TantivyConfig,
    /// The index directory.
    dir: PathBuf,
}

/// Tantivy's writer and what it holds beyond the last commit.
///
/// Why `writer` is re-created rather than rolled back: when an indexing
/// thread of tantivy's writer fails (a full disk while it writes a
/// segment), the writer is dead for good ("index writer was killed") and
/// the documents that thread held are gone. A writer that failed to add
/// or to commit is therefore dropped, and a new one opened on the last
/// commit on disk, which every document after it is re-indexed into from
/// SQLite. `None` between the two, or when opening one failed.
struct WriterState {
    writer: Option<IndexWriter<TantivyDocument>>,
    /// Highest sequence number added to the writer.
    added_through: u64,
    /// Highest sequence number in the last commit.
    committed_through: u64,
    /// Why the writer must not commit: adding or committing failed, so
    /// documents may be missing from it. Cleared (for a new writer) by
    /// [`SearchIndex::rebuild_uncommitted`]. A full disk stays
    /// [`Error::DiskFull`] here, which is how the backend knows it must
    /// refuse writes until a rebuild succeeds.
    failure: Option<Error>,
    /// The index directory, to classify write errors
    /// ([`error::index_write`]).
    dir: PathBuf,
}

impl WriterState {
    /// The writer, unless a failure left none.
    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        if let Some(e) = &self.failure {
            return Err(e.clone());
        }
        self.writer.as_mut().ok_or_else(not_committable)
    }

    /// Adds documents `first_seq..` to the writer; on failure records why
    /// (the caller re-indexes from SQLite later).
    fn add(&mut self, first_seq: u64, docs: Vec<TantivyDocument>) -> Result<()> {
        self.writer()?;
        // Failed until every document is in: a panic half way leaves it
        // set, so no commit can claim the missing ones.
        self.failure = Some(not_committable());
        let writer = self.writer.as_mut().ok_or_else(not_committable)?;
        for (i, doc) in docs.into_iter().enumerate() {
            if let Err(e) = writer.add_document(doc) {
                let e = error::index_write(&self.dir, cause(writer, e));
                self.failure = Some(e.clone());
                return Err(e);
            }
            self.added_through = first_seq + i as u64;
        }
        self.failure = None;
        Ok(())
    }

    /// Adds every batch still queued in `pending`.
    fn drain(&mut self, pending: &Pending) -> Result<()> {
        while let Some(batch) = pending.pop() {
            self.add(batch.first_seq, batch.docs)?;
        }
        Ok(())
    }

    /// Commits what was added, with its payload (the keyword columns'
    /// state, which covers every document added); a failure is recorded as
    /// for [`WriterState::add`] (the writer may have lost documents).
    fn commit(&mut self, columns: &RwLock<KeywordColumns>) -> Result<()> {
        let through = self.added_through;
        let writer = self.writer()?;
        let committed = writer.prepare_commit().and_then(|mut prepared| {
            let payload = Payload {
                seq: through,
                columns: columns.read().saved(),
            };
            let payload = serde_json::to_string(&payload).expect("serializable");
            prepared.set_payload(&payload);
            prepared.commit()
        });
        match committed {
            Ok(_) => {
                self.committed_through = through;
                Ok(())
            }
            Err(e) => {
                let e = error::index_write(&self.dir, e);
                self.failure = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// The error that stopped tantivy's writer: after one of its indexing
/// threads failed, adding answers only "index writer was killed"; the
/// thread's own error (an I/O error such as a full disk) is what preparing
/// a commit returns when it joins the threads.
fn cause(
    writer: &mut IndexWriter<TantivyDocument>,
    e: tantivy::TantivyError,
) -> tantivy::TantivyError {
    match e {
        tantivy::TantivyError::ErrorInThread(_) => match writer.prepare_commit() {
            Err(cause) => cause,
            Ok(_) => e,
        },
        e => e,
    }
}

fn not_committable() -> Error {
    Error::backend_msg(
        true,
        "the search index lost documents to a failed write and is being rebuilt from the record store; retry",
    )
}

/// Commit payload: the highest sequence number the commit contains, and
/// which keyword paths have a column in it.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Payload {
    seq: u64,
    columns: SavedColumns,
}

impl SearchIndex {
    /// Opens or creates the index in `dir`. It has no writer yet:
    /// [`SearchIndex::rebuild_uncommitted`] (which opening the backend
    /// runs) opens one.
    pub(crate) fn open(dir: &Path, config: &TantivyConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(error::io)?;
        let (_, fields) = schema();
        let (index, reader, payload) = match open_index(dir) {
            // The index is derived from SQLite: one whose files do not add
            // up (a file its metadata names is missing, say after a kill
            // during a merge) is rebuilt, and the backend's recovery then
            // indexes every stored record again. Never for I/O errors or
            // a full disk, which a rebuild would not cure.
            Err(tantivy::TantivyError::OpenReadError(_)) => {
                std::fs::remove_dir_all(dir).map_err(error::io)?;
                std::fs::create_dir_all(dir).map_err(error::io)?;
                open_index(dir).map_err(error::index)?
            }
            other => other.map_err(error::index)?,
        };
        let committed_through = payload.seq;
        let columns = KeywordColumns::new(
            config.column_paths,
            config.column_window,
            Some(payload.columns),
        );
        Ok(SearchIndex {
            fields,
            index,
            reader,
            writer: Mutex::new(WriterState {
                writer: None,
                added_through: committed_through,
                committed_through,
                failure: None,
                dir: dir.to_owned(),
            }),
            pending: Pending::new(config.index_queue_bytes),
            columns: RwLock::new(columns),
            config: config.clone(),
            dir: dir.to_owned(),
        })
    }

    /// Queues the documents of acknowledged records `first_seq..` for the
    /// indexing thread (not yet visible); waits while the queue is over its
    /// byte budget.
    pub(crate) fn enqueue(&self, first_seq: u64, records: &[Record]) {
        let mut bytes = 0;
        let docs = self.documents(first_seq, records, |record| {
            bytes += DOC_OVERHEAD_BYTES + 2 * record.source().len();
        });
        self.pending.push(Batch { first_seq, docs }, bytes);
    }

    /// The documents of records `first_seq..`, their keyword columns
    /// decided first; `each` sees every record.
    fn documents(
        &self,
        first_seq: u64,
        records: &[Record],
        mut each: impl FnMut(&Record),
    ) -> Vec<TantivyDocument> {
        // Planned first, then built under a read lock: another batch
        // planned in between can only take columns away from paths (a
        // document built with a column that is gone is harmless) or give
        // columns to paths this batch does not hold.
        self.columns.write().plan(records);
        let columns = self.columns.read();
        records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                each(record);
                document(&self.fields, &columns, first_seq + i as u64, record)
            })
            .collect()
    }

    /// Whether `path`'s keyword values have a column in every segment.
    pub(crate) fn has_column(&self, path: &str) -> bool {
        self.columns.read().has_column(path)
    }

    /// Waits for queued documents; false once [`SearchIndex::close_queue`]
    /// was called.
    pub(crate) fn wait_for_queued(&self) -> bool {
        self.pending.wait()
    }

    /// Stops [`SearchIndex::wait_for_queued`] from waiting (shutdown); what
    /// is queued is still added by the next commit.
    pub(crate) fn close_queue(&self) {
        self.pending.close();
    }

    /// Adds the oldest queued batch to the writer (the indexing thread).
    pub(crate) fn index_queued(&self) -> Result<()> {
        let mut state = self.writer.lock();
        // Popped under the writer's lock, so batches reach the writer in
        // the order they were queued even when a commit drains concurrently.
        match self.pending.pop() {
            Some(batch) => state.add(batch.first_seq, batch.docs),
            None => Ok(()),
        }
    }

    /// Whether adding to or committing the writer failed since the last
    /// rebuild, or there is no writer yet: either way, only
    /// [`SearchIndex::rebuild_uncommitted`] makes the index committable.
    pub(crate) fn is_failed(&self) -> bool {
        let state = self.writer.lock();
        state.failure.is_some() || state.writer.is_none()
    }

    /// The disk-full error that keeps the index from committing, if that
    /// is why it cannot.
    pub(crate) fn disk_full(&self) -> Option<Error> {
        self.writer
            .lock()
            .failure
            .clone()
            .filter(Error::is_disk_full)
    }

    /// Discards everything added or queued since the last commit, opens a
    /// new writer on the last commit (dropping the old one, which may be
    /// dead), then re-indexes what `scan` reads back from SQLite after the
    /// committed sequence number, and commits if it found any. `scan(from,
    /// add)` calls `add(seq, source)` for every row after `from`. The
    /// writer stays locked throughout, so no concurrent commit sees a
    /// half-rebuilt writer. On failure the error is kept as the reason the
    /// index cannot commit, and the next rebuild starts over.
    pub(crate) fn rebuild_uncommitted(
        &self,
        scan: impl FnOnce(u64, &mut dyn FnMut(u64, &str) -> Result<()>) -> Result<u64>,
    ) -> Result<()> {
        let mut state = self.writer.lock();
        self.pending.clear();
        // First drop the old writer: it holds the directory's lock.
        state.writer = None;
        state.added_through = state.committed_through;
        state.failure = None;
        let opened = writer(&self.index, &self.config).and_then(|writer| {
            // The files of the segments the old writer wrote since the last
            // commit belong to no commit: on a full disk they hold the space
            // the rebuild needs.
            writer.garbage_collect_files().wait()?;
            Ok(writer)
        });
        match opened {
            Ok(writer) => state.writer = Some(writer),
            Err(e) => {
                let e = error::index_write(&self.dir, e);
                state.failure = Some(e.clone());
                return Err(e);
            }
        }
        let from = state.committed_through;
        let scanned = scan(from, &mut |seq, source| {
            let record = parse_stored_record(seq, source)?;
            state.add(seq, self.documents(seq, &[record], |_| ()))
        });
        match scanned {
            Ok(0) => Ok(()),
            Ok(_) => self.commit_locked(state),
            Err(e) => {
                // A failed read leaves documents out just as a failed add.
                state.failure.get_or_insert_with(|| e.clone());
                Err(e)
            }
        }
    }

    /// Whether documents were added or queued since the last commit.
    pub(crate) fn is_dirty(&self) -> bool {
        let state = self.writer.lock();
        state.added_through != state.committed_through || !self.pending.is_empty()
    }

    /// Commits everything added or queued (durably, with its payload) and
    /// makes it visible to new searchers.
    pub(crate) fn commit(&self) -> Result<()> {
        let mut state = self.writer.lock();
        state.drain(&self.pending)?;
        self.commit_locked(state)
    }

    fn commit_locked(&self, mut state: parking_lot::MutexGuard<'_, WriterState>) -> Result<()> {
        state.commit(&self.columns)?;
        drop(state);
        self.reader.reload().map_err(error::index)
    }

    /// Deletes documents with `ts < cutoff` and commits.
    pub(crate) fn delete_older_than(&self, cutoff: Timestamp) -> Result<()> {
        let mut state = self.writer.lock();
        // A delete applies to documents added before it: queued ones first.
        state.drain(&self.pending)?;
        let lower = std::ops::Bound::Unbounded;
        let upper =
            std::ops::Bound::Excluded(Term::from_field_i64(self.fields.ts, cutoff.as_nanos()));
        state
            .writer()?
            .delete_query(Box::new(RangeQuery::new(lower, upper)))
            .map_err(error::index)?;
        self.commit_locked(state)
    }

    /// A searcher over the last reloaded commit.
    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The underlying index (benches, tests).
    pub(crate) fn index(&self) -> &Index {
        &self.index
    }
}

#[cfg(test)]
mod tests;
