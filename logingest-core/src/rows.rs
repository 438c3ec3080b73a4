//! Rows: what a pipeline with `stats` or `top` answers.
//!
//! A backend computes the groups of the row-making pipe (natively, from its
//! index); what happens to the rows after that (their default order, `top`'s
//! cut, `sort`, `limit`) is the same for every backend and lives here, so
//! backends agree on it by construction. The reference evaluator
//! ([`crate::reference_rows`]) makes the groups from records.

use std::cmp::Ordering;

use crate::backend::{
    Backend, FacetRequest, Facets, HistogramRequest, Order, SearchRequest, TimeRange,
};
use crate::error::{Error, Result};
use crate::eval::stats::bucket_start;
pub use crate::eval::stats::{bucket, too_large, Groups, Partial};
use crate::number::Number;
use crate::parse::parse_stored_record;
use crate::query::pipe::{Function, GroupKey, Pipe, SortKey, Stats, TOP_COUNT};
use crate::query::{Field, Pipeline, Query, Wildcard, WildcardPart};
use crate::timestamp::Timestamp;

/// A pipeline with `stats` or `top`, over a time window.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RowsRequest {
    /// The filter and its pipes; the first pipe is `stats` or `top`.
    pub pipeline: Pipeline,
    /// Time bounds, ANDed with the filter.
    pub time: TimeRange,
    /// About how many bytes the groups and the values they keep may take
    /// while they are computed. Default [`RowsRequest::DEFAULT_BUDGET`].
    pub memory_budget: usize,
}

impl RowsRequest {
    /// The default [`RowsRequest::memory_budget`]: 256 MiB.
    pub const DEFAULT_BUDGET: usize = 256 << 20;

    /// The rows of `pipeline` over every visible record.
    pub fn new(pipeline: Pipeline) -> Self {
        RowsRequest {
            pipeline,
            time: TimeRange::default(),
            memory_budget: Self::DEFAULT_BUDGET,
        }
    }

    /// Restricts the records to `time`.
    pub fn time(mut self, time: TimeRange) -> Self {
        self.time = time;
        self
    }

    /// Sets the memory budget.
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Checks the pipeline makes rows; every backend calls this first.
    pub fn validate(&self) -> Result<()> {
        match self.pipeline.pipes.first() {
            Some(Pipe::Stats(_) | Pipe::Top(_)) => Ok(()),
            _ => Err(Error::InvalidRequest(
                "rows are made by a `stats` or `top` pipe right after the filter \
                 (`level:error | stats count() by (resourceId)`)"
                    .to_owned(),
            )),
        }
    }
}

/// The rows of `request` from the backend's counting operations, when the
/// pipeline only counts: `stats` without groups of `count()`, `count(f)`
/// and `count_uniq(f)`, or `count()` columns (or
/// `top`) by one key: a field is its facets (every
/// value, a record counting once per distinct value, as a group does) and
/// the total of the records without a value for the null group; a time
/// bucket is a histogram aligned to the step. `None` when the pipeline
/// needs more (other functions, several keys, more buckets than a
/// histogram has), for [`rows_by_search`]; more values than the memory
/// budget holds are refused.
///
/// What [`Backend::rows`] tries first: backends answer these from their
/// index (columns, postings, aggregations) without reading records.
pub fn rows_by_counts<B: Backend + ?Sized>(
    backend: &B,
    request: &RowsRequest,
) -> Result<Option<Rows>> {
    request.validate()?;
    let pipeline = &request.pipeline;
    if let Pipe::Stats(stats) = &pipeline.pipes[0] {
        if stats.by.is_empty() {
            return one_row_of_counts(backend, request, stats);
        }
    }
    let (names, keys): (Vec<String>, &[GroupKey]) = match &pipeline.pipes[0] {
        Pipe::Stats(stats)
            if stats
                .functions
                .iter()
                .all(|f| f.function == Function::Count) =>
        {
            (
                stats.functions.iter().map(|f| f.name.clone()).collect(),
                &stats.by,
            )
        }
        Pipe::Top(top) => (vec![TOP_COUNT.to_owned()], &top.by),
        _ => return Ok(None),
    };
    let filter = request.time.within(&pipeline.filter);
    let groups: Vec<(Cell, u64)> = match keys {
        [GroupKey::Field(path)] => {
            let facets = every_facet(backend, request, &filter, path)?;
            let any_value = Query::Wildcard {
                field: Field::Keyword(path.clone()),
                pattern: Wildcard {
                    parts: vec![WildcardPart::AnyString],
                },
            };
            let without = total(backend, filter.and(Query::Not(Box::new(any_value))))?;
            let mut groups: Vec<(Cell, u64)> = facets
                .into_iter()
                .map(|f| (Cell::Text(f.value), f.count))
                .collect();
            groups.extend((without > 0).then_some((Cell::Null, without)));
            groups
        }
        [GroupKey::Bucket { step, .. }] => {
            let edge = |order: Order| -> Result<Option<Timestamp>> {
                let request = SearchRequest::new(filter.clone()).order(order).limit(1);
                Ok(backend.search(&request)?.hits.first().map(|h| h.timestamp))
            };
            let (Some(first), Some(last)) = (edge(Order::Asc)?, edge(Order::Desc)?) else {
                return Ok(Some(Rows::finish(
                    key_columns(keys, names),
                    Vec::new(),
                    1,
                    &pipeline.pipes,
                )));
            };
            // A bucket that starts before the earliest time: by search.
            let Some(start) = bucket_start(first, *step) else {
                return Ok(None);
            };
            let end = bucket(last, *step).0.checked_add(*step);
            let buckets =
                end.map(|end| (i128::from(end) - i128::from(start.0)) / i128::from(*step));
            let (Some(end), Some(buckets)) = (end, buckets.and_then(|b| usize::try_from(b).ok()))
            else {
                return Ok(None);
            };
            if buckets > HistogramRequest::MAX_BUCKETS {
                return Ok(None);
            }
            let histogram = backend.histogram(&HistogramRequest::new(
                filter,
                start,
                Timestamp(end),
                buckets,
            ))?;
            (0..)
                .zip(histogram.counts)
                .filter(|&(_, count)| count > 0)
                .map(|(i, count)| (Cell::Time(Timestamp(start.0 + i * step)), count))
                .collect()
        }
        _ => return Ok(None),
    };
    let rows = groups
        .into_iter()
        .map(|(key, count)| {
            std::iter::once(key)
                .chain(names.iter().map(|_| Cell::Count(count)))
                .collect()
        })
        .collect();
    Ok(Some(Rows::finish(
        key_columns(keys, names),
        rows,
        keys.len(),
        &pipeline.pipes,
    )))
}

/// The one row of `stats` without groups when every function counts:
/// `count()` is a search's total, `count(f)` the total of `f:*` among the
/// matches, `count_uniq(f)` how many values the facets of `f` have.
fn one_row_of_counts<B: Backend + ?Sized>(
    backend: &B,
    request: &RowsRequest,
    stats: &Stats,
) -> Result<Option<Rows>> {
    let filter = request.time.within(&request.pipeline.filter);
    let mut row = Vec::with_capacity(stats.functions.len());
    for named in &stats.functions {
        let count = match &named.function {
            Function::Count => total(backend, filter.clone())?,
            Function::CountField(f) => total(
                backend,
                filter.clone().and(Query::Exists { field: f.clone() }),
            )?,
            Function::CountUniq(f) => every_facet(backend, request, &filter, f)?.len() as u64,
            _ => return Ok(None),
        };
        row.push(Cell::Count(count));
    }
    let columns = stats.functions.iter().map(|f| f.name.clone()).collect();
    Ok(Some(Rows::finish(
        columns,
        vec![row],
        0,
        &request.pipeline.pipes,
    )))
}

/// How many visible records match `query`: a search's exact total.
fn total<B: Backend + ?Sized>(backend: &B, query: Query) -> Result<u64> {
    Ok(backend.search(&SearchRequest::new(query).limit(1))?.total)
}

/// Every value of `path` among the records matching `query`, with its
/// count; refused when there are more than the memory budget's worth of
/// groups could hold.
fn every_facet<B: Backend + ?Sized>(
    backend: &B,
    request: &RowsRequest,
    query: &Query,
    path: &str,
) -> Result<Facets> {
    let size = (request.memory_budget / 64).max(1);
    let facets = backend.facets(&FacetRequest::new(query.clone(), path, size))?;
    if facets.len() >= size {
        return Err(too_large(request.memory_budget));
    }
    Ok(facets)
}

/// The column names of rows with `keys`, then the functions' `names`.
fn key_columns(keys: &[GroupKey], names: Vec<String>) -> Vec<String> {
    keys.iter().map(GroupKey::name).chain(names).collect()
}

/// The rows of `request` computed from the records a search returns, page
/// by page: what [`Backend::rows`] does unless a backend computes them from
/// its index. Exact, as search is, but it reads every matching record.
pub fn rows_by_search<B: Backend + ?Sized>(backend: &B, request: &RowsRequest) -> Result<Rows> {
    request.validate()?;
    let pipeline = &request.pipeline;
    let Some(mut groups) = Groups::new(pipeline, request.memory_budget) else {
        // `validate` refused every pipeline that makes no groups.
        return Ok(Rows::default());
    };
    let mut cursor = None;
    loop {
        let search = SearchRequest::new(pipeline.filter.clone())
            .time(request.time)
            .order(Order::Asc)
            .limit(SearchRequest::MAX_LIMIT)
            .cursor(cursor);
        let page = backend.search(&search)?;
        for hit in &page.hits {
            groups.add(&parse_stored_record(hit.seq, &hit.source)?)?;
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(groups.finish()),
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Cell {
    /// No value: a record without the grouped field, a function of no
    /// numbers.
    Null,
    /// A keyword value (group keys).
    Text(String),
    /// A computed number (`sum`, `avg`, `min`, `max`, `quantile`).
    Number(Number),
    /// A count (`count`, `count_uniq`, `top`).
    Count(u64),
    /// The start of a time bucket.
    Time(Timestamp),
}

impl Cell {
    /// The order of rows: by kind, then by value; `Null` after everything.
    fn rank(&self) -> u8 {
        match self {
            Cell::Count(_) => 0,
            Cell::Number(_) => 1,
            Cell::Time(_) => 2,
            Cell::Text(_) => 3,
            Cell::Null => 4,
        }
    }
}

impl Ord for Cell {
    /// Counts, numbers and times by value, texts byte by byte, `Null` last.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Cell::Count(a), Cell::Count(b)) => a.cmp(b),
            (Cell::Number(a), Cell::Number(b)) => a.cmp(b),
            (Cell::Time(a), Cell::Time(b)) => a.cmp(b),
            (Cell::Text(a), Cell::Text(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Cell {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A table of named columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    /// Column names, in order: the group keys, then the functions.
    pub columns: Vec<String>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    /// The rows of a row-making pipe's groups, then every later pipe of
    /// `pipes` (`sort`, `limit`) applied.
    ///
    /// `rows` are the groups in any order, each with its key cells first
    /// (`keys` of them). Their default order is by the keys, ascending,
    /// `Null` last; `top` (when `pipes` starts with it) orders by its count,
    /// most first, then by the keys, and keeps its first `n`.
    pub fn finish(
        columns: Vec<String>,
        mut rows: Vec<Vec<Cell>>,
        keys: usize,
        pipes: &[Pipe],
    ) -> Rows {
        rows.sort_by(|a, b| a[..keys].cmp(&b[..keys]));
        if let Some(Pipe::Top(top)) = pipes.first() {
            let count = columns.iter().position(|c| c == TOP_COUNT).unwrap_or(keys);
            rows.sort_by(|a, b| b[count].cmp(&a[count]));
            rows.truncate(top.n);
        }
        let mut table = Rows { columns, rows };
        for pipe in pipes.iter().skip(1) {
            match pipe {
                Pipe::Sort(sort) => table.sort(sort),
                Pipe::Limit(n) => table.rows.truncate(*n),
                _ => {}
            }
        }
        table
    }

    /// A stable sort by `keys`; `Null` last in either direction.
    fn sort(&mut self, keys: &[SortKey]) {
        let keys: Vec<(usize, bool)> = keys
            .iter()
            .filter_map(|k| {
                let i = self.columns.iter().position(|c| *c == k.column)?;
                Some((i, k.descending))
            })
            .collect();
        self.rows.sort_by(|a, b| {
            for &(i, descending) in &keys {
                let order = match (&a[i], &b[i]) {
                    (Cell::Null, Cell::Null) => Ordering::Equal,
                    (Cell::Null, _) => Ordering::Greater,
                    (_, Cell::Null) => Ordering::Less,
                    (x, y) if descending => y.cmp(x),
                    (x, y) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        });
    }
}
