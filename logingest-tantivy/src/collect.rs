//! Collectors: sorted pages with cursors, and histograms (facets:
//! [`crate::facets`]).
//!
//! tantivy's `TopDocs` orders by one fast field; logingest orders by
//! `(timestamp, seq)` with a cursor and an exact total, so [`Page`] counts
//! every match, reads its timestamp, and keeps the best `limit` after the
//! cursor in a buffer with a threshold ([`TopRanks`]): a match whose
//! timestamp alone puts it below the threshold costs one comparison, and
//! `seq` is read only for the others. Histograms read the timestamp of every
//! match; neither needs scores. Matches
//! arrive in blocks of up to 64 documents (`collect_block`) when the segment
//! has no deletions, and columns are read a block at a time.

use logingest_core::{Cursor, HistogramRequest, Order};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

use crate::index::names;

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
            after: self
                .cursor
                .map(|c| rank(self.order, c.timestamp.as_nanos(), c.seq)),
            total: 0,
            best: TopRanks::new(self.limit),
            ts_block: Vec::new(),
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
    after: Option<u128>,
    total: u64,
    best: TopRanks,
    /// Timestamps of the block being collected.
    ts_block: Vec<Option<i64>>,
}

impl PageSegment {
    fn offer(&mut self, doc: DocId, ts: i64) {
        // The best rank any record at `ts` can have; most matches of a large
        // result fall below the threshold here, without reading `seq`.
        let best_at_ts = match self.order {
            Order::Desc => rank(self.order, ts, u64::MAX),
            Order::Asc => rank(self.order, ts, 0),
        };
        if self.best.rejects(best_at_ts) {
            return;
        }
        let Some(seq) = self.seq.first(doc) else {
            return;
        };
        let r = rank(self.order, ts, seq);
        if self.after.is_some_and(|after| r >= after) {
            return;
        }
        self.best.offer(r);
    }
}

impl SegmentCollector for PageSegment {
    type Fruit = (u64, Vec<u128>);

    fn collect(&mut self, doc: DocId, _: Score) {
        self.total += 1;
        if let Some(ts) = self.ts.first(doc) {
            self.offer(doc, ts);
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.total += docs.len() as u64;
        let mut block = std::mem::take(&mut self.ts_block);
        block.clear();
        block.resize(docs.len(), None);
        self.ts.first_vals(docs, &mut block);
        for (&doc, ts) in docs.iter().zip(&block) {
            if let Some(ts) = *ts {
                self.offer(doc, ts);
            }
        }
        self.ts_block = block;
    }

    fn harvest(self) -> (u64, Vec<u128>) {
        (self.total, self.best.into_vec())
    }
}

/// The `limit` largest ranks offered, kept in a buffer that is cut back to
/// the best `limit` whenever it fills (as tantivy's `TopNComputer` does):
/// amortised O(1) per offer, and once the buffer has been cut, everything
/// not above the cut's threshold is rejected with one comparison. Ranks are
/// distinct (`seq` is unique), so the result is exactly the top `limit`.
struct TopRanks {
    limit: usize,
    buffer: Vec<u128>,
    /// Every rank kept is at least this; ranks not above it can never enter.
    threshold: Option<u128>,
}

impl TopRanks {
    fn new(limit: usize) -> Self {
        TopRanks {
            limit,
            buffer: Vec::new(),
            threshold: None,
        }
    }

    fn rejects(&self, best_possible: u128) -> bool {
        self.limit == 0 || self.threshold.is_some_and(|t| best_possible <= t)
    }

    fn offer(&mut self, r: u128) {
        if self.rejects(r) {
            return;
        }
        self.buffer.push(r);
        if self.buffer.len() >= self.limit.saturating_mul(2).max(self.limit + 64) {
            self.cut();
        }
    }

    /// Keeps the best `limit` and raises the threshold to the worst of them.
    fn cut(&mut self) {
        if self.buffer.len() > self.limit {
            self.buffer
                .select_nth_unstable_by(self.limit - 1, |a, b| b.cmp(a));
            self.buffer.truncate(self.limit);
            self.threshold = self.buffer.iter().min().copied();
        }
    }

    fn into_vec(mut self) -> Vec<u128> {
        self.cut();
        self.buffer
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
            ts_block: Vec::new(),
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
    /// Timestamps of the block being collected.
    ts_block: Vec<Option<i64>>,
}

impl BucketsSegment {
    fn count(&mut self, ts: i64) {
        if ts >= self.start && ts < self.end {
            let i = ((i128::from(ts) - i128::from(self.start)) / i128::from(self.width)) as usize;
            if let Some(c) = self.counts.get_mut(i) {
                *c += 1;
            }
        }
    }
}

impl SegmentCollector for BucketsSegment {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(ts) = self.ts.first(doc) {
            self.count(ts);
        }
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        let mut block = std::mem::take(&mut self.ts_block);
        block.clear();
        block.resize(docs.len(), None);
        self.ts.first_vals(docs, &mut block);
        for ts in block.iter().flatten() {
            self.count(*ts);
        }
        self.ts_block = block;
    }

    fn harvest(self) -> Vec<u64> {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The top `limit` of `ranks`, largest first, by sorting everything.
    fn sorted_top(ranks: &[u128], limit: usize) -> Vec<u128> {
        let mut all = ranks.to_vec();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(limit);
        all
    }

    #[test]
    fn top_ranks_keeps_exactly_the_best() {
        // A small deterministic generator: no dependency needed.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for limit in [1, 2, 3, 10, 101, 500] {
            for n in [0, 1, limit, limit + 1, 2 * limit + 63, 5_000] {
                let increasing: Vec<u128> = (0..n as u128).collect();
                let decreasing: Vec<u128> = (0..n as u128).rev().collect();
                let mut random: Vec<u128> = (0..n).map(|_| u128::from(next())).collect();
                random.sort_unstable();
                random.dedup();
                // Shuffle back out of order.
                for i in (1..random.len()).rev() {
                    random.swap(i, next() as usize % (i + 1));
                }
                for ranks in [increasing, decreasing, random] {
                    let mut top = TopRanks::new(limit);
                    for &r in &ranks {
                        top.offer(r);
                    }
                    let mut got = top.into_vec();
                    got.sort_unstable_by(|a, b| b.cmp(a));
                    assert_eq!(got, sorted_top(&ranks, limit), "limit {limit}, n {n}");
                }
            }
        }
    }

    #[test]
    fn rank_orders_and_round_trips() {
        for order in [Order::Desc, Order::Asc] {
            for (ts, seq) in [(i64::MIN, 0), (-1, 5), (0, 0), (7, u64::MAX), (i64::MAX, 3)] {
                assert_eq!(unrank(order, rank(order, ts, seq)), (ts, seq));
            }
            let (a, b) = (rank(order, -5, 9), rank(order, 3, 1));
            assert_eq!(a < b, order == Order::Desc);
        }
    }
}
