//! [`PgBackend`]: PostgreSQL as the system of record, Elasticsearch or
//! OpenSearch as the search index, shared by any number of nodes.
//!
//! Write path: `write_batch` commits the batch in PG together with its
//! outbox row (durable: the acknowledgement), then hands the batch to this
//! node's indexer thread ([`crate::indexer`]), which sends it to the index
//! and deletes the outbox row in one PG transaction
//! ([`crate::outbox`]). `refresh` delivers every outbox row of a batch
//! acknowledged before it started (waiting for rows another node is
//! delivering), then `_refresh`es the indices.
//!
//! Read path: translate the AST into query DSL ([`crate::translate`]), run
//! one search over the daily indices for `(ts, seq)` of the page and the
//! exact total ([`crate::collect`]), then read the page's sources from PG.
//! A query the cluster cannot answer exactly (a regex construct Lucene
//! lacks, a limit of the cluster) is answered from verified candidates
//! ([`crate::verify`]).

use std::sync::Arc;
use std::time::Duration;

use logingest_core::rows::{rows_by_counts, rows_by_search, Groups};
use logingest_core::{
    Backend, Capabilities, FacetRequest, Facets, Histogram, HistogramRequest, Ranked, Record,
    Result, Rows, RowsRequest, SearchPage, SearchRequest, Stats, Timestamp, WriteAck,
};

use crate::collect;
use crate::config::PgConfig;
use crate::index::SearchIndex;
use crate::indexer::Indexer;
use crate::outbox::{deliver_stored, Claim, Limit};
use crate::pending::{Pending, Queue};
use crate::rows;
use crate::store::Store;
use crate::translate::{coarse_dsl, to_dsl, Plan};
use crate::verify;

/// Key of the `meta` row recording a retention deletion in progress.
const RETENTION_PENDING: &str = "retention_pending";

/// The scale-out backend. Cheap to share: wrap it in an `Arc`. Any number
/// of processes may open the same schema and index prefix at once.
pub struct PgBackend {
    inner: Arc<Inner>,
    /// This node's batches on their way to the indexer thread.
    queue: Arc<Queue>,
    indexer: Option<Indexer>,
}

/// What the backend and its indexer thread share.
pub(crate) struct Inner {
    pub(crate) config: PgConfig,
    pub(crate) store: Store,
    pub(crate) index: SearchIndex,
}

impl Inner {
    pub(crate) fn limit(&self) -> Limit {
        Limit {
            batches: 64,
            records: self.config.bulk_max_records,
            bytes: self.config.bulk_max_bytes,
        }
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        // Record the intent, delete from the index (no search may find a
        // record whose source is about to vanish), then from PG, then from
        // the index again (a batch delivered meanwhile), then clear the
        // intent. A crash in between is finished by the next `open`.
        self.store
            .set_meta(RETENTION_PENDING, Some(&cutoff.0.to_string()))?;
        self.index.delete_older_than(cutoff)?;
        let deleted = self.store.delete_older_than(cutoff)?;
        self.index.delete_older_than(cutoff)?;
        self.store.set_meta(RETENTION_PENDING, None)?;
        Ok(deleted)
    }

    /// Delivers every batch a dead node left in the outbox (rows nobody
    /// holds), then refreshes: when `open` returns, everything acknowledged
    /// before it is searchable, as after the embedded backend's recovery.
    /// Rows a live node holds are left to it. Done by nodes that sweep
    /// (`indexer_poll_interval` set, the default); the first sweep of the
    /// indexer thread would otherwise do it moments later.
    fn recover(&self) -> Result<()> {
        let claim = Claim::SkipLocked {
            older_than: Duration::ZERO,
        };
        while deliver_stored(&self.store, &self.index, claim, self.limit())? > 0 {}
        self.index.refresh()
    }

    fn finish_retention(&self) -> Result<()> {
        if let Some(cutoff) = self.store.meta(RETENTION_PENDING)? {
            let cutoff = cutoff
                .parse::<i64>()
                .map(Timestamp)
                .map_err(|e| logingest_core::Error::backend(false, e))?;
            self.delete_older_than(cutoff)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("config", &self.inner.config)
            .field("cluster", &self.inner.index.es.flavor)
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Connects to PostgreSQL and the search cluster, applies pending schema
    /// migrations, installs the index template, finishes an interrupted
    /// retention and starts this node's indexer thread (which first delivers
    /// whatever a dead node left in the outbox).
    pub fn open(config: PgConfig) -> Result<Self> {
        config.validate()?;
        let store = Store::open(&config)?;
        let index = SearchIndex::open(&config)?;
        let inner = Arc::new(Inner {
            config: config.clone(),
            store,
            index,
        });
        inner.finish_retention()?;
        if config.indexer_poll_interval.is_some() {
            inner.recover()?;
        }
        let queue = Arc::new(Queue::new(config.index_queue_bytes));
        let indexer = Indexer::start(
            Arc::clone(&inner),
            Arc::clone(&queue),
            config.indexer_poll_interval,
        );
        Ok(PgBackend {
            inner,
            queue,
            indexer,
        })
    }

    /// Deletes everything `config` names: the PostgreSQL schema with every
    /// record, and the daily indices and index template of its prefix. For
    /// tests and for retiring a tenant; no node may have it open.
    pub fn destroy(config: &PgConfig) -> Result<()> {
        config.validate()?;
        SearchIndex::connect(config)?.destroy()?;
        Store::destroy(&config.pg_url, &config.schema)
    }

    /// Every value of `path` with its count, by composite pages; `None`
    /// when the cluster refuses the query's automaton.
    fn facet_pages(
        &self,
        dsl: &serde_json::Value,
        path: &str,
    ) -> Result<Option<Vec<(String, u64)>>> {
        let mut counts = Vec::new();
        let mut after = path.to_owned();
        loop {
            let body = collect::facet_body(dsl.clone(), path, &after);
            let Some(answer) = self.inner.index.search(&body)? else {
                return Ok(None);
            };
            let (values, more) = collect::facet_page(&answer, path)?;
            counts.extend(values);
            match more {
                Some(next) => after = next,
                None => return Ok(Some(counts)),
            }
        }
    }

    /// The page of `request` at `ranked` (`limit + 1` positions), its
    /// sources read from PG.
    fn page(
        &self,
        total: u64,
        ranked: Vec<(i64, u64)>,
        request: &SearchRequest,
    ) -> Result<SearchPage> {
        let ranked = Ranked::from_nanos(ranked, request.limit);
        let positions: Vec<(i64, u64)> = ranked
            .positions()
            .iter()
            .map(|&(t, seq)| (t.0, seq))
            .collect();
        let mut sources = self.inner.store.sources(&positions)?;
        let seqs = ranked.seqs();
        // A hit without a PG row was deleted by retention meanwhile.
        Ok(ranked.into_page(total, seqs.iter().map(|seq| sources.remove(seq))))
    }

    /// The exact facet counts of `dsl`, `None` when the cluster refuses it.
    fn facet_counts(
        &self,
        dsl: &serde_json::Value,
        path: &str,
    ) -> Result<Option<Vec<(String, u64)>>> {
        let terms = collect::facet_terms_body(dsl.clone(), path);
        let Some(answer) = self.inner.index.search(&terms)? else {
            return Ok(None);
        };
        match collect::facet_terms(&answer, path)? {
            Some(counts) => Ok(Some(counts)),
            // Too many values for one `terms` answer to be exact: page
            // through them all with a composite aggregation.
            None => self.facet_pages(dsl, path),
        }
    }
}

/// The plan of a query whose exact DSL the cluster refused (an automaton
/// too large or too long, too many clauses): candidates selected without
/// automata (or, if that is refused too, every record), verified.
fn refused(query: &logingest_core::query::Query) -> Result<Plan> {
    coarse_dsl(query)
}

impl Backend for PgBackend {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::new("pg");
        caps.persistent = true;
        caps.shared_storage = true;
        caps
    }

    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        let inner = &self.inner;
        let ack = inner.store.append(records)?;
        if ack.len == 0 {
            return Ok(ack);
        }
        if inner.config.aborts_after_commit() {
            // Fault injection (crash tests): the batch is committed and its
            // outbox row written; nobody delivers it but another node.
            std::process::abort();
        }
        // Without the thread the row stays in the outbox: `refresh` or
        // another node's sweep delivers it.
        if self.indexer.is_some() {
            let pending = Pending::build(ack.first_seq, records, inner.limit(), |out, seq, r| {
                inner.index.add_bulk_item(out, seq, r)
            });
            let bytes = pending.bytes();
            self.queue.push(pending, bytes);
        }
        Ok(ack)
    }

    fn refresh(&self) -> Result<()> {
        let inner = &self.inner;
        let through = inner.store.last_seq()?;
        let claim = Claim::Waiting { through };
        while deliver_stored(&inner.store, &inner.index, claim, inner.limit())? > 0 {}
        inner.index.refresh()
    }

    fn search(&self, request: &SearchRequest) -> Result<SearchPage> {
        request.validate()?;
        let query = request.time.within(&request.query);
        let mut plan = to_dsl(&query)?;
        if !plan.verify {
            let body = collect::page_body(plan.dsl.clone(), request);
            if let Some(answer) = self.inner.index.search(&body)? {
                let (total, ranked) = collect::page(&answer)?;
                return self.page(total, ranked, request);
            }
            plan = refused(&query)?;
        }
        verify::search(&self.inner, &query, plan, request)
    }

    fn histogram(&self, request: &HistogramRequest) -> Result<Histogram> {
        request.validate()?;
        let query = request.selection();
        let mut plan = to_dsl(&query)?;
        if !plan.verify {
            let body = collect::histogram_body(plan.dsl.clone(), request);
            if let Some(answer) = self.inner.index.search(&body)? {
                let counts = collect::histogram(&answer, request)?;
                return Ok(Histogram::new(
                    request.start,
                    request.bucket_width(),
                    counts,
                ));
            }
            plan = refused(&query)?;
        }
        verify::histogram(&self.inner, plan, request)
    }

    fn facets(&self, request: &FacetRequest) -> Result<Facets> {
        request.validate()?;
        let query = request.time.within(&request.query);
        let mut plan = to_dsl(&query)?;
        if !plan.verify {
            if let Some(counts) = self.facet_counts(&plan.dsl, &request.field)? {
                return Ok(request.top(counts));
            }
            plan = refused(&query)?;
        }
        verify::facets(&self.inner, &query, plan, request)
    }

    /// Counts by one key come from facets and histograms, like the
    /// default; the rest from one search of nested aggregations
    /// (`rows.rs`), or from the records when that would not be exact (a
    /// query to verify on records, a path of more values than one answer
    /// holds, documents indexed before `numv`).
    fn rows(&self, request: &RowsRequest) -> Result<Rows> {
        request.validate()?;
        if let Some(rows) = rows_by_counts(self, request)? {
            return Ok(rows);
        }
        let pipeline = &request.pipeline;
        let Some(mut groups) = Groups::new(pipeline, request.memory_budget) else {
            return Ok(Rows::default());
        };
        let plan = to_dsl(&request.time.within(&pipeline.filter))?;
        if !plan.verify
            && rows::rows(
                &self.inner.index,
                plan.dsl,
                &mut groups,
                request.memory_budget,
            )?
        {
            return Ok(groups.finish());
        }
        rows_by_search(self, request)
    }

    fn delete_older_than(&self, cutoff: Timestamp) -> Result<u64> {
        self.inner.delete_older_than(cutoff)
    }

    fn stats(&self) -> Result<Stats> {
        let (records, min, max) = self.inner.store.counts()?;
        let bytes = self.inner.store.bytes()? + self.inner.index.bytes()?;
        Ok(Stats::new(records, bytes, min, max))
    }
}

impl Drop for PgBackend {
    fn drop(&mut self) {
        // Closing the queue lets the indexer deliver what is queued and stop.
        self.queue.close();
        if let Some(indexer) = self.indexer.take() {
            indexer.join();
        }
    }
}
