//! Rows natively: the groups of a `stats` or `top` pipe computed from the
//! index, without reading the matching records.
//!
//! Reading records costs ~150 µs a block of them, so a quantile over a
//! million matches would take seconds; the index holds every value a
//! function needs, in forms read much faster:
//! - the query's matches of a segment are collected once, as a set;
//! - a record's group comes from its key values: a time bucket from the
//!   `ts` column; a keyword from the path's column (`crate::columns`) or,
//!   for a path without one, from the postings of its `kw` terms, inverted
//!   once for the matches;
//! - `count(f)` reads the postings of `path:f`; `count_uniq(f)` the path's
//!   column ordinals or the ordinals of its `kw` terms; numbers the `num`
//!   terms, which sort by value and decode to it, their frequency counting
//!   a number a record holds twice;
//! - ordinals become texts once per segment, and the segments' groups
//!   merge in [`Groups`], which keeps the budget and makes every cell as the
//!   reference evaluator does ([`logingest_core::reference_rows`]).
//!
//! `count_uniq(f)` without groups merges the segments' sorted term
//! dictionaries instead ([`distinct_values`], [`merge`]) and counts each
//! value once, without holding every distinct text.
//!
//! As for facets (`crate::facets`), a segment with few matches of a query
//! whose paths have many terms reads its matching records from the store:
//! inverting a path of unique ids costs in proportion to its terms.

mod merge;
mod segment;
mod values;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::schema::IndexRecordOption;
use tantivy::termdict::TermStreamer;
use tantivy::{
    BitSet, DocId, DocSet, InvertedIndexReader, Score, Searcher, SegmentOrdinal, SegmentReader,
    TERMINATED,
};

use logingest_core::keyword_term;
use logingest_core::query::pipe::{Function, GroupKey};
use logingest_core::rows::{Groups, Partial};
use logingest_core::Result;

use crate::error;
use crate::facets::{terms_between, FEW_MATCHES, TERMS_PER_MATCH};
use crate::index::Fields;

use merge::Merge;
pub(crate) use segment::SegmentRows;

/// Collects the matches of each segment.
pub(crate) struct Matches;

/// The matches of one segment, in order and as a set.
pub(crate) struct Matched {
    pub segment: SegmentOrdinal,
    pub docs: Vec<DocId>,
    pub set: BitSet,
}

impl Collector for Matches {
    type Fruit = Vec<Matched>;
    type Child = Matched;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Matched> {
        Ok(Matched {
            segment,
            docs: Vec::new(),
            set: BitSet::with_max_value(reader.max_doc()),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Matched>) -> tantivy::Result<Vec<Matched>> {
        Ok(fruits.into_iter().filter(|m| !m.docs.is_empty()).collect())
    }
}

impl SegmentCollector for Matched {
    type Fruit = Matched;

    fn collect(&mut self, doc: DocId, _: Score) {
        self.collect_block(&[doc]);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.docs.extend_from_slice(docs);
        for &doc in docs {
            self.set.insert(doc);
        }
    }

    fn harvest(self) -> Matched {
        self
    }
}

/// Where the values of a key or of a function's field come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// The start of the record's bucket of `step` nanoseconds.
    Bucket(i64),
    /// The path's column.
    Column(String),
    /// The path's `kw` terms.
    Terms(String),
}

/// What a function reads.
#[derive(Debug, Clone)]
pub(crate) enum Reads {
    /// Nothing: `count()`.
    Count,
    /// Whether the record has the field (`path` postings).
    Exists(String),
    /// The field's distinct values.
    Values(Source),
    /// Counted across segments by [`distinct_values`]; nothing per
    /// segment.
    Distinct,
    /// The field's numbers (`num` terms).
    Numbers(String),
}

/// What the groups of one pipeline read.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub keys: Vec<Source>,
    pub functions: Vec<Reads>,
}

impl Plan {
    /// The sources of `groups`' keys and functions; `has_column` says
    /// which paths have a column. `distinct`: count distinct values across
    /// segments (no groups, and every segment read from the index).
    fn new(groups: &Groups<'_>, has_column: &dyn Fn(&str) -> bool, distinct: bool) -> Plan {
        let source = |path: &String| {
            if has_column(path) {
                Source::Column(path.clone())
            } else {
                Source::Terms(path.clone())
            }
        };
        let keys = groups
            .keys()
            .iter()
            .map(|key| match key {
                GroupKey::Field(path) => source(path),
                GroupKey::Bucket { step, .. } => Source::Bucket(*step),
            })
            .collect();
        let functions = groups
            .functions()
            .map(|function| match function {
                Function::Count => Reads::Count,
                Function::CountField(f) => Reads::Exists(f.clone()),
                Function::CountUniq(_) if distinct => Reads::Distinct,
                Function::CountUniq(f) => Reads::Values(source(f)),
                other => Reads::Numbers(other.field().unwrap_or_default().to_owned()),
            })
            .collect();
        Plan { keys, functions }
    }

    /// The paths whose terms a segment inverts or scans, with the field
    /// holding them.
    fn term_paths(&self) -> impl Iterator<Item = (TermField, &str)> {
        let keys = self.keys.iter().filter_map(|k| match k {
            Source::Terms(path) => Some((TermField::Kw, path.as_str())),
            _ => None,
        });
        let functions = self.functions.iter().filter_map(|f| match f {
            Reads::Values(Source::Terms(path)) => Some((TermField::Kw, path.as_str())),
            Reads::Numbers(path) => Some((TermField::Num, path.as_str())),
            _ => None,
        });
        keys.chain(functions)
    }
}

/// The field of a path's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TermField {
    /// Keyword values, `path\0value`.
    Kw,
    /// Numbers, `path\0` and the sortable number.
    Num,
}

impl TermField {
    fn of(self, fields: &Fields) -> tantivy::schema::Field {
        match self {
            TermField::Kw => fields.kw,
            TermField::Num => fields.num,
        }
    }
}

/// What the backend still has to do after [`native`]: add these records
/// (sequence numbers, ascending) to the groups.
pub(crate) type FromStore = Vec<u64>;

/// Adds the groups of every segment's matches to `groups` from the index,
/// except segments with few matches and paths of many terms, whose
/// sequence numbers it returns for the caller to read.
pub(crate) fn native(
    searcher: &Searcher,
    fields: &Fields,
    matched: &[Matched],
    groups: &mut Groups<'_>,
    has_column: &dyn Fn(&str) -> bool,
    budget: usize,
) -> Result<FromStore> {
    let matches: usize = matched.iter().map(|m| m.docs.len()).sum();
    if matches.saturating_mul(size_of::<DocId>()) > budget {
        return Err(logingest_core::rows::too_large(budget));
    }
    let plan = Plan::new(groups, has_column, false);
    let mut from_store = Vec::new();
    let mut native = Vec::new();
    for m in matched {
        let reader = searcher.segment_reader(m.segment);
        if few_matches(reader, fields, &plan, m)? {
            let seqs = reader
                .fast_fields()
                .u64(crate::index::names::SEQ)
                .map_err(error::index)?;
            from_store.extend(m.docs.iter().filter_map(|&doc| seqs.first(doc)));
        } else {
            native.push(m);
        }
    }
    let distinct = groups.keys().is_empty() && from_store.is_empty();
    let plan = Plan::new(groups, has_column, distinct);
    for m in &native {
        let reader = searcher.segment_reader(m.segment);
        // The groups kept so far leave the rest of the budget.
        let left = budget.saturating_sub(groups.bytes());
        SegmentRows::new(reader, fields, &plan, m, left)?.merge_into(groups)?;
    }
    if distinct && plan.functions.iter().any(|f| matches!(f, Reads::Distinct)) {
        let partials = groups
            .functions()
            .map(|function| match function {
                Function::CountUniq(f) => distinct_values(searcher, fields, &native, f),
                Function::Count | Function::CountField(_) => Ok(Partial::Count(0)),
                _ => Ok(Partial::Numbers(Vec::new())),
            })
            .collect::<Result<Vec<_>>>()?;
        groups.merge(Vec::new(), partials)?;
    }
    from_store.sort_unstable();
    Ok(from_store)
}

/// Whether reading the segment's matching records costs less than
/// scanning the terms of the paths the plan inverts.
fn few_matches(reader: &SegmentReader, fields: &Fields, plan: &Plan, m: &Matched) -> Result<bool> {
    let count = m.docs.len() as u64;
    if count > u64::from(FEW_MATCHES) {
        return Ok(false);
    }
    let mut terms = 0;
    for (field, path) in plan.term_paths() {
        let inverted = reader
            .inverted_index(field.of(fields))
            .map_err(error::index)?;
        let lo = keyword_term::prefix(path);
        let hi = keyword_term::prefix_end(path);
        terms += terms_between(inverted.terms(), &lo, &hi).map_err(error::index_io)?;
    }
    Ok(count * TERMS_PER_MATCH < terms)
}

/// `count_uniq(path)` over every segment's matches: the segments' `kw`
/// terms of `path` merged in order, each counted once if a match holds it.
fn distinct_values(
    searcher: &Searcher,
    fields: &Fields,
    matched: &[&Matched],
    path: &str,
) -> Result<Partial> {
    let lo = keyword_term::prefix(path);
    let hi = keyword_term::prefix_end(path);
    let mut inverted = Vec::with_capacity(matched.len());
    for m in matched {
        let reader = searcher.segment_reader(m.segment);
        // Every document matched: each term of the segment has a match.
        let all = !reader.has_deletes() && m.docs.len() == reader.num_docs() as usize;
        inverted.push((reader.inverted_index(fields.kw).map_err(error::index)?, all));
    }
    let streams = inverted
        .iter()
        .map(|(inverted, _)| terms(inverted, &lo, &hi))
        .collect::<Result<Vec<_>>>()?;
    let mut merge = Merge::new(streams);
    let mut count = 0u64;
    while merge.advance() {
        for (segment, stream) in merge.current() {
            let (inverted, all) = &inverted[segment];
            if *all || {
                let mut postings = inverted
                    .read_postings_from_terminfo(stream.value(), IndexRecordOption::Basic)
                    .map_err(error::index_io)?;
                any_match(&mut postings, &matched[segment].set)
            } {
                count += 1;
                break;
            }
        }
    }
    Ok(Partial::Distinct(count))
}

/// The stream of the terms in `[lo, hi)`.
fn terms<'a>(inverted: &'a InvertedIndexReader, lo: &str, hi: &str) -> Result<TermStreamer<'a>> {
    inverted
        .terms()
        .range()
        .ge(lo.as_bytes())
        .lt(hi.as_bytes())
        .into_stream()
        .map_err(error::index_io)
}

/// Whether `docs` holds a document of `set`.
fn any_match(docs: &mut impl DocSet, set: &BitSet) -> bool {
    let mut doc = docs.doc();
    while doc != TERMINATED {
        if set.contains(doc) {
            return true;
        }
        doc = docs.advance();
    }
    false
}
