//! [`Engine`]: what a service embeds. A storage backend and the ingest
//! pipeline in front of it, behind one cheap-to-clone handle.
//!
//! Why a type over [`Backend`]: the trait is the plug-in interface for
//! backend authors (one writer, batches, an explicit refresh), as tantivy's
//! `Index` sits over its `Directory`. A service wants something else:
//! submit records from any thread, have them grouped into few commits, and
//! learn when they are durable or searchable, blocking or awaiting. The
//! [`Ingester`] does that; `Engine` owns it together with its backend so
//! the two cannot be wired wrongly (writing to the backend around the
//! ingester, closing one and not the other).
//!
//! In async code nothing blocks a thread while records are committed:
//!
//! ```
//! use logingest::{Engine, MemoryBackend, SearchRequest};
//!
//! async fn handle(engine: &Engine, body: &[u8]) -> logingest::Result<u64> {
//!     let ticket = engine.ingest_json(body)?; // queued: returns at once
//!     let ack = ticket.durable().await?; // committed by the backend
//!     Ok(ack.first_seq)
//! }
//!
//! let engine = Engine::builder().backend(MemoryBackend::new()).open()?;
//! let seq = pollster::block_on(handle(&engine, br#"{"message":"hello"}"#))?;
//! assert_eq!(seq, 1);
//! # Ok::<(), logingest::Error>(())
//! ```

use std::fmt;
use std::sync::Arc;

use logingest_core::ingest::{IngestConfig, IngestStats, Ingester, Ticket};
use logingest_core::query::Query;
use logingest_core::{
    parse_records, Backend, Capabilities, Error, FacetRequest, Facets, Histogram, HistogramRequest,
    IngestError, Limits, OpenError, ParseOptions, Record, Rows, RowsRequest, SearchError,
    SearchPage, SearchRequest, Stats, Timestamp, WriteError,
};

mod builder;
mod feed;
mod tail;

pub use builder::{EngineBuilder, TAIL_MEMORY_BYTES};
pub use feed::Subscriber;
pub use tail::{Tail, TailEvent};

use feed::Feed;

/// A log engine: a backend and the ingest pipeline writing to it.
///
/// `Send + Sync` and cheap to clone (clones share one engine). Writes go
/// through the pipeline: [`Engine::ingest`] returns at once with a
/// [`Ticket`] that resolves when the records are durable, and on demand
/// when they are searchable. Reads go to the backend. Closing ([`Engine::close`],
/// or dropping the last clone) writes what is queued and stops.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Arc<dyn Backend>,
    ingester: Ingester,
    limits: Limits,
    feed: Feed,
}

/// Undelivered records a [`Tail`] holds at most, by default.
pub const TAIL_CAPACITY: usize = 10_000;

impl Engine {
    /// Opens (or creates) the embedded backend in `dir` with default
    /// options: the one-line start. [`Engine::builder`] sets the rest.
    #[cfg(feature = "tantivy")]
    pub fn open(dir: impl AsRef<std::path::Path>) -> Result<Engine, OpenError> {
        Engine::builder().dir(dir).open()
    }

    /// A builder: the backend, batching, queue bounds, refresh interval
    /// and parse limits.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    fn start(
        backend: Arc<dyn Backend>,
        ingest: IngestConfig,
        limits: Limits,
        tail_memory_bytes: usize,
    ) -> Result<Engine, OpenError> {
        let feed = Feed::start(tail_memory_bytes).map_err(|e| OpenError::Backend {
            retryable: false,
            source: Arc::new(e),
        })?;
        let ingester = Ingester::start(Arc::clone(&backend), ingest)?;
        Ok(Engine {
            inner: Arc::new(Inner {
                backend,
                ingester,
                limits,
                feed,
            }),
        })
    }

    /// Queues `records` as one submission: stored whole or not at all.
    ///
    /// Returns as soon as they are queued. Errors: [`IngestError::QueueFull`]
    /// or [`IngestError::Timeout`] when the queue is full (as the builder's
    /// `when_full` says), [`IngestError::Closed`] after close.
    pub fn ingest(&self, records: Vec<Record>) -> Result<Ticket, IngestError> {
        self.inner.feed.submit(records, &self.inner.ingester)
    }

    /// Parses `body` (a JSON object, an array of them, or NDJSON) within
    /// the engine's limits and queues its records as one submission. A bad
    /// record is an [`IngestError::InvalidRecord`] naming its line, column
    /// and field, a body over a limit [`IngestError::TooLarge`]; nothing of
    /// the body is queued then.
    pub fn ingest_json(&self, body: &[u8]) -> Result<Ticket, IngestError> {
        let options = ParseOptions::default()
            .limits(self.inner.limits)
            .receive_time(Timestamp::now());
        let records = parse_records(body, &options).map_err(|e| match e {
            Error::InvalidRecord(record) => IngestError::InvalidRecord(record),
            Error::TooLarge(message) => IngestError::TooLarge(message),
            // Parsing fails only on a bad record or a limit.
            other => IngestError::TooLarge(other.to_string()),
        })?;
        self.ingest(records)
    }

    /// The records `query` selects among those ingested from now on, as
    /// they become searchable (after the refresh that makes a search find
    /// them), in ingest order; at most [`TAIL_CAPACITY`] undelivered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use logingest::{query::parse_query, Engine, MemoryBackend, TailEvent};
    ///
    /// let engine = Engine::builder().backend(MemoryBackend::new()).open()?;
    /// let tail = engine.tail(parse_query("level:error")?);
    /// engine.ingest_json(br#"{"level":"info","message":"started"}"#)?;
    /// engine.ingest_json(br#"{"level":"error","message":"disk on fire"}"#)?;
    /// engine.flush()?;
    /// let Some(TailEvent::Record(hit)) = tail.next_timeout(Duration::from_secs(10)) else {
    ///     panic!("no record");
    /// };
    /// assert!(hit.source.contains("disk on fire"));
    /// # Ok::<(), logingest::Error>(())
    /// ```
    pub fn tail(&self, query: Query) -> Tail {
        self.tail_with_capacity(query, TAIL_CAPACITY)
    }

    /// [`Engine::tail`] holding at most `capacity` undelivered events;
    /// a reader further behind is told how many it missed.
    pub fn tail_with_capacity(&self, query: Query, capacity: usize) -> Tail {
        let (tail, feed) = Tail::new(query, capacity);
        self.inner.feed.subscribe(feed);
        tail
    }

    /// Adds a [`Subscriber`] of the records of every submission from now
    /// on, once searchable: the hook a fan-out to many clients (a
    /// server's live tail) is built on. Records are copied for it only
    /// while [`Subscriber::is_active`] says so.
    pub fn subscribe(&self, subscriber: Arc<dyn Subscriber>) {
        self.inner.feed.subscribe(subscriber);
    }

    /// Bytes of records copied for tails and waiting to become
    /// searchable, and the most there may be (`tail_memory_bytes`).
    pub fn tail_memory(&self) -> (usize, usize) {
        self.inner.feed.memory()
    }

    /// Records not copied for tails because the tail memory was full,
    /// since the engine opened (subscribers were told as missed).
    pub fn tail_skipped(&self) -> u64 {
        self.inner.feed.skipped()
    }

    /// One page of the records a query selects.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchPage, SearchError> {
        Ok(self.inner.backend.search(request)?)
    }

    /// Counts of matching records per time bucket.
    pub fn histogram(&self, request: &HistogramRequest) -> Result<Histogram, SearchError> {
        Ok(self.inner.backend.histogram(request)?)
    }

    /// The most frequent values of fields among matching records.
    pub fn facets(&self, request: &FacetRequest) -> Result<Facets, SearchError> {
        Ok(self.inner.backend.facets(request)?)
    }

    /// The rows of a pipeline with `stats` or `top`
    /// (`level:error | stats count() by (resourceId)`).
    pub fn rows(&self, request: &RowsRequest) -> Result<Rows, SearchError> {
        Ok(self.inner.backend.rows(request)?)
    }

    /// Record count, time span and bytes on disk of the store.
    pub fn stats(&self) -> Result<Stats, SearchError> {
        Ok(self.inner.backend.stats()?)
    }

    /// Queue gauges and totals of the ingest pipeline.
    pub fn ingest_stats(&self) -> IngestStats {
        self.inner.ingester.stats()
    }

    /// Deletes records older than `cutoff`; returns how many.
    pub fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64, WriteError> {
        Ok(self.inner.backend.delete_older_than(cutoff)?)
    }

    /// Whether the backend can take writes and answer (a full disk or an
    /// unreachable service is an error).
    pub fn health(&self) -> Result<(), WriteError> {
        Ok(self.inner.backend.health()?)
    }

    /// What the backend supports.
    pub fn capabilities(&self) -> Capabilities {
        self.inner.backend.capabilities()
    }

    /// Blocks until everything ingested before the call is written and
    /// searchable (asking for a refresh now).
    pub fn flush(&self) -> Result<(), WriteError> {
        self.inner.ingester.flush()
    }

    /// [`Engine::flush`] without blocking a thread.
    pub async fn flush_async(&self) -> Result<(), WriteError> {
        self.inner.ingester.flush_async().await
    }

    /// Stops accepting, writes what is queued, refreshes and stops the
    /// pipeline's threads. Other clones get [`Error::Closed`](crate::Error::Closed) from then on;
    /// the backend closes with the last clone. Returns the first error of a
    /// write or refresh that completed during the close.
    pub fn close(&self) -> Result<(), WriteError> {
        self.inner.ingester.shutdown()
    }

    /// The backend, for what the engine does not wrap. Writing to it
    /// directly bypasses batching and the tickets.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.inner.backend
    }

    /// The limits [`Engine::ingest_json`] parses within.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.inner.backend.capabilities().name)
            .field("ingester", &self.inner.ingester)
            .finish_non_exhaustive()
    }
}
