//! The search index: what tantivy holds and how it is kept in step with SQLite.
//!
//! Schema (see `docs/backends.md` for the measurements behind it):
//!
//! | field | type | why |
//! |---|---|---|
//! | `seq` | u64, fast | identity and tie order; joins hits back to SQLite |
//! | `ts` | i64, indexed + fast | time ranges, order, histograms |
//! | `message` | text, our tokenizer, positions, **stored** | terms, phrases, wildcards; stored so regexes can be verified without SQLite |
//! | `kw` | raw text `path\0value`, fast | keyword equality, wildcards, regexes (term dictionary), facets (fast column) |
//! | `path` | raw text | `field:*`: every keyword path and each of its parents |
//!
//! The record itself (its exact source) is **not** stored here: SQLite has
//! it, and a page of hits reads at most a few hundred rows by primary key.
//!
//! Consistency: documents are added after their batch committed in SQLite,
//! in sequence order, and every tantivy commit carries the highest sequence
//! number it contains as its payload. After a crash, SQLite rows beyond that
//! number are indexed again, so the index holds each record exactly once.

use std::path::Path;

use logingest_core::{parse_records, Limits, ParseOptions, Record, Result, Timestamp};
use parking_lot::Mutex;
use tantivy::directory::MmapDirectory;
use tantivy::query::RangeQuery;
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::config::TantivyConfig;
use crate::error;
use crate::pending::{Batch, Pending};
use crate::tokenizer::{self, MessageTokenizer};

/// Separates the path from the value in `kw` terms. No path contains it
/// (paths come from JSON keys joined by dots, and `\0` cannot be typed in a
/// query field name).
pub(crate) const KW_SEPARATOR: char = '\0';

/// The schema's fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub seq: Field,
    pub ts: Field,
    pub message: Field,
    pub kw: Field,
    pub path: Field,
}

/// Field names, also used to open fast-field columns.
pub(crate) mod names {
    pub const SEQ: &str = "seq";
    pub const TS: &str = "ts";
    pub const MESSAGE: &str = "message";
    pub const KW: &str = "kw";
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
        TextOptions::default()
            .set_indexing_options(message_indexing)
            .set_stored(),
    );
    let raw = TextFieldIndexing::default()
        .set_tokenizer("raw")
        .set_index_option(IndexRecordOption::Basic)
        .set_fieldnorms(false);
    let kw = builder.add_text_field(
        names::KW,
        TextOptions::default()
            .set_indexing_options(raw.clone())
            .set_fast("raw"),
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
            path,
        },
    )
}

/// The `kw` term text of one keyword value.
pub(crate) fn kw_text(path: &str, value: &str) -> String {
    let mut text = String::with_capacity(path.len() + 1 + value.len());
    text.push_str(path);
    text.push(KW_SEPARATOR);
    text.push_str(value);
    text
}

/// The tantivy document of one record.
pub(crate) fn document(fields: &Fields, seq: u64, record: &Record) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_u64(fields.seq, seq);
    doc.add_i64(fields.ts, record.timestamp().as_nanos());
    doc.add_text(fields.message, record.message());
    // Every path and each parent (`a.b.c` → `a.b`, `a`) answers `field:*`;
    // sorted and deduplicated at the end, so a record with many keys costs
    // n log n, not n².
    let mut paths: Vec<&str> = Vec::new();
    for (path, value) in record.keywords() {
        doc.add_text(fields.kw, kw_text(path, value));
        let mut p = path.as_str();
        loop {
            paths.push(p);
            match p.rfind('.') {
                Some(i) => p = &p[..i],
                None => break,
            }
        }
    }
    paths.sort_unstable();
    paths.dedup();
    for p in paths {
        doc.add_text(fields.path, p);
    }
    doc
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

/// Opens the index in `dir`, or creates it. An index of another schema
/// (written by an older version) is removed and created anew: the index is
/// derived data, and the backend re-indexes every record from the record
/// store when the new index's commit says it holds none.
fn open_or_rebuild(dir: &Path, schema: Schema) -> Result<Index> {
    let open = |schema: Schema| {
        let directory = MmapDirectory::open(dir).map_err(tantivy::TantivyError::from)?;
        Index::open_or_create(directory, schema)
    };
    match open(schema.clone()) {
        Err(tantivy::TantivyError::SchemaError(_)) => {
            std::fs::remove_dir_all(dir).map_err(error::io)?;
            std::fs::create_dir_all(dir).map_err(error::io)?;
            open(schema).map_err(error::index)
        }
        other => other.map_err(error::index),
    }
}

/// Parses a record read back from SQLite (recovery).
fn stored_record(seq: u64, source: &str) -> Result<Record> {
    // The record passed the ingest limits when it was accepted, whatever
    // they were then; re-checking it against today's defaults could make
    // the directory impossible to open. Only the term limit stays: it is
    // what the index can hold.
    let limits = Limits::default()
        .max_record_bytes(usize::MAX)
        .max_body_bytes(usize::MAX)
        .max_records(usize::MAX)
        .max_depth(usize::MAX);
    let options = ParseOptions::default()
        .limits(limits)
        .receive_time(Timestamp(0));
    parse_records(source.as_bytes(), &options)?
        .pop()
        .ok_or_else(|| {
            logingest_core::Error::backend_msg(false, format!("stored record {seq} is empty"))
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
}

struct WriterState {
    writer: IndexWriter<TantivyDocument>,
    /// Highest sequence number added to the writer.
    added_through: u64,
    /// Highest sequence number in the last commit.
    committed_through: u64,
    /// Adding to the writer failed: documents are missing from it, so it
    /// must not commit until [`SearchIndex::rebuild_uncommitted`] rolled it
    /// back and re-indexed from SQLite.
    failed: bool,
}

impl WriterState {
    /// Adds documents `first_seq..` to the writer; on failure marks the
    /// state failed (the caller re-indexes from SQLite later).
    fn add(&mut self, first_seq: u64, docs: Vec<TantivyDocument>) -> Result<()> {
        if self.failed {
            return Err(not_committable());
        }
        // Failed until every document is in: an error or a panic half way
        // leaves the flag set, so no commit can claim the missing ones.
        self.failed = true;
        for (i, doc) in docs.into_iter().enumerate() {
            self.writer.add_document(doc).map_err(error::index)?;
            self.added_through = first_seq + i as u64;
        }
        self.failed = false;
        Ok(())
    }

    /// Adds every batch still queued in `pending`.
    fn drain(&mut self, pending: &Pending) -> Result<()> {
        while let Some(batch) = pending.pop() {
            self.add(batch.first_seq, batch.docs)?;
        }
        Ok(())
    }
}

fn not_committable() -> logingest_core::Error {
    logingest_core::Error::backend_msg(
        true,
        "the search index lost documents to a failed write and is being rebuilt from the record store; retry",
    )
}

/// Commit payload: the highest sequence number the commit contains.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    seq: u64,
}

impl SearchIndex {
    /// Opens or creates the index in `dir`.
    pub(crate) fn open(dir: &Path, config: &TantivyConfig) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(error::io)?;
        let (schema, fields) = schema();
        let index = open_or_rebuild(dir, schema)?;
        register_tokenizer(&index);
        let committed_through = match index.load_metas().map_err(error::index)?.payload {
            Some(text) => serde_json::from_str::<Payload>(&text)
                .map(|p| p.seq)
                .unwrap_or(0),
            None => 0,
        };
        let writer = writer(&index, config).map_err(error::index)?;
        // Files no commit refers to (the output of a merge that was still
        // running when the last process stopped) are dead weight until the
        // next commit's clean-up; drop them now.
        writer
            .garbage_collect_files()
            .wait()
            .map_err(error::index)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(error::index)?;
        Ok(SearchIndex {
            fields,
            index,
            reader,
            writer: Mutex::new(WriterState {
                writer,
                added_through: committed_through,
                committed_through,
                failed: false,
            }),
            pending: Pending::new(config.index_queue_bytes),
        })
    }

    /// Queues the documents of acknowledged records `first_seq..` for the
    /// indexing thread (not yet visible); waits while the queue is over its
    /// byte budget.
    pub(crate) fn enqueue(&self, first_seq: u64, records: &[Record]) {
        let mut bytes = 0;
        let docs = records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                bytes += DOC_OVERHEAD_BYTES + 2 * record.source().len();
                document(&self.fields, first_seq + i as u64, record)
            })
            .collect();
        self.pending.push(Batch {
            first_seq,
            docs,
            bytes,
        });
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

    /// Whether adding to the writer failed since the last rebuild.
    pub(crate) fn is_failed(&self) -> bool {
        self.writer.lock().failed
    }

    /// Discards everything added or queued since the last commit, then
    /// re-indexes what `scan` reads back from SQLite after the committed
    /// sequence number, and commits if it found any. `scan(from, add)` calls
    /// `add(seq, source)` for every row after `from`. The writer stays
    /// locked throughout, so no concurrent commit sees a half-rebuilt
    /// writer.
    pub(crate) fn rebuild_uncommitted(
        &self,
        scan: impl FnOnce(u64, &mut dyn FnMut(u64, &str) -> Result<()>) -> Result<u64>,
    ) -> Result<()> {
        let mut state = self.writer.lock();
        self.pending.clear();
        state.writer.rollback().map_err(error::index)?;
        state.added_through = state.committed_through;
        state.failed = false;
        let from = state.committed_through;
        let n = scan(from, &mut |seq, source| {
            let record = stored_record(seq, source)?;
            state.add(seq, vec![document(&self.fields, seq, &record)])
        })?;
        if n > 0 {
            self.commit_locked(state)?;
        }
        Ok(())
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
        if state.failed {
            return Err(not_committable());
        }
        let through = state.added_through;
        let mut prepared = state.writer.prepare_commit().map_err(error::index)?;
        prepared
            .set_payload(&serde_json::to_string(&Payload { seq: through }).expect("serializable"));
        prepared.commit().map_err(error::index)?;
        state.committed_through = through;
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
            .writer
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
mod tests {
    use logingest_core::{parse_records, Limits, ParseOptions};
    use tantivy::schema::Value;

    use super::*;

    fn wide(n: usize) -> Record {
        let members: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{{"x":"v"}}"#)).collect();
        let text = format!(r#"{{"message":"m","metadata":{{{}}}}}"#, members.join(","));
        let limits = Limits::default()
            .max_record_bytes(usize::MAX)
            .max_body_bytes(usize::MAX);
        let options = ParseOptions::default().limits(limits);
        parse_records(text.as_bytes(), &options).unwrap().remove(0)
    }

    #[test]
    fn each_path_and_parent_once() {
        let (_, fields) = schema();
        let doc = document(&fields, 1, &wide(3));
        let mut paths: Vec<&str> = doc
            .get_all(fields.path)
            .filter_map(|v| v.as_str())
            .collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "metadata",
                "metadata.k0",
                "metadata.k0.x",
                "metadata.k1",
                "metadata.k1.x",
                "metadata.k2",
                "metadata.k2.x"
            ]
        );
    }

    #[test]
    fn documents_cost_linear_time_in_their_keys() {
        // A ratio within one run, not a time limit: 8× the keys must cost
        // about 8× (the earlier list search for known paths cost ~64×; the
        // bound leaves room for a busy machine).
        let (_, fields) = schema();
        let (small, large) = (wide(2_500), wide(20_000));
        let fastest = |record: &Record| {
            (0..5)
                .map(|_| {
                    let started = std::time::Instant::now();
                    std::hint::black_box(document(&fields, 1, record));
                    started.elapsed()
                })
                .min()
                .unwrap()
                .as_secs_f64()
        };
        let ratio = fastest(&large) / fastest(&small);
        assert!(ratio < 24.0, "8× the keys took {ratio:.1}× the time");
    }
}
