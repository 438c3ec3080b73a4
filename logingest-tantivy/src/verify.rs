//! Message regexes verified on the record store.
//!
//! The index cannot answer a regex over messages by itself: its prefilter
//! ([`crate::regex_prefilter`]) finds the records whose messages hold every
//! literal a match needs, and each of those candidates is then checked
//! with the Rust regex on its message. The messages come from the record
//! store's `message` column ([`Messages`]), not from a copy in the index:
//! the copy cost 38 bytes a record at 1M generator records, a fifth of the
//! directory.
//!
//! A search's candidates arrive in document order, which within a segment
//! is sequence order in runs (a segment tantivy merged holds its inputs one
//! after the other), so one block's messages serve a run of candidates and
//! a block is read about once per segment holding its records. A failure to read one (a corrupt block) cannot be returned
//! through tantivy's predicate, so it is kept in a [`Failure`] that fails
//! the search afterwards: never a silently shorter answer.

use std::sync::Arc;

use logingest_core::query::RegexPattern;
use logingest_core::Error;
use parking_lot::Mutex;
use tantivy::columnar::Column;
use tantivy::query::doc_predicate_query::{FunctionPredicate, SegmentDocPredicate};
use tantivy::{DocId, SegmentReader};

use crate::block::Messages;
use crate::index::names;
use crate::store::Store;

/// The first error met while running a query, where tantivy has no way to
/// return it (a document predicate answers yes or no).
pub(crate) type Failure = Arc<Mutex<Option<Error>>>;

/// The predicate, per segment, that a candidate's message matches `regex`.
pub(crate) fn message_matches(
    regex: RegexPattern,
    store: Arc<Store>,
    failure: Failure,
) -> FunctionPredicate<impl Fn(&SegmentReader) -> tantivy::Result<Check> + Send + Sync + 'static> {
    FunctionPredicate::from(move |segment: &SegmentReader| {
        Ok(Check {
            seqs: segment.fast_fields().u64(names::SEQ)?,
            regex: regex.clone(),
            store: Arc::clone(&store),
            failure: Arc::clone(&failure),
            block: None,
        })
    })
}

/// Checks one segment's candidates.
pub(crate) struct Check {
    seqs: Column<u64>,
    regex: RegexPattern,
    store: Arc<Store>,
    failure: Failure,
    /// The messages of the block the last candidate was in.
    block: Option<Messages>,
}

impl SegmentDocPredicate for Check {
    fn eval(&mut self, doc: DocId) -> bool {
        let Some(seq) = self.seqs.first(doc) else {
            return false;
        };
        if !self.block.as_ref().is_some_and(|b| b.holds(seq)) {
            if self.failure.lock().is_some() {
                return false;
            }
            self.block = match self.store.messages(seq) {
                Ok(messages) => messages,
                Err(e) => {
                    self.failure.lock().get_or_insert(e);
                    None
                }
            };
        }
        // No block: the record was deleted by retention since this
        // search's snapshot of the index was taken, and a page of hits would
        // not find it either (`docs/backends.md`, "Message regexes").
        match self.block.as_ref().and_then(|b| b.get(seq)) {
            None => false,
            Some(Ok(message)) => self.regex.is_match(&message),
            Some(Err(e)) => {
                let e = self.store.unreadable_message(seq, e);
                self.failure.lock().get_or_insert(e);
                false
            }
        }
    }

    fn cost(&self) -> u64 {
        // A regex over a message, and now and then a block to decode: far
        // more than stepping through postings, so candidates drive.
        1_000
    }
}
