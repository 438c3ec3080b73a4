//! [`TantivyBackend`]: one directory, SQLite as the system of record,
//! tantivy as the search index.
//!
//! Write path: `write_batch` commits the batch in SQLite (durable, the
//! acknowledgement) and queues its documents for the indexing thread, which
//! adds them to the tantivy writer behind the acknowledgement
//! ([`crate::pending`]).
//! `refresh` — called by the ingester, by the background thread every
//! `refresh_interval`, or by the user — commits tantivy with the highest
//! sequence number as payload and reloads the reader. On open, SQLite rows
//! beyond the payload are indexed again, so a crash anywhere leaves every
//! acknowledged record in the index exactly once.
//!
//! A full disk ([`Error::DiskFull`]) degrades the backend without closing
//! it: a batch SQLite cannot store is refused whole, and while the index
//! cannot commit for lack of space, every batch is refused too (so that no
//! more records are acknowledged that search could not find); searches keep
//! answering from the last commit, which holds every record acknowledged
//! before. Each refresh, refused write and health check retries: once
//! space is back, the index is rebuilt from SQLite on a new tantivy writer
//! and writes are taken again, without a restart. Opening on a full disk
//! works the same way (the index answers from its last commit). Details and
//! tests: `docs/hardening.md`, "Disk full".
//!
//! Read path: build the tantivy query from the AST ([`crate::translate`]),
//! collect `(timestamp, seq)` of the page with an exact count
//! ([`crate::collect`]), then read the sources of the page from SQLite.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use logingest_core::query::pipe::Pipe;
use logingest_core::query::{translate, Query};
use logingest_core::rows::{rows_by_counts, Groups};
use logingest_core::{
    parse_stored_record, Backend, Capabilities, Error, FacetRequest, Facets, Histogram,
    HistogramRequest, Ranked, Record, Result, Rows, RowsRequest, SearchPage, SearchRequest, Stats,
    Timestamp, WriteAck,
};
use parking_lot::{Condvar, Mutex};

use crate::collect::{Buckets, Page};
use crate::config::TantivyConfig;
use crate::dictionary::TermTexts;
use crate::error;
use crate::facets::{ValueFruit, Values};
use crate::index::SearchIndex;
use crate::rows::{native, Matches};
use crate::store::Store;
use crate::translate::QueryBuilder;
use crate::verify::Failure;

/// Key of the `meta` row that records a retention deletion in progress.
const RETENTION_PENDING: &str = "retention_pending";

/// The embedded backend. Cheap to share: wrap it in an `Arc`.
pub struct TantivyBackend {
    inner: Arc<Inner>,
    /// The refresh and upkeep threads.
    background: Vec<Periodic>,
    /// Feeds queued documents to tantivy's writer.
    indexer: Option<JoinHandle<()>>,
}

struct Inner {
    dir: PathBuf,
    store: Arc<Store>,
    index: SearchIndex,
    /// Serialises writers, recovery and retention: one batch at a time
    /// reaches SQLite and the index queue, in sequence order. Refreshes do
    /// not take it, so a tantivy commit never holds up an acknowledgement.
    write: Mutex<()>,
    /// Message terms of each segment as text, for substring search.
    term_texts: TermTexts,
    /// The disk-full error of the last batch SQLite refused, until a batch
    /// is stored or [`error::probe_space`] finds room again.
    store_full: Mutex<Option<Error>>,
    /// Held for the backend's lifetime: one process per directory.
    _lock: File,
}

impl std::fmt::Debug for TantivyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TantivyBackend")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

impl TantivyBackend {
    /// Opens (or creates) the backend in `dir`, recovering the index from
    /// SQLite if the last run did not commit it.
    ///
    /// Fails if another process has the directory open.
    pub fn open(dir: impl AsRef<Path>, config: TantivyConfig) -> Result<Self> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(error::io)?;
        let lock = lock(&dir)?;
        let store = Arc::new(Store::open(&dir.join("records.sqlite"), &config)?);
        let index = SearchIndex::open(&dir.join("index"), &config)?;
        let inner = Arc::new(Inner {
            dir,
            store,
            index,
            write: Mutex::new(()),
            term_texts: TermTexts::default(),
            store_full: Mutex::new(None),
            _lock: lock,
        });
        inner.finish_retention()?;
        match inner.recover() {
            // Open degraded: searches answer from the last commit, writes
            // are refused until a rebuild finds room (see the module docs).
            Err(e) if e.is_disk_full() => {}
            other => other?,
        }
        let indexer = {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("logingest-index".into())
                .spawn(move || {
                    // A failure marks the writer failed; the next refresh
                    // re-indexes from SQLite.
                    while inner.index.wait_for_queued() {
                        let _ = inner.index.index_queued();
                    }
                })
                .map_err(error::io)?
        };

        let mut background = Vec::new();
        if let Some(every) = config.refresh_interval {
            let inner = Arc::clone(&inner);
            // A failed refresh is retried at the next tick; searches keep
            // the last good view meanwhile.
            background.push(Periodic::start("logingest-refresh", every, move || {
                let _ = inner.refresh();
            }));
        }
        if let Some(every) = config.upkeep_interval {
            let inner = Arc::clone(&inner);
            // So is the record store's upkeep: it can always wait.
            background.push(Periodic::start("logingest-upkeep", every, move || {
                let _ = inner.store.maintain();
            }));
        }
        Ok(TantivyBackend {
            inner,
            background,
            indexer: Some(indexer),
        })
    }

    /// The directory this backend lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Runs one pass of the record store's upkeep now (merging small
    /// blocks, training a dictionary set when due), as the refresh thread
    /// does after each refresh. For tests and tools; returns how many blocks
    /// were replaced and whether a set was trained.
    #[doc(hidden)]
    pub fn maintain_store(&self) -> Result<(u64, bool)> {
        let done = self.inner.store.maintain()?;
        Ok((done.blocks_rewritten, done.trained))
    }

    /// The tantivy index (for benches and tools; not needed to use the backend).
    #[doc(hidden)]
    pub fn tantivy_index(&self) -> &tantivy::Index {
        self.inner.index.index()
    }
}

/// Takes the directory's lock file, or explains who holds it.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join("LOCK");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(error::io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::backend_msg(
            false,
            format!(
                "{} is already open by another process (lock file {}); one writer process per directory",
                dir.display(),
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(error::io(e)),
    }
}

impl Inner {
    /// Indexes SQLite rows the index has not committed, then commits.
    fn recover(&self) -> Result<()> {
        let _write = self.write.lock();
        self.recover_locked()
    }

    /// [`Inner::recover`] for a caller that holds the write lock.
    fn recover_locked(&self) -> Result<()> {
        self.index.rebuild_uncommitted(|from, add| {
            self.store
                .scan_after(from, |seq, _, source| add(seq, source))
        })
    }

    /// Completes a retention deletion a crash interrupted.
    fn finish_retention(&self) -> Result<()> {
        if let Some(cutoff) = self.store.meta(RETENTION_PENDING)? {
            let cutoff = cutoff
                .parse::<i64>()
                .map(Timestamp)
                .map_err(|e| Error::backend(false, e))?;
            self.delete_older_than(cutoff)?;
        }
        Ok(())
    }

    fn refresh(&self) -> Result<()> {
        if self.index.is_failed() {
            return self.recover();
        }
        if self.index.is_dirty() {
            match self.index.commit() {
                // Indexing failed on the way: rebuild from SQLite.
                Err(_) if self.index.is_failed() => return self.recover(),
                other => other?,
            }
        }
        Ok(())
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        let _write = self.write.lock();
        // The deletion commits the index: first make sure it holds nothing
        // that a failed write left behind.
        if self.index.is_failed() {
            self.recover_locked()?;
        }
        // Order matters for crash safety: record the intent, delete from the
        // index (so no search can find a row about to vanish), then from
        // SQLite, then clear the intent. A crash in between is finished on open.
        self.store
            .set_meta(RETENTION_PENDING, &cutoff.as_nanos().to_string())?;
        self.index.delete_older_than(cutoff)?;
        let deleted = self.store.delete_older_than(cutoff)?;
        self.store.delete_meta(RETENTION_PENDING)?;
        Ok(deleted)
    }

    /// Runs `query` through `collector`: an error met while verifying
    /// candidates on the record store fails the search.
    fn run<C: tantivy::collector::Collector>(
        &self,
        searcher: &tantivy::Searcher,
        query: &Query,
        collector: &C,
    ) -> Result<C::Fruit> {
        let failure = Failure::default();
        let mut builder = QueryBuilder {
            fields: self.index.fields,
            searcher,
            store: &self.store,
            failure: &failure,
            term_texts: &self.term_texts,
        };
        let tantivy_query = translate(query, &mut builder)?;
        let fruit = searcher
            .search(tantivy_query.as_ref(), collector)
            .map_err(error::index)?;
        let failed = failure.lock().take();
        match failed {
            Some(e) => Err(e),
            None => Ok(fruit),
        }
    }
}

impl Backend for TantivyBackend {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new("tantivy");
        caps.persistent = true;
        caps
    }

    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        let inner = &self.inner;
        let _write = inner.write.lock();
        if inner.index.disk_full().is_some() {
            // The index could not take the last records for lack of space:
            // try again now, and refuse the batch while it still cannot.
            inner.recover_locked()?;
        }
        let ack = match inner.store.append(records) {
            Err(e) => {
                if e.is_disk_full() {
                    *inner.store_full.lock() = Some(e.clone());
                }
                return Err(e);
            }
            Ok(ack) => ack,
        };
        *inner.store_full.lock() = None;
        if !records.is_empty() {
            // Durable: the acknowledgement stands whatever happens to the
            // index, which catches up from SQLite if indexing fails.
            inner.index.enqueue(ack.first_seq, records);
        }
        Ok(ack)
    }

    fn refresh(&self) -> Result<()> {
        self.inner.refresh()
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        request.validate()?;
        let inner = &self.inner;
        let searcher = inner.index.searcher();
        let query = request.time.within(&request.query);
        let collector = Page {
            order: request.order,
            limit: request.limit.saturating_add(1),
            cursor: request.cursor,
        };
        let (total, ranked) = inner.run(&searcher, &query, &collector)?;
        let ranked = Ranked::from_nanos(ranked, request.limit);
        let sources = inner.store.sources(&ranked.seqs())?;
        Ok(ranked.into_page(total, sources))
    }

    fn histogram(&self, request: &HistogramRequest) -> Result<Histogram> {
        request.validate()?;
        let searcher = self.inner.index.searcher();
        let query = request.selection();
        let counts = self.inner.run(&searcher, &query, &Buckets::new(request))?;
        Ok(Histogram::new(
            request.start,
            request.bucket_width(),
            counts,
        ))
    }

    fn facets(&self, request: &FacetRequest) -> Result<Facets> {
        request.validate()?;
        let searcher = self.inner.index.searcher();
        let query = request.time.within(&request.query);
        let values = Values {
            path: request.field.clone(),
            column: self.inner.index.has_column(&request.field),
            kw: self.inner.index.fields.kw,
        };
        let ValueFruit {
            mut counts,
            mut seqs,
        } = self.inner.run(&searcher, &query, &values)?;
        // Segments with few matches of a path without a column: their
        // values, from the records. A record retention dropped since the
        // searcher's snapshot is not counted (a page would not show it).
        seqs.sort_unstable();
        let sources = self.inner.store.sources(&seqs)?;
        for (seq, source) in seqs.into_iter().zip(sources) {
            if let Some(source) = source {
                request.count_record(&mut counts, &parse_stored_record(seq, &source)?);
            }
        }
        Ok(request.top(counts))
    }

    /// Counts by one key come from facets and histograms (their fast
    /// paths); the rest from the index (`rows.rs`), reading only the
    /// records of segments with few matches.
    fn rows(&self, request: &RowsRequest) -> Result<Rows> {
        request.validate()?;
        let pipeline = &request.pipeline;
        let grouped = !matches!(&pipeline.pipes[0], Pipe::Stats(stats) if stats.by.is_empty());
        if grouped {
            if let Some(rows) = rows_by_counts(self, request)? {
                return Ok(rows);
            }
        }
        let Some(mut groups) = Groups::new(pipeline, request.memory_budget) else {
            return Ok(Rows::default());
        };
        let inner = &self.inner;
        let searcher = inner.index.searcher();
        let query = request.time.within(&pipeline.filter);
        let matched = inner.run(&searcher, &query, &Matches)?;
        let has_column = |path: &str| inner.index.has_column(path);
        let seqs = native(
            &searcher,
            &inner.index.fields,
            &matched,
            &mut groups,
            &has_column,
            request.memory_budget,
        )?;
        // A record retention dropped since the searcher's snapshot has no
        // source any more and is skipped here, while segments read from
        // the index count it (their snapshot holds it): a query racing
        // retention may count the records it drops or not.
        for (seq, source) in seqs.iter().zip(inner.store.sources(&seqs)?) {
            if let Some(source) = source {
                groups.add(&parse_stored_record(*seq, &source)?)?;
            }
        }
        Ok(groups.finish())
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        self.inner.delete_older_than(cutoff)
    }

    fn stats(&self) -> Result<Stats> {
        let (records, min, max) = self.inner.store.counts()?;
        Ok(Stats::new(records, dir_size(&self.inner.dir), min, max))
    }

    /// Degraded while the disk is full: the index cannot commit (a rebuild
    /// is tried first, so the state clears by itself once there is room),
    /// or SQLite refused the last batch and a probe write finds no room.
    fn health(&self) -> Result<()> {
        let inner = &self.inner;
        if inner.index.disk_full().is_some() {
            inner.recover()?;
        }
        let store_full = inner.store_full.lock().clone();
        if let Some(e) = store_full {
            error::probe_space(&inner.dir).map_err(|_| e)?;
            *inner.store_full.lock() = None;
        }
        Ok(())
    }
}

/// Total size of the files under `dir`.
fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// A background thread that runs a task every interval until stopped.
struct Periodic {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Periodic {
    fn start(name: &str, every: Duration, mut task: impl FnMut() + Send + 'static) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let (stopped, wake) = &*signal;
                let mut stopped = stopped.lock();
                while !*stopped {
                    wake.wait_for(&mut stopped, every);
                    if *stopped {
                        break;
                    }
                    // Run without the stop flag held, so that stopping
                    // never waits for more than the task in progress.
                    parking_lot::MutexGuard::unlocked(&mut stopped, &mut task);
                }
            })
            .ok();
        Periodic { stop, thread }
    }

    /// Stops the thread and waits for it.
    fn stop(&mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TantivyBackend {
    fn drop(&mut self) {
        for task in &mut self.background {
            task.stop();
        }
        self.inner.index.close_queue();
        if let Some(indexer) = self.indexer.take() {
            let _ = indexer.join();
        }
        // Make what was written visible next time without re-indexing.
        let _ = self.inner.refresh();
    }
}
