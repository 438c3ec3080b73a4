//! Substring search over the message terms of each segment.
//!
//! An infix wildcard (`*onnect*`) or a regex piece that may sit inside a
//! token (`took \d+` → some token ends with `took`) cannot use the term
//! dictionary's order, so tantivy would run an automaton over every term of
//! every segment (~95 ms for 1.3 M terms). Instead each segment's message
//! terms are laid out once as one newline-separated string, and a substring
//! search (Two-Way, as `str::find` does) finds the candidate terms in a few
//! milliseconds; each candidate is then checked exactly and the matching
//! terms become a term-set query. The text of a segment costs about its
//! dictionary's size in memory (~10 MB per 1 M generated records), is built
//! on first use (~100–200 ms for a large segment), and is dropped when the
//! segment disappears in a merge.

use std::collections::HashMap;
use std::sync::Arc;

use logingest_core::Result;
use parking_lot::Mutex;
use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

use crate::error;

/// Per-segment newline-separated message terms, built lazily.
#[derive(Default)]
pub(crate) struct TermTexts {
    by_segment: Mutex<HashMap<SegmentId, Arc<String>>>,
}

impl TermTexts {
    /// The terms of `field` in the searcher's segments that contain `needle`
    /// and pass `keep`, deduplicated.
    pub(crate) fn matching(
        &self,
        searcher: &Searcher,
        field: Field,
        needle: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Term>> {
        let mut terms = Vec::new();
        for text in self.texts(searcher, field)? {
            let mut from = 0;
            while let Some(found) = text[from..].find(needle) {
                let at = from + found;
                let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
                let token = &text[start..end];
                if keep(token) {
                    terms.push(Term::from_field_text(field, token));
                }
                from = end + 1;
                if from >= text.len() {
                    break;
                }
            }
        }
        terms.sort_unstable();
        terms.dedup();
        Ok(terms)
    }

    /// The text of every segment of `searcher`, building missing ones and
    /// forgetting segments that no longer exist.
    fn texts(&self, searcher: &Searcher, field: Field) -> Result<Vec<Arc<String>>> {
        let live: Vec<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id())
            .collect();
        let mut missing = Vec::new();
        {
            let mut cache = self.by_segment.lock();
            cache.retain(|id, _| live.contains(id));
            for (i, id) in live.iter().enumerate() {
                if !cache.contains_key(id) {
                    missing.push(i);
                }
            }
        }
        // Build outside the lock: a large segment takes a while.
        for i in missing {
            let segment = &searcher.segment_readers()[i];
            let inverted = segment.inverted_index(field).map_err(error::index)?;
            let mut stream = inverted
                .terms()
                .stream()
                .map_err(|e| error::index(e.into()))?;
            let mut text = String::new();
            while stream.advance() {
                if let Ok(token) = std::str::from_utf8(stream.key()) {
                    text.push_str(token);
                    text.push('\n');
                }
            }
            self.by_segment
                .lock()
                .insert(segment.segment_id(), Arc::new(text));
        }
        let cache = self.by_segment.lock();
        Ok(live
            .iter()
            .filter_map(|id| cache.get(id).cloned())
            .collect())
    }
}
