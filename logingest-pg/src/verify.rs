//! Queries the cluster cannot answer exactly, answered by verifying
//! candidates on the node.
//!
//! Lucene's regular expressions lack word boundaries, multi-line anchors and
//! anchors inside a pattern, and the cluster refuses automata beyond its
//! state or length limits. Such a query still runs, with exactly the
//! reference evaluator's result: its plan ([`crate::translate::Plan`])
//! selects a *superset* of its matches, each candidate is read from
//! PostgreSQL, parsed, and counted only if [`logingest_core::matches`] says
//! so. Totals, pages, histograms and facets then come from the verified
//! stream, so they agree with each other and with the other backends.
//!
//! The candidates are read `BATCH` at a time in `seq` order (`search_after`,
//! no state on the cluster), up to the last `seq` stored when the query
//! starts; each batch is one PostgreSQL read. Reading runs on a thread of
//! its own, one batch ahead of the parsing and checking (~12 µs a candidate
//! in all at 1M records, docs/performance.md). Memory stays bounded: a page
//! keeps its best `limit + 1` hits in a heap, a histogram its buckets,
//! facets their values' counts. When the cluster refuses even the superset
//! (an automaton too large, too many clauses), the plan without any
//! automaton ([`crate::translate::coarse_dsl`]) selects the candidates, and
//! if that too is refused, every record. The cost is proportional to the
//! candidates, not the matches: see docs/backends.md for when this path is
//! taken and what it costs.

use std::collections::{BinaryHeap, HashMap};

use logingest_core::query::Query;
use logingest_core::{
    matches, parse_stored_record, Error, FacetRequest, Facets, Histogram, HistogramRequest, Order,
    Ranked, Record, Result, SearchPage, SearchRequest, Timestamp,
};
use serde_json::{json, Value};

use crate::backend::Inner;
use crate::translate::{coarse_dsl, Plan};

/// Candidates per page of the cluster and PostgreSQL read.
const BATCH: usize = 5_000;

/// The page of `request` (whose query, time window included, is `query`).
pub(crate) fn search(
    inner: &Inner,
    query: &Query,
    plan: Plan,
    request: &SearchRequest,
) -> Result<SearchPage> {
    let keep = request.limit.saturating_add(1);
    // The first `keep` hits in the request's order: the heap's top is the
    // last of those kept, popped when an earlier one arrives.
    let mut best: BinaryHeap<(Place, u64, i64, String)> = BinaryHeap::new();
    let mut total = 0u64;
    each_match(inner, query, plan, |seq, record| {
        total += 1;
        let ts = record.timestamp();
        if !request.after_cursor(ts, seq) {
            return;
        }
        let place = Place::new(request.order, ts, seq);
        if best.len() == keep {
            match best.peek() {
                Some((last, ..)) if place < *last => drop(best.pop()),
                _ => return,
            }
        }
        best.push((place, seq, ts.0, record.source().to_owned()));
    })?;
    let hits = best.into_sorted_vec();
    let positions = hits.iter().map(|&(_, seq, ts, _)| (Timestamp(ts), seq));
    let ranked = Ranked::new(positions.collect(), request.limit);
    Ok(ranked.into_page(total, hits.into_iter().map(|(.., source)| Some(source))))
}

/// A hit's place in the order of a request: smaller comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Place(i128, i128);

impl Place {
    fn new(order: Order, ts: Timestamp, seq: u64) -> Self {
        let (ts, seq) = (i128::from(ts.0), i128::from(seq));
        match order {
            Order::Asc => Place(ts, seq),
            Order::Desc => Place(-ts, -seq),
        }
    }
}

/// The histogram of `request`.
pub(crate) fn histogram(
    inner: &Inner,
    plan: Plan,
    request: &HistogramRequest,
) -> Result<Histogram> {
    let mut counts = vec![0u64; request.bucket_count()];
    each_match(inner, &request.selection(), plan, |_, record| {
        if let Some(bucket) = request.bucket_of(record.timestamp()) {
            counts[bucket] += 1;
        }
    })?;
    Ok(Histogram::new(
        request.start,
        request.bucket_width(),
        counts,
    ))
}

/// The facets of `request` (whose query, time window included, is `query`).
pub(crate) fn facets(
    inner: &Inner,
    query: &Query,
    plan: Plan,
    request: &FacetRequest,
) -> Result<Facets> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    each_match(inner, query, plan, |_, record| {
        request.count_record(&mut counts, record);
    })?;
    Ok(request.top(counts))
}

/// Calls `found` with every record among the candidates of `plan` that
/// `query` matches, in no particular order.
fn each_match(
    inner: &Inner,
    query: &Query,
    plan: Plan,
    mut found: impl FnMut(u64, &Record),
) -> Result<()> {
    // Only records stored when the query starts: a scan never chases the
    // records ingested while it runs.
    let last = inner.store.last_seq()?;
    // The plan; if the cluster refuses it, the plan without automata
    // (unless that is the plan); if it refuses that too (too many
    // clauses), every record.
    let mut open = Candidates::open(inner, &plan.dsl, last)?;
    if open.is_none() {
        let coarse = coarse_dsl(query)?.dsl;
        if coarse != plan.dsl {
            open = Candidates::open(inner, &coarse, last)?;
        }
    }
    if open.is_none() {
        open = Candidates::open(inner, &json!({"match_all": {}}), last)?;
    }
    let (mut candidates, mut batch) = open
        .ok_or_else(|| Error::backend_msg(false, "the search cluster refused to list records"))?;
    // Candidates and their sources are fetched on a thread of their own,
    // one batch ahead, while this one parses and checks the last batch.
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        scope.spawn(move || {
            while !batch.is_empty() {
                let fetched = fetch(inner, &batch);
                let failed = fetched.is_err();
                if sender.send(fetched).is_err() || failed {
                    return;
                }
                batch = match candidates.page() {
                    Ok(Some(next)) => next,
                    // Never a shorter answer: a refusal after the first
                    // page is a failure.
                    Ok(None) => {
                        let refused = "the search cluster refused a query it had answered";
                        let _ = sender.send(Err(Error::backend_msg(false, refused)));
                        return;
                    }
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                };
            }
        });
        for fetched in receiver {
            let (seqs, mut sources) = fetched?;
            for seq in seqs {
                // A candidate without a row was deleted by retention meanwhile.
                let Some(source) = sources.remove(&seq) else {
                    continue;
                };
                let record = parse_stored_record(seq, &source).map_err(|e| {
                    Error::backend_msg(false, format!("stored record {seq} does not parse: {e}"))
                })?;
                if matches(query, &record) {
                    found(seq, &record);
                }
            }
        }
        Ok(())
    })
}

/// The sequence numbers of `batch` and their sources, from PostgreSQL.
fn fetch(inner: &Inner, batch: &Batch) -> Result<(Vec<u64>, HashMap<u64, String>)> {
    let seqs = batch.iter().map(|&(_, seq)| seq).collect();
    Ok((seqs, inner.store.sources(batch)?))
}

/// `(ts, seq)` of some candidates.
type Batch = Vec<(i64, u64)>;

/// The candidates of a query, `(ts, seq)` of each, read in pages of
/// `BATCH` in `seq` order with `search_after`: no state on the cluster, and
/// one request when the candidates fit one page. (A sort on `seq`, an
/// indexed `long`, lets the cluster skip documents below the last page.)
struct Candidates<'a> {
    inner: &'a Inner,
    /// The candidates' query, limited to `seq <= last`.
    dsl: Value,
    /// `(seq, ts)` of the last candidate read.
    after: Option<(u64, i64)>,
    done: bool,
}

impl<'a> Candidates<'a> {
    /// The candidates of `dsl`; `None` when the cluster refuses its automaton.
    fn open(inner: &'a Inner, dsl: &Value, last: u64) -> Result<Option<(Self, Batch)>> {
        let mut candidates = Candidates {
            inner,
            dsl: json!({"bool": {"filter": [dsl, {"range": {"seq": {"lte": last}}}]}}),
            after: None,
            done: false,
        };
        Ok(candidates.page()?.map(|first| (candidates, first)))
    }

    /// The next page, empty after the last; `None` when refused.
    fn page(&mut self) -> Result<Option<Batch>> {
        if self.done {
            return Ok(Some(Vec::new()));
        }
        // `ts` comes as the second sort value: no document is fetched, not
        // even its `_id` (`stored_fields`), which more than halves the time
        // of a page.
        let mut body = json!({
            "query": self.dsl,
            "size": BATCH,
            "sort": [{"seq": {"order": "asc"}}, {"ts": {"order": "asc"}}],
            "_source": false,
            "stored_fields": "_none_",
            "track_total_hits": false,
        });
        if let Some((seq, ts)) = self.after {
            body["search_after"] = json!([seq, ts]);
        }
        let Some(answer) = self.inner.index.search_sort_values(&body)? else {
            return Ok(None);
        };
        let hits = answer["hits"]["hits"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let page = hits
            .iter()
            .map(
                |hit| match (hit["sort"][0].as_u64(), hit["sort"][1].as_i64()) {
                    (Some(seq), Some(ts)) => Ok((ts, seq)),
                    _ => Err(Error::backend_msg(
                        false,
                        "unexpected search answer: a candidate without seq and ts",
                    )),
                },
            )
            .collect::<Result<Vec<_>>>()?;
        self.done = page.len() < BATCH;
        self.after = page.last().map(|&(ts, seq)| (seq, ts));
        Ok(Some(page))
    }
}
