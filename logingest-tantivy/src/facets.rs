//! Facets: the top values of one keyword path among the matches of a query.
//!
//! A path with a column of its own (`crate::columns`) is counted from the
//! column's ordinals, a block of matches at a time. A path without one
//! (unique ids) has its values as `kw` terms `path\0value`, so a segment's
//! counts come from the postings of those terms intersected with its
//! matches, or from the terms' document frequencies when every document of
//! a segment without deletions matched. Reading every term of an id path
//! costs in proportion to its distinct values, so a segment with few
//! matches (at most [`FEW_MATCHES`], and far fewer than the path's terms in
//! it) instead
//! hands their sequence numbers back, and the backend counts their values
//! from the records themselves (`TantivyBackend::facets`).

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, Column, StrColumn};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::termdict::TermDictionary;
use tantivy::{
    BitSet, DocId, DocSet, InvertedIndexReader, Score, SegmentOrdinal, SegmentReader, TERMINATED,
};

use crate::columns::column_name;
use logingest_core::keyword_term;

use crate::index::names;

/// Segments with at most this many matches of a query, for a path without a
/// column that has at least [`TERMS_PER_MATCH`] times as many terms in the
/// segment, have their matches' values read from the record store.
pub(crate) const FEW_MATCHES: u32 = 2_048;

/// Reading a record from the store can cost as much as reading this many
/// terms' postings: matches spread over the segment each decode a block of
/// their own (~150 µs a block of 512 generator records, against ~75 ns a
/// term). Measured at 1M records, `docs/performance.md`.
pub(crate) const TERMS_PER_MATCH: u64 = 2_048;

/// Counts the values of one keyword path among matches (each record once
/// per distinct value): from the path's column if it has one
/// (`crate::columns`), else from the postings of its `kw` terms.
pub(crate) struct Values {
    pub path: String,
    /// Whether the path has a column in every segment.
    pub column: bool,
    /// The `kw` field, whose terms `path\0value` hold every value.
    pub kw: Field,
}

/// Each value's count.
pub(crate) type ValueCounts = HashMap<String, u64>;

/// What [`Values`] found: counts, and the matches whose values are still to
/// be counted from the record store.
#[derive(Debug, Default)]
pub(crate) struct ValueFruit {
    pub counts: ValueCounts,
    pub seqs: Vec<u64>,
}

impl Collector for Values {
    type Fruit = ValueFruit;
    type Child = ValuesSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<ValuesSegment> {
        if self.column {
            let name = column_name(names::COL, &self.path);
            let column = segment.fast_fields().str(&name)?;
            let terms = column
                .as_ref()
                .map_or(0, |c| c.dictionary().num_terms() as u64);
            let counts = if terms <= DENSE_COUNTS_MAX {
                Counts::Dense(vec![0; terms as usize])
            } else {
                Counts::Sparse(HashMap::new())
            };
            return Ok(ValuesSegment::Column {
                column,
                counts,
                scratch: Scratch::default(),
            });
        }
        Ok(ValuesSegment::Postings {
            inverted: segment.inverted_index(self.kw)?,
            seqs: segment.fast_fields().u64(names::SEQ)?,
            path: self.path.clone(),
            matched: None,
            max_doc: segment.max_doc(),
            first: Vec::new(),
            count: 0,
            every_document: !segment.has_deletes(),
            documents: segment.num_docs(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(
        &self,
        fruits: Vec<tantivy::Result<ValueFruit>>,
    ) -> tantivy::Result<ValueFruit> {
        let mut all = ValueFruit::default();
        for fruit in fruits {
            let fruit = fruit?;
            for (value, count) in fruit.counts {
                *all.counts.entry(value).or_default() += count;
            }
            all.seqs.extend(fruit.seqs);
        }
        Ok(all)
    }
}

/// Paths with at most this many values in a segment count into a vector
/// indexed by term ordinal (8 bytes a value); larger ones into a map.
const DENSE_COUNTS_MAX: u64 = 1 << 16;

/// Buffers reused for every block a column segment collects.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Ordinals of a block (single-valued columns).
    ords: Vec<Option<u64>>,
    /// Ordinals of one document (multi-valued columns).
    values: Vec<u64>,
}

/// How many terms of `dict` lie in `[lo, hi)`: the ordinal of the first
/// term from `hi` on, less that of the first from `lo` on (two seeks of the
/// sstable's block index, no term read in between).
pub(crate) fn terms_between(dict: &TermDictionary, lo: &str, hi: &str) -> std::io::Result<u64> {
    let first_from = |key: &str| -> std::io::Result<u64> {
        let mut stream = dict.range().ge(key.as_bytes()).into_stream()?;
        Ok(if stream.advance() {
            stream.term_ord()
        } else {
            dict.num_terms() as u64
        })
    };
    Ok(first_from(hi)?.saturating_sub(first_from(lo)?))
}

/// Counts per term ordinal of one segment's column.
pub(crate) enum Counts {
    Dense(Vec<u64>),
    Sparse(HashMap<u64, u64>),
}

impl Counts {
    fn add(&mut self, ord: u64) {
        match self {
            Counts::Dense(counts) => counts[ord as usize] += 1,
            Counts::Sparse(counts) => *counts.entry(ord).or_default() += 1,
        }
    }
}

/// Per-segment state of [`Values`].
pub(crate) enum ValuesSegment {
    /// The path's column (absent from a segment none of whose records has
    /// the path).
    Column {
        column: Option<StrColumn>,
        counts: Counts,
        scratch: Scratch,
    },
    /// The matches, to intersect with the postings of the path's terms
    /// when harvesting.
    Postings {
        inverted: Arc<InvertedIndexReader>,
        seqs: Column<u64>,
        path: String,
        /// Allocated at the first match.
        matched: Option<BitSet>,
        max_doc: DocId,
        /// The first [`FEW_MATCHES`] matches.
        first: Vec<DocId>,
        count: u32,
        /// The segment has no deleted documents (so a term's document
        /// frequency is its count when every document matched).
        every_document: bool,
        documents: u32,
    },
}

impl SegmentCollector for ValuesSegment {
    type Fruit = tantivy::Result<ValueFruit>;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        match self {
            ValuesSegment::Column {
                column: Some(column),
                counts,
                scratch,
            } => count_column(column, docs, counts, scratch),
            ValuesSegment::Column { column: None, .. } => {}
            ValuesSegment::Postings {
                matched,
                max_doc,
                first,
                count,
                ..
            } => {
                let matched = matched.get_or_insert_with(|| BitSet::with_max_value(*max_doc));
                for &doc in docs {
                    matched.insert(doc);
                }
                if *count < FEW_MATCHES {
                    first.extend(docs);
                }
                *count += docs.len() as u32;
            }
        }
    }

    fn harvest(self) -> tantivy::Result<ValueFruit> {
        let counts = match self {
            ValuesSegment::Column {
                column: Some(column),
                counts,
                ..
            } => column_values(&column, counts)?,
            ValuesSegment::Column { column: None, .. } => ValueCounts::new(),
            ValuesSegment::Postings {
                inverted,
                seqs,
                path,
                matched,
                first,
                count,
                every_document,
                documents,
                ..
            } => {
                let Some(matched) = matched else {
                    return Ok(ValueFruit::default());
                };
                let lo = keyword_term::prefix(&path);
                let hi = keyword_term::prefix_end(&path);
                let terms = terms_between(inverted.terms(), &lo, &hi)?;
                if count <= FEW_MATCHES && u64::from(count) * TERMS_PER_MATCH < terms {
                    let seqs = first.iter().filter_map(|&doc| seqs.first(doc)).collect();
                    return Ok(ValueFruit {
                        counts: ValueCounts::new(),
                        seqs,
                    });
                }
                let all = every_document && count == documents;
                postings_values(&inverted, (&lo, &hi), &matched, all)?
            }
        };
        Ok(ValueFruit {
            counts,
            seqs: Vec::new(),
        })
    }
}

/// Counts the column's values of `docs`, a record once per distinct value.
fn count_column(column: &StrColumn, docs: &[DocId], counts: &mut Counts, scratch: &mut Scratch) {
    let Scratch { ords, values } = scratch;
    let column = column.ords();
    if column.get_cardinality() != Cardinality::Multivalued {
        ords.clear();
        ords.resize(docs.len(), None);
        column.first_vals(docs, ords);
        for ord in ords.iter().flatten() {
            counts.add(*ord);
        }
        return;
    }
    for &doc in docs {
        let rows = column.index.value_row_ids(doc);
        let n = rows.len();
        if n == 0 {
            continue;
        }
        values.resize(n, 0);
        column
            .values
            .get_range(u64::from(rows.start), &mut values[..n]);
        if n > 1 {
            values.sort_unstable();
            values.dedup();
        }
        for &ord in values.iter() {
            counts.add(ord);
        }
    }
}

/// The values behind a segment's column ordinals, with their counts.
fn column_values(column: &StrColumn, counts: Counts) -> tantivy::Result<ValueCounts> {
    let mut counts: Vec<(u64, u64)> = match counts {
        Counts::Dense(counts) => counts
            .into_iter()
            .enumerate()
            .filter(|&(_, c)| c > 0)
            .map(|(ord, c)| (ord as u64, c))
            .collect(),
        Counts::Sparse(counts) => counts.into_iter().collect(),
    };
    // One pass over the dictionary for all ordinals, in order (looking
    // each up alone decodes a dictionary block per value).
    counts.sort_unstable();
    let ords: Vec<u64> = counts.iter().map(|&(ord, _)| ord).collect();
    let mut out = ValueCounts::with_capacity(counts.len());
    let mut next = counts.iter();
    column.dictionary().sorted_ords_to_term_cb(&ords, |term| {
        if let (Some(&(_, count)), Ok(value)) = (next.next(), std::str::from_utf8(term)) {
            out.insert(value.to_owned(), count);
        }
    })?;
    Ok(out)
}

/// Counts the values of a path among `matched` from the postings of its
/// `kw` terms, those in `[lo, hi)`; `all`: every document of the segment
/// matched, so a term's document frequency is its count.
fn postings_values(
    inverted: &InvertedIndexReader,
    (lo, hi): (&str, &str),
    matched: &BitSet,
    all: bool,
) -> tantivy::Result<ValueCounts> {
    let mut out = ValueCounts::new();
    let mut stream = inverted
        .terms()
        .range()
        .ge(lo.as_bytes())
        .lt(hi.as_bytes())
        .into_stream()?;
    while stream.advance() {
        let info = stream.value();
        let count = if all {
            u64::from(info.doc_freq)
        } else {
            let mut postings =
                inverted.read_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            let mut count = 0;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                count += u64::from(matched.contains(doc));
                doc = postings.advance();
            }
            count
        };
        if count == 0 {
            continue;
        }
        if let Some(value) = stream
            .key()
            .get(lo.len()..)
            .and_then(|v| std::str::from_utf8(v).ok())
        {
            out.insert(value.to_owned(), count);
        }
    }
    Ok(out)
}
