//! The differential test: a backend against the reference evaluator.
//!
//! Records are written in random batch sizes; then each random query is run
//! with a random time window, order and page size, paging through the whole
//! result with cursors. The concatenated pages must equal, record for record
//! and in order, what [`crate::matches`] selects from the same records sorted
//! by `(timestamp, seq)`, and `total` must be exact. Some queries also check
//! histogram and facets, and two in five make rows of a random `stats` or
//! `top` pipeline over it. A failure panics with the seed, the query text and
//! the first differing record, which is everything needed to replay it.

use std::fmt::Write as _;

use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::corpus;
use super::harness::{reference_facets, reference_histogram, Harness};
use super::querygen::{has_regex, random_pipeline, random_query, with_regex, Vocabulary};
use crate::backend::{Backend, FacetRequest, HistogramRequest, Order, SearchRequest, TimeRange};
use crate::error::Error;
use crate::eval::matches;
use crate::query::Query;
use crate::record::Record;
use crate::rows::RowsRequest;
use crate::timestamp::Timestamp;

/// Which records a differential run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// `n` random records from the run's seed.
    Random(usize),
    /// The two Loghub samples (4,000 records) plus the sample record of docs/query-language.md.
    Loghub,
}

/// A differential run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffConfig {
    /// Seed of records, batches and queries.
    pub seed: u64,
    /// Number of random queries.
    pub queries: usize,
    /// The records.
    pub corpus: Corpus,
}

impl DiffConfig {
    /// A run of `queries` queries over `corpus` from `seed`.
    pub fn new(seed: u64, queries: usize, corpus: Corpus) -> Self {
        DiffConfig {
            seed,
            queries,
            corpus,
        }
    }

    /// Reads `LOGINGEST_DIFF_SEED` and `LOGINGEST_DIFF_QUERIES` from the
    /// environment if set, to replay a failure or run a larger campaign.
    pub fn from_env(mut self) -> Self {
        if let Some(seed) = env_number("LOGINGEST_DIFF_SEED") {
            self.seed = seed;
        }
        if let Some(queries) = env_number("LOGINGEST_DIFF_QUERIES") {
            self.queries = queries as usize;
        }
        self
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// A record as the reference knows it.
struct Expected {
    seq: u64,
    record: Record,
}

/// Share of queries made to contain a regex ([`with_regex`]) beyond those
/// the generator draws with one: regexes are what backends translate least
/// directly (Lucene lacks word boundaries and multi-line anchors, tantivy
/// verifies message regexes on the record store).
const REGEX_SHARE: f64 = 0.5;

/// What a differential run checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiffReport {
    /// Queries run (each paged through, some also as histogram and facets).
    pub queries: usize,
    /// Those with a regex somewhere.
    pub with_regex: usize,
    /// Random `stats` or `top` pipelines over a query, their rows checked.
    pub stats: usize,
}

/// Runs the differential test; panics with a replayable report on the first
/// mismatch. Every query must run: no backend may refuse one that parses.
pub fn run<H: Harness>(harness: &mut H, config: &DiffConfig) -> DiffReport {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let records = match config.corpus {
        Corpus::Random(n) => corpus::random_records(config.seed, n),
        Corpus::Loghub => {
            let mut all = corpus::loghub();
            all.extend(corpus::records(corpus::PRODUCT_SAMPLE));
            all
        }
    };
    let expected = write_randomly(harness.backend(), &records, &mut rng);
    let vocab = Vocabulary::new(&records);
    let backend = harness.backend();
    let (mut some, mut partial, mut with_regexes, mut rows) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..config.queries {
        let mut query = random_query(&mut rng, &vocab, 3);
        if rng.random_bool(REGEX_SHARE) {
            query = with_regex(&mut rng, &vocab, query);
        }
        with_regexes += usize::from(has_regex(&query));
        let ctx = Context {
            config,
            index: i,
            query: &query,
        };
        let time = random_window(&mut rng, &vocab);
        let order = if rng.random_bool(0.5) {
            Order::Desc
        } else {
            Order::Asc
        };
        let want = reference(&expected, &query, time, order);
        some += usize::from(!want.is_empty());
        partial += usize::from(!want.is_empty() && want.len() < expected.len());
        let pages = rng.random_range(1..=12usize);
        let limit = rng
            .random_range(1..=40usize)
            .max(want.len().div_ceil(pages));
        // A panicking backend is a failure of this query: report it with the seed.
        let pages = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect_pages(backend, &query, time, order, limit)
        }))
        .unwrap_or_else(|panic| ctx.fail(&format!("search panicked: {}", panic_message(&panic))));
        match pages {
            Ok((got, totals)) => compare_search(&ctx, &want, &got, &totals, limit),
            Err(e) => ctx.fail(&format!("search failed: {e}")),
        }
        if i % 10 == 0 {
            check_histogram(&ctx, backend, &expected, &vocab, &mut rng);
        }
        if i % 10 == 5 {
            check_facets(&ctx, backend, &expected, &mut rng, time);
        }
        if i % 5 == 2 || i % 5 == 4 {
            check_rows(&ctx, backend, &expected, &vocab, &mut rng, time);
            rows += 1;
        }
    }
    // A generator whose queries match nothing (or everything) would make
    // this test pass vacuously.
    assert!(
        some * 3 >= config.queries && partial * 5 >= config.queries,
        "degenerate random queries: {some} of {} matched something, {partial} matched some but not all",
        config.queries
    );
    DiffReport {
        queries: config.queries,
        with_regex: with_regexes,
        stats: rows,
    }
}

/// Writes `records` in random batch sizes and returns them with their seqs.
fn write_randomly<B: Backend>(
    backend: &B,
    records: &[Record],
    rng: &mut ChaCha8Rng,
) -> Vec<Expected> {
    let mut expected = Vec::with_capacity(records.len());
    let mut rest = records;
    while !rest.is_empty() {
        let n = rng.random_range(1..=300usize).min(rest.len());
        let (batch, tail) = rest.split_at(n);
        let ack = backend.write_batch(batch).expect("write_batch");
        assert_eq!(
            ack.len, n as u64,
            "write_batch acknowledged a different count"
        );
        for (k, record) in batch.iter().enumerate() {
            expected.push(Expected {
                seq: ack.first_seq + k as u64,
                record: record.clone(),
            });
        }
        rest = tail;
    }
    backend.refresh().expect("refresh");
    expected
}

fn random_window(rng: &mut ChaCha8Rng, vocab: &Vocabulary) -> TimeRange {
    let mut time = TimeRange::default();
    if rng.random_bool(0.3) {
        time.start = Some(vocab.time(rng));
    }
    if rng.random_bool(0.3) {
        time.end = Some(vocab.time(rng));
    }
    time
}

/// What the backend must return: matches in `(timestamp, seq)` order.
fn reference<'a>(
    expected: &'a [Expected],
    query: &Query,
    time: TimeRange,
    order: Order,
) -> Vec<&'a Expected> {
    let mut want: Vec<&Expected> = expected
        .iter()
        .filter(|e| time.contains(e.record.timestamp()) && matches(query, &e.record))
        .collect();
    want.sort_by_key(|e| (e.record.timestamp(), e.seq));
    if order == Order::Desc {
        want.reverse();
    }
    want
}

/// Every hit of every page as `(seq, timestamp, source)`, and each page's total.
type Pages = (Vec<(u64, Timestamp, String)>, Vec<u64>);

fn collect_pages<B: Backend>(
    backend: &B,
    query: &Query,
    time: TimeRange,
    order: Order,
    limit: usize,
) -> Result<Pages, Error> {
    let mut got = Vec::new();
    let mut totals = Vec::new();
    let mut cursor = None;
    loop {
        let request = SearchRequest::new(query.clone())
            .time(time)
            .order(order)
            .limit(limit)
            .cursor(cursor);
        let page = backend.search(&request)?;
        totals.push(page.total);
        let full = page.hits.len() == limit;
        got.extend(
            page.hits
                .into_iter()
                .map(|h| (h.seq, h.timestamp, h.source)),
        );
        match page.next_cursor {
            Some(next) if full => cursor = Some(next),
            Some(_) => {
                return Err(Error::InvalidRequest(format!(
                    "a page of {} hits (limit {limit}) has a next cursor",
                    got.len()
                )))
            }
            None => return Ok((got, totals)),
        }
        if totals.len() > 10_000 {
            return Err(Error::InvalidRequest(
                "more than 10,000 pages: the cursor does not advance".into(),
            ));
        }
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "non-string panic".to_owned())
}

struct Context<'a> {
    config: &'a DiffConfig,
    index: usize,
    query: &'a Query,
}

impl Context<'_> {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "differential mismatch\n  seed: {} (replay: LOGINGEST_DIFF_SEED={} LOGINGEST_DIFF_QUERIES={})\n  corpus: {:?}\n  query #{}: {}\n  {what}",
            self.config.seed,
            self.config.seed,
            self.index + 1,
            self.config.corpus,
            self.index,
            self.query
        )
    }
}

fn compare_search(
    ctx: &Context<'_>,
    want: &[&Expected],
    got: &[(u64, Timestamp, String)],
    totals: &[u64],
    limit: usize,
) {
    if let Some(t) = totals.iter().find(|&&t| t != want.len() as u64) {
        ctx.fail(&format!(
            "total {t}, expected {} (page size {limit})",
            want.len()
        ));
    }
    let first_diff = want.iter().zip(got).position(|(w, g)| {
        (w.seq, w.record.timestamp(), w.record.source()) != (g.0, g.1, g.2.as_str())
    });
    let diff_at = first_diff.or((want.len() != got.len()).then(|| want.len().min(got.len())));
    if let Some(i) = diff_at {
        let mut report = format!(
            "results differ at position {i} (expected {} hits, got {}, page size {limit})",
            want.len(),
            got.len()
        );
        match want.get(i) {
            Some(w) => write!(report, "\n  expected: seq {} {}", w.seq, w.record.source()),
            None => write!(report, "\n  expected: end of results"),
        }
        .expect("write to string");
        match got.get(i) {
            Some(g) => write!(report, "\n  got:      seq {} {}", g.0, g.2),
            None => write!(report, "\n  got:      end of results"),
        }
        .expect("write to string");
        ctx.fail(&report);
    }
}

fn check_histogram<B: Backend>(
    ctx: &Context<'_>,
    backend: &B,
    expected: &[Expected],
    vocab: &Vocabulary,
    rng: &mut ChaCha8Rng,
) {
    let (a, b) = (vocab.time(rng), vocab.time(rng));
    let start = a.min(b);
    let end = Timestamp(a.max(b).0 + 1 + rng.random_range(0..3_600_000_000_000i64));
    let request = HistogramRequest::new(ctx.query.clone(), start, end, rng.random_range(1..=60));
    let want = reference_histogram(expected.iter().map(|e| &e.record), &request);
    match backend.histogram(&request) {
        Ok(h)
            if h.counts == want && h.start == start && h.bucket_width == request.bucket_width() => {
        }
        Ok(h) => ctx.fail(&format!(
            "histogram over [{start}, {end}) in {} buckets: got {:?}, expected {want:?}",
            request.buckets, h.counts
        )),
        Err(e) => ctx.fail(&format!("histogram failed: {e}")),
    }
}

/// The rows of a random `stats` or `top` over the query must be the
/// reference's, cell for cell and in order.
fn check_rows<B: Backend>(
    ctx: &Context<'_>,
    backend: &B,
    expected: &[Expected],
    vocab: &Vocabulary,
    rng: &mut ChaCha8Rng,
    time: TimeRange,
) {
    let pipeline = random_pipeline(rng, vocab, ctx.query.clone());
    let mut within = pipeline.clone();
    within.filter = time.within(&pipeline.filter);
    let records: Vec<Record> = expected.iter().map(|e| e.record.clone()).collect();
    let want = crate::reference_rows(&within, &records).expect("a row-making pipeline");
    match backend.rows(&RowsRequest::new(pipeline.clone()).time(time)) {
        Ok(got) if got == want => {}
        Ok(got) => ctx.fail(&format!(
            "rows of `{pipeline}`:\n  got      {:?} {:?}\n  expected {:?} {:?}",
            got.columns, got.rows, want.columns, want.rows
        )),
        Err(e) => ctx.fail(&format!("rows of `{pipeline}` failed: {e}")),
    }
}

fn check_facets<B: Backend>(
    ctx: &Context<'_>,
    backend: &B,
    expected: &[Expected],
    rng: &mut ChaCha8Rng,
    time: TimeRange,
) {
    let fields = [
        "level",
        "resourceId",
        "metadata.tags",
        "metadata.retries",
        "host",
        "traceId",
        "metadata.system",
    ];
    let field = *fields.choose(rng).expect("non-empty");
    let size = rng.random_range(1..=8);
    let matching = expected
        .iter()
        .filter(|e| time.contains(e.record.timestamp()) && matches(ctx.query, &e.record))
        .map(|e| &e.record);
    let want = reference_facets(matching, field, size);
    match backend.facets(&FacetRequest::new(ctx.query.clone(), field, size).time(time)) {
        Ok(got) => {
            let got: Vec<(String, u64)> = got.into_iter().map(|f| (f.value, f.count)).collect();
            if got != want {
                ctx.fail(&format!(
                    "facets of `{field}` (size {size}): got {got:?}, expected {want:?}"
                ));
            }
        }
        Err(e) => ctx.fail(&format!("facets failed: {e}")),
    }
}
