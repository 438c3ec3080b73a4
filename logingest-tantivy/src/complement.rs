//! `NOT q` as a bitset complement.
//!
//! tantivy expresses negation as `Must(All) + MustNot(q)`, evaluated by its
//! `Exclude` docset, which probes `q` with `seek_danger` from doc 0. Phrase
//! scorers do not honour that contract when already positioned past the
//! target (a debug assertion in tantivy 0.27 fires; a release build could
//! exclude the wrong document). Materialising `q` per segment and
//! complementing the bitset is simple, exact, and costs one pass over `q`'s
//! matches, which the collector makes anyway.

use tantivy::query::{
    BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::{BitSet, DocId, Score, SegmentReader};

/// Matches every document `inner` does not match.
#[derive(Debug)]
pub(crate) struct Complement {
    inner: Box<dyn Query>,
}

impl Complement {
    pub(crate) fn new(inner: Box<dyn Query>) -> Self {
        Complement { inner }
    }
}

impl Clone for Complement {
    fn clone(&self) -> Self {
        Complement {
            inner: self.inner.box_clone(),
        }
    }
}

impl Query for Complement {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let no_scores = match enable_scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(enable_scoring.schema()),
        };
        let inner = self.inner.weight(no_scores)?;
        Ok(Box::new(ComplementWeight { inner }))
    }

    fn query_terms<'a>(&'a self, _: &mut dyn FnMut(&'a tantivy::Term, bool)) {}
}

struct ComplementWeight {
    inner: Box<dyn Weight>,
}

impl Weight for ComplementWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let max_doc = reader.max_doc();
        let mut docs = BitSet::with_max_value_and_full(max_doc);
        self.inner
            .for_each_no_score(reader, &mut |matched: &[DocId]| {
                for &doc in matched {
                    docs.remove(doc);
                }
            })?;
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(docs), boost)))
    }

    fn explain(&self, _: &SegmentReader, _: DocId) -> tantivy::Result<Explanation> {
        Ok(Explanation::new("NOT", 1.0))
    }
}
