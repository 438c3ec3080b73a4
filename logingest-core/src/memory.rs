//! The in-memory backend: a `Vec` and the reference evaluator.
//!
//! It is the simplest honest implementation of [`Backend`]: every search is a
//! scan that applies [`crate::matches`], so it is correct by construction and
//! slow on purpose. Core's own tests run the ingest pipeline and the whole
//! conformance kit against it, and it shows a backend author what each method
//! must do. It keeps the visibility contract for real: writes are invisible
//! until [`Backend::refresh`]. Clones share the same storage, which lets tests
//! "reopen" it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::backend::{
    Backend, Capabilities, FacetRequest, Facets, Histogram, HistogramRequest, Order, SearchPage,
    SearchRequest, Stats, WriteAck,
};
use crate::cursor::Ranked;
use crate::error::Result;
use crate::eval::matches;
use crate::query::Query;
use crate::record::Record;
use crate::timestamp::Timestamp;

/// A backend that keeps records in memory. Clones share storage.
#[derive(Debug, Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<RwLock<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Records in sequence order.
    records: Vec<(u64, Record)>,
    /// Sequence numbers up to this one are visible.
    visible_through: u64,
    /// Sequence number of the last record written (0 = none yet).
    last_seq: u64,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    /// Visible records matching `query` and `keep`, in sequence order.
    fn visible<'a>(
        inner: &'a Inner,
        query: &'a Query,
        keep: impl Fn(Timestamp) -> bool + 'a,
    ) -> impl Iterator<Item = &'a (u64, Record)> + 'a {
        inner.records.iter().filter(move |(seq, r)| {
            *seq <= inner.visible_through && keep(r.timestamp()) && matches(query, r)
        })
    }
}

impl Backend for MemoryBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("memory")
    }

    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        let mut inner = self.inner.write();
        let first_seq = inner.last_seq + 1;
        for (i, record) in records.iter().enumerate() {
            inner.records.push((first_seq + i as u64, record.clone()));
        }
        inner.last_seq += records.len() as u64;
        Ok(WriteAck::new(first_seq, records.len() as u64))
    }

    fn refresh(&self) -> Result<()> {
        let mut inner = self.inner.write();
        inner.visible_through = inner.last_seq;
        Ok(())
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        request.validate()?;
        let inner = self.inner.read();
        let mut found: Vec<&(u64, Record)> =
            Self::visible(&inner, &request.query, |t| request.time.contains(t)).collect();
        let total = found.len() as u64;
        found.retain(|(seq, r)| request.after_cursor(r.timestamp(), *seq));
        found.sort_by_key(|(seq, r)| (r.timestamp(), *seq));
        if request.order == Order::Desc {
            found.reverse();
        }
        found.truncate(request.limit.saturating_add(1));
        let ranked = Ranked::new(
            found.iter().map(|(seq, r)| (r.timestamp(), *seq)).collect(),
            request.limit,
        );
        let sources: Vec<Option<String>> = found
            .iter()
            .map(|(_, r)| Some(r.source().to_owned()))
            .collect();
        Ok(ranked.into_page(total, sources))
    }

    fn histogram(&self, request: &HistogramRequest) -> Result<Histogram> {
        request.validate()?;
        let inner = self.inner.read();
        let width = request.bucket_width();
        let mut counts = vec![0u64; request.bucket_count()];
        for (_, r) in Self::visible(&inner, &request.query, |_| true) {
            if let Some(b) = request.bucket_of(r.timestamp()) {
                counts[b] += 1;
            }
        }
        Ok(Histogram::new(request.start, width, counts))
    }

    fn facets(&self, request: &FacetRequest) -> Result<Facets> {
        request.validate()?;
        let inner = self.inner.read();
        let mut counts = HashMap::new();
        for (_, r) in Self::visible(&inner, &request.query, |t| request.time.contains(t)) {
            request.count_record(&mut counts, r);
        }
        Ok(request.top(counts))
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        let mut inner = self.inner.write();
        let before = inner.records.len();
        inner.records.retain(|(_, r)| r.timestamp() >= cutoff);
        Ok((before - inner.records.len()) as u64)
    }

    fn stats(&self) -> Result<Stats> {
        let inner = self.inner.read();
        let times = inner.records.iter().map(|(_, r)| r.timestamp());
        Ok(Stats::new(
            inner.records.len() as u64,
            0,
            times.clone().min(),
            times.max(),
        ))
    }
}
