//! The storage contract every backend implements.
//!
//! The trait is deliberately small (after redb's `StorageBackend`): seven
//! operations, each with a written contract. Anything a backend may do
//! differently is declared in [`Capabilities`] rather than discovered at run
//! time. Request and reply types are `#[non_exhaustive]` structs with
//! constructors, so fields can be added without breaking backends.

use std::collections::HashMap;

use crate::cursor::Cursor;
use crate::error::{Error, QueryError, Result};
use crate::query::Query;
use crate::record::{fields, Record};
use crate::rows::{Rows, RowsRequest};
use crate::timestamp::Timestamp;

/// Result order of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Order {
    /// Newest first: timestamp descending, then sequence descending. The default.
    #[default]
    Desc,
    /// Oldest first: timestamp ascending, then sequence ascending.
    Asc,
}

/// A time window `[start, end)`; `None` is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TimeRange {
    /// Inclusive lower bound.
    pub start: Option<Timestamp>,
    /// Exclusive upper bound.
    pub end: Option<Timestamp>,
}

impl TimeRange {
    /// Whether `t` lies in the window.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t < e)
    }

    /// `query` restricted to the window: what a request with both selects,
    /// as one query for a backend to translate.
    pub fn within(&self, query: &Query) -> Query {
        query.clone().and(Query::time_range(self.start, self.end))
    }
}

/// A search: which records, in which order, which page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SearchRequest {
    /// The query; ANDed with `time`.
    pub query: Query,
    /// Time bounds, ANDed with the query.
    pub time: TimeRange,
    /// Result order.
    pub order: Order,
    /// Page size, at least 1. Default 100.
    pub limit: usize,
    /// Continue after this position (the `next_cursor` of a previous page).
    pub cursor: Option<Cursor>,
}

impl SearchRequest {
    /// Default page size.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page size the server accepts.
    pub const MAX_LIMIT: usize = 10_000;

    /// A first page of `query`, newest first, 100 records.
    pub fn new(query: Query) -> Self {
        SearchRequest {
            query,
            time: TimeRange::default(),
            order: Order::Desc,
            limit: Self::DEFAULT_LIMIT,
            cursor: None,
        }
    }

    /// [`SearchRequest::new`] of a query in the query language
    /// (`level:error AND "failed to connect"`); relative times such as
    /// `now-1h` are taken from now.
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        Ok(Self::new(crate::query::parse_query(query)?))
    }

    /// Sets the time window.
    pub fn time(mut self, time: TimeRange) -> Self {
        self.time = time;
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Sets the page size.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Continues after `cursor`.
    pub fn cursor(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }

    /// Checks the request is meaningful; every backend calls this first so
    /// all answer bad requests alike.
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 {
            return Err(Error::InvalidRequest("limit must be at least 1".to_owned()));
        }
        Ok(())
    }

    /// Whether a record at `(timestamp, seq)` lies strictly after the cursor
    /// in this request's order (always true without a cursor).
    pub fn after_cursor(&self, timestamp: Timestamp, seq: u64) -> bool {
        match (self.cursor, self.order) {
            (None, _) => true,
            (Some(c), Order::Desc) => (timestamp, seq) < (c.timestamp, c.seq),
            (Some(c), Order::Asc) => (timestamp, seq) > (c.timestamp, c.seq),
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hit {
    /// The record's sequence number in its backend.
    pub seq: u64,
    /// The record's timestamp.
    pub timestamp: Timestamp,
    /// The record's JSON exactly as stored ([`Record::source`]).
    pub source: String,
}

impl Hit {
    /// A hit.
    pub fn new(seq: u64, timestamp: Timestamp, source: String) -> Self {
        Hit {
            seq,
            timestamp,
            source,
        }
    }

    /// The position of this hit, to continue after it.
    pub fn cursor(&self) -> Cursor {
        Cursor::new(self.timestamp, self.seq)
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SearchPage {
    /// At most `limit` hits in the requested order.
    pub hits: Vec<Hit>,
    /// Exact number of records matching query and time range (ignoring the cursor).
    pub total: u64,
    /// `Some` if and only if more matching records follow the last hit.
    pub next_cursor: Option<Cursor>,
}

impl SearchPage {
    /// A page.
    pub fn new(hits: Vec<Hit>, total: u64, next_cursor: Option<Cursor>) -> Self {
        SearchPage {
            hits,
            total,
            next_cursor,
        }
    }
}

/// Counts of matching records per fixed-width time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistogramRequest {
    /// The query.
    pub query: Query,
    /// Start of the first bucket (inclusive).
    pub start: Timestamp,
    /// End of the last bucket (exclusive); greater than `start`.
    pub end: Timestamp,
    /// Number of buckets, at least 1.
    pub buckets: usize,
}

impl HistogramRequest {
    /// The query restricted to `[start, end)`, as one query for a backend
    /// to translate.
    pub fn selection(&self) -> Query {
        TimeRange {
            start: Some(self.start),
            end: Some(self.end),
        }
        .within(&self.query)
    }

    /// A histogram of `query` over `[start, end)` in `buckets` buckets.
    pub fn new(query: Query, start: Timestamp, end: Timestamp, buckets: usize) -> Self {
        HistogramRequest {
            query,
            start,
            end,
            buckets,
        }
    }

    /// Width of each bucket in nanoseconds: `ceil((end - start) / buckets)`, at least 1.
    /// Bucket `i` covers `[start + i*width, start + (i+1)*width)`, clipped to `end`.
    pub fn bucket_width(&self) -> i64 {
        let span = (i128::from(self.end.0) - i128::from(self.start.0)).max(1);
        let n = i128::try_from(self.buckets.max(1)).unwrap_or(i128::MAX);
        i64::try_from((span + n - 1) / n).unwrap_or(i64::MAX).max(1)
    }

    /// Checks the request is meaningful (see [`SearchRequest::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.buckets == 0 || self.buckets > Self::MAX_BUCKETS {
            return Err(Error::InvalidRequest(format!(
                "buckets must be between 1 and {}",
                Self::MAX_BUCKETS
            )));
        }
        if self.end <= self.start {
            return Err(Error::InvalidRequest(
                "histogram end must be after its start".to_owned(),
            ));
        }
        Ok(())
    }

    /// Number of buckets the reply has: `ceil((end - start) / bucket_width())`,
    /// which is `buckets` or, when the span does not divide evenly, fewer.
    pub fn bucket_count(&self) -> usize {
        self.bucket_of(Timestamp(self.end.0 - 1))
            .map_or(0, |b| b + 1)
    }

    /// Most buckets a histogram may have.
    pub const MAX_BUCKETS: usize = 10_000;

    /// Index of the bucket holding `t`, if `t` is in `[start, end)`.
    pub fn bucket_of(&self, t: Timestamp) -> Option<usize> {
        if t < self.start || t >= self.end {
            return None;
        }
        let offset = i128::from(t.0) - i128::from(self.start.0);
        usize::try_from(offset / i128::from(self.bucket_width())).ok()
    }
}

/// The histogram reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Histogram {
    /// Start of bucket 0.
    pub start: Timestamp,
    /// Width of every bucket, nanoseconds.
    pub bucket_width: i64,
    /// One exact count per bucket.
    pub counts: Vec<u64>,
}

impl Histogram {
    /// A histogram.
    pub fn new(start: Timestamp, bucket_width: i64, counts: Vec<u64>) -> Self {
        Histogram {
            start,
            bucket_width,
            counts,
        }
    }
}

/// Top values of one keyword field among matching records.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FacetRequest {
    /// The query.
    pub query: Query,
    /// Time bounds, ANDed with the query.
    pub time: TimeRange,
    /// Dotted keyword path (not `message`, not `timestamp`).
    pub field: String,
    /// How many values to return, at least 1.
    pub size: usize,
}

impl FacetRequest {
    /// The top `size` values of `field` among records matching `query`.
    pub fn new(query: Query, field: impl Into<String>, size: usize) -> Self {
        FacetRequest {
            query,
            time: TimeRange::default(),
            field: field.into(),
            size,
        }
    }

    /// Sets the time window.
    pub fn time(mut self, time: TimeRange) -> Self {
        self.time = time;
        self
    }

    /// Checks the request is meaningful (see [`SearchRequest::validate`]).
    pub fn validate(&self) -> Result<()> {
        if self.size == 0 {
            return Err(Error::InvalidRequest(
                "facet size must be at least 1".to_owned(),
            ));
        }
        let f = self.field.as_str();
        if f.is_empty() || f == fields::MESSAGE || f == fields::TIMESTAMP {
            return Err(Error::InvalidRequest(format!(
                "facets need a keyword field such as `level`, not `{f}`"
            )));
        }
        Ok(())
    }

    /// Adds `record`, a matching record, to `counts`: one for each distinct
    /// value it has at `field` (a record counts once per value, however
    /// often it repeats it). For backends that count in the node.
    pub fn count_record(&self, counts: &mut HashMap<String, u64>, record: &Record) {
        let mut values: Vec<&str> = record.keyword_values(&self.field).collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            match counts.get_mut(value) {
                Some(count) => *count += 1,
                None => drop(counts.insert(value.to_owned(), 1)),
            }
        }
    }

    /// The answer to this request from every value's count, in the order
    /// the contract prescribes: count descending, then value; at most `size`.
    pub fn top(&self, counts: impl IntoIterator<Item = (String, u64)>) -> Facets {
        let mut facets: Facets = counts
            .into_iter()
            .map(|(v, c)| FacetCount::new(v, c))
            .collect();
        facets.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        facets.truncate(self.size);
        facets
    }
}

/// One value of a facet and how many matching records have it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FacetCount {
    /// The value.
    pub value: String,
    /// Exact number of matching records having the value (a record counts
    /// once per distinct value).
    pub count: u64,
}

impl FacetCount {
    /// A facet count.
    pub fn new(value: String, count: u64) -> Self {
        FacetCount { value, count }
    }
}

/// Facet reply: counts descending, ties by value ascending (byte order).
pub type Facets = Vec<FacetCount>;

/// Numbers about a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Records stored (visible or not).
    pub records: u64,
    /// Bytes the backend uses on disk (0 for in-memory backends).
    pub bytes_on_disk: u64,
    /// Oldest record timestamp, if any record.
    pub min_timestamp: Option<Timestamp>,
    /// Newest record timestamp, if any record.
    pub max_timestamp: Option<Timestamp>,
}

impl Stats {
    /// Stats.
    pub fn new(
        records: u64,
        bytes_on_disk: u64,
        min_timestamp: Option<Timestamp>,
        max_timestamp: Option<Timestamp>,
    ) -> Self {
        Stats {
            records,
            bytes_on_disk,
            min_timestamp,
            max_timestamp,
        }
    }
}

/// Where backends legitimately differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Short name, e.g. `memory`, `tantivy`, `pg`.
    pub name: &'static str,
    /// Whether data survives the process (false for the memory backend).
    pub persistent: bool,
    /// Whether several processes may write to the same storage at once.
    pub shared_storage: bool,
}

impl Capabilities {
    /// Capabilities of a backend named `name`: not persistent, single writer.
    pub fn new(name: &'static str) -> Self {
        Capabilities {
            name,
            persistent: false,
            shared_storage: false,
        }
    }
}

/// Acknowledgement of a committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteAck {
    /// Sequence number given to the first record; the batch got
    /// `first_seq .. first_seq + len`, in batch order.
    pub first_seq: u64,
    /// Number of records committed.
    pub len: u64,
}

impl WriteAck {
    /// An acknowledgement.
    pub fn new(first_seq: u64, len: u64) -> Self {
        WriteAck { first_seq, len }
    }
}

/// A storage backend: a system of record plus a search index.
///
/// All methods take `&self`; a backend is shared between the ingest flusher
/// and any number of concurrent searches. Errors that retrying may cure
/// (connection lost, timeout, disk momentarily full) are `Error::Backend {
/// retryable: true, .. }`; bad requests are `InvalidQuery`/`InvalidRequest`.
pub trait Backend: Send + Sync {
    /// What this backend can and cannot do.
    fn capabilities(&self) -> Capabilities;

    /// Stores `records` as one atomic batch.
    ///
    /// **Contract:** returns `Ok` only once every record is durable (survives
    /// a crash of the process, and for persistent backends a power loss as
    /// far as the backend's documented sync level promises). On `Err`, none of
    /// the records may ever become visible. Sequence numbers are contiguous,
    /// in batch order, and greater than those of every batch acknowledged
    /// before this call started. An empty batch is a no-op that returns
    /// `len == 0`. Records need not be visible to search until [`Backend::refresh`].
    fn write_batch(&self, records: &[Record]) -> Result<WriteAck>;

    /// Makes every batch acknowledged before this call visible to searches
    /// that start after it returns. Backends may also refresh on their own.
    ///
    /// May run concurrently with [`Backend::write_batch`] (the ingester
    /// refreshes on a thread of its own): a batch acknowledged while a
    /// refresh runs may or may not be made visible by it.
    fn refresh(&self) -> Result<()>;

    /// One page of visible records matching the request.
    ///
    /// **Contract:** hits are ordered by `(timestamp, seq)` in `order`;
    /// `total` is exact; with `cursor`, only records strictly after the cursor
    /// position in that order are returned, so walking `next_cursor` never
    /// skips or repeats a record that was visible for the whole walk.
    fn search(&self, request: &SearchRequest) -> Result<SearchPage>;

    /// Exact counts of visible matching records per bucket.
    fn histogram(&self, request: &HistogramRequest) -> Result<Histogram>;

    /// The most frequent values of a keyword field among visible matching records.
    fn facets(&self, request: &FacetRequest) -> Result<Facets>;

    /// The rows of a pipeline with `stats` or `top` over the visible
    /// matching records: exact, as the reference evaluator makes them
    /// ([`crate::reference_rows`]). The default answers counts by one key
    /// from [`Backend::search`] totals, [`Backend::facets`] and
    /// [`Backend::histogram`] ([`crate::rows::rows_by_counts`]), and the
    /// rest from every matching record, read through search
    /// ([`crate::rows::rows_by_search`]); a backend overrides it to compute
    /// more from its index.
    fn rows(&self, request: &RowsRequest) -> Result<Rows> {
        match crate::rows::rows_by_counts(self, request)? {
            Some(rows) => Ok(rows),
            None => crate::rows::rows_by_search(self, request),
        }
    }

    /// Deletes every record with `timestamp < cutoff` from storage and index;
    /// returns how many were deleted. Durable when it returns.
    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64>;

    /// Numbers about the stored data.
    fn stats(&self) -> Result<Stats>;

    /// Whether the backend is fully working: `Err` names what degrades it
    /// (e.g. [`Error::DiskFull`] while writes fail for lack of space) though
    /// it still answers searches. Cheap enough for a health check; a backend
    /// may use the call to re-check a degraded state (so that it clears by
    /// itself once the cause is gone). The default: always healthy.
    fn health(&self) -> Result<()> {
        Ok(())
    }
}

impl<B: Backend + ?Sized> Backend for std::sync::Arc<B> {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        (**self).write_batch(records)
    }
    fn refresh(&self) -> Result<()> {
        (**self).refresh()
    }
    fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        (**self).search(request)
    }
    fn histogram(&self, request: &HistogramRequest) -> Result<Histogram> {
        (**self).histogram(request)
    }
    fn facets(&self, request: &FacetRequest) -> Result<Facets> {
        (**self).facets(request)
    }
    fn rows(&self, request: &RowsRequest) -> Result<Rows> {
        (**self).rows(request)
    }
    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        (**self).delete_older_than(cutoff)
    }
    fn stats(&self) -> Result<Stats> {
        (**self).stats()
    }
    fn health(&self) -> Result<()> {
        (**self).health()
    }
}
