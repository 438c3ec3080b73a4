//! Collectors: sorted pages with cursors, histograms and facets.
//!
//! tantivy's `TopDocs` orders by one fast field; logingest orders by
//! `(timestamp, seq)` with a cursor and an exact total, so [`Page`] reads both
//! fast fields of every match, counts it, and keeps the best `limit` after
//! the cursor in a bounded heap. Histograms and facets read the same columns
//! for every match; none of them needs scores.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::ops::Bound;

use logingest_core::{Cursor, HistogramRequest, Order, Timestamp};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::{names, KW_SEPARATOR};

/// A position in the result order as one integer: larger comes first.
fn rank(order: Order, ts: i64, seq: u64) -> u128 {
    let key = (u128::from((ts as u64) ^ (1 << 63)) << 64) | u128::from(seq);
    match order {
        Order::Desc => key,
        Order::Asc => u128::MAX - key,
    }
}

fn unrank(order: Order, rank: u128) -> (i64, u64) {
    let key = match order {
        Order::Desc => rank,
        Order::Asc => u128::MAX - rank,
    };
    (((key >> 64) as u64 ^ (1 << 63)) as i64, key as u64)
}

/// Collects the exact total and the first `limit` hits after a cursor.
pub(crate) struct Page {
    pub order: Order,
    pub limit: usize,
    pub cursor: Option<Cursor>,
}

/// What [`Page`] returns: `(total, hits as (ts, seq) in order)`.
pub(crate) type PageFruit = (u64, Vec<(i64, u64)>);

impl Collector for Page {
    type Fruit = PageFruit;
    type Child = PageSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        let fast = segment.fast_fields();
        Ok(PageSegment {
            ts: fast.i64(names::TS)?,
            seq: fast.u64(names::SEQ)?,
            order: self.order,
            limit: self.limit,
            after: self
                .cursor
                .map(|c| rank(self.order, c.timestamp.as_nanos(), c.seq)),
            total: 0,
            best: BinaryHeap::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(u64, Vec<u128>)>) -> tantivy::Result<PageFruit> {
        let total = fruits.iter().map(|(t, _)| t).sum();
        let mut ranks: Vec<u128> = fruits.into_iter().flat_map(|(_, r)| r).collect();
        ranks.sort_unstable_by(|a, b| b.cmp(a));
        ranks.truncate(self.limit);
        Ok((
            total,
            ranks.into_iter().map(|r| unrank(self.order, r)).collect(),
        ))
    }
}

/// Per-segment state of [`Page`].
pub(crate) struct PageSegment {
    ts: Column<i64>,
    seq: Column<u64>,
    order: Order,
    limit: usize,
    after: Option<u128>,
    total: u64,
    /// The best `limit` ranks seen, smallest on top.
    best: BinaryHeap<Reverse<u128>>,
}

impl SegmentCollector for PageSegment {
    type Fruit = (u64, Vec<u128>);

    fn collect(&mut self, doc: DocId, _: Score) {
        self.total += 1;
        let (Some(ts), Some(seq)) = (self.ts.first(doc), self.seq.first(doc)) else {
            return;
        };
        let r = rank(self.order, ts, seq);
        if self.after.is_some_and(|after| r >= after) {
            return;
        }
        if self.best.len() < self.limit {
            self.best.push(Reverse(r));
        } else if self.best.peek().is_some_and(|Reverse(worst)| r > *worst) {
            self.best.pop();
            self.best.push(Reverse(r));
        }
    }

    fn harvest(self) -> (u64, Vec<u128>) {
        (
            self.total,
            self.best.into_iter().map(|Reverse(r)| r).collect(),
        )
    }
}

/// Counts matches per fixed-width time bucket.
pub(crate) struct Buckets {
    pub start: i64,
    pub end: i64,
    pub width: i64,
    pub count: usize,
}

impl Buckets {
    pub(crate) fn new(request: &HistogramRequest) -> Self {
        Buckets {
            start: request.start.as_nanos(),
            end: request.end.as_nanos(),
            width: request.bucket_width(),
            count: request.bucket_count(),
        }
    }
}

impl Collector for Buckets {
    type Fruit = Vec<u64>;
    type Child = BucketsSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<BucketsSegment> {
        Ok(BucketsSegment {
            ts: segment.fast_fields().i64(names::TS)?,
            start: self.start,
            end: self.end,
            width: self.width,
            counts: vec![0; self.count],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        let mut counts = vec![0; self.count];
        for fruit in fruits {
            for (c, f) in counts.iter_mut().zip(fruit) {
                *c += f;
            }
        }
        Ok(counts)
    }
}

/// Per-segment state of [`Buckets`].
pub(crate) struct BucketsSegment {
    ts: Column<i64>,
    start: i64,
    end: i64,
    width: i64,
    counts: Vec<u64>,
}

impl SegmentCollector for BucketsSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(ts) = self.ts.first(doc) {
            if ts >= self.start && ts < self.end {
                let i =
                    ((i128::from(ts) - i128::from(self.start)) / i128::from(self.width)) as usize;
                if let Some(c) = self.counts.get_mut(i) {
                    *c += 1;
                }
            }
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

/// Counts the values of one keyword path among matches (each record once
/// per distinct value).
pub(crate) struct Values {
    pub path: String,
}

impl Collector for Values {
    type Fruit = HashMap<String, u64>;
    type Child = ValuesSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<ValuesSegment> {
        let column = segment.fast_fields().str(names::KW)?;
        let range = match &column {
            Some(column) => prefix_ords(column, &self.path)?,
            None => (0, 0),
        };
        Ok(ValuesSegment {
            column,
            range,
            prefix_len: self.path.len() + KW_SEPARATOR.len_utf8(),
            counts: HashMap::new(),
            scratch: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<HashMap<String, u64>>,
    ) -> tantivy::Result<HashMap<String, u64>> {
        let mut all: HashMap<String, u64> = HashMap::new();
        for fruit in fruits {
            for (value, count) in fruit {
                *all.entry(value).or_default() += count;
            }
        }
        Ok(all)
    }
}

/// The term ordinals `[lo, hi)` of the column's terms that start with `path\0`.
fn prefix_ords(column: &StrColumn, path: &str) -> tantivy::Result<(u64, u64)> {
    let lo = format!("{path}{KW_SEPARATOR}");
    // The separator is the smallest byte, so `path\x01` bounds the prefix.
    let hi = format!("{path}\u{1}");
    let dict = column.dictionary();
    let (start, end) = dict.term_bounds_to_ord(
        Bound::Included(lo.as_bytes()),
        Bound::Excluded(hi.as_bytes()),
    )?;
    let n = dict.num_terms() as u64;
    let lo = match start {
        Bound::Included(o) => o,
        Bound::Excluded(o) => o.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let hi = match end {
        Bound::Included(o) => o.saturating_add(1),
        Bound::Excluded(o) => o,
        Bound::Unbounded => n,
    };
    Ok((lo.min(n), hi.min(n)))
}

/// Per-segment state of [`Values`].
pub(crate) struct ValuesSegment {
    column: Option<StrColumn>,
    range: (u64, u64),
    prefix_len: usize,
    counts: HashMap<u64, u64>,
    scratch: Vec<u64>,
}

impl SegmentCollector for ValuesSegment {
    type Fruit = HashMap<String, u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let Some(column) = &self.column else { return };
        let (lo, hi) = self.range;
        self.scratch.clear();
        self.scratch
            .extend(column.term_ords(doc).filter(|o| *o >= lo && *o < hi));
        self.scratch.sort_unstable();
        self.scratch.dedup();
        for &ord in &self.scratch {
            *self.counts.entry(ord).or_default() += 1;
        }
    }

    fn harvest(self) -> HashMap<String, u64> {
        let mut out = HashMap::with_capacity(self.counts.len());
        let Some(column) = &self.column else {
            return out;
        };
        let mut term = String::new();
        for (ord, count) in self.counts {
            if column.ord_to_str(ord, &mut term).unwrap_or(false) {
                out.insert(term[self.prefix_len..].to_owned(), count);
            }
        }
        out
    }
}

/// `Timestamp` of a ranked hit (used by the backend to build cursors).
pub(crate) fn cursor_of(ts: i64, seq: u64) -> Cursor {
    Cursor::new(Timestamp(ts), seq)
}
