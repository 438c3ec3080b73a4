//! Query AST → tantivy query.
//!
//! One constructor per AST node ([`logingest_core::query::Translate`]):
//!
//! - keyword `field:value` → one term `field\0value` of `kw`;
//! - message terms and phrases → term / phrase queries on `message`;
//! - wildcards → a regex over the term dictionary (`kw` terms with the
//!   path prefix, or `message` tokens), which tantivy runs as an automaton
//!   intersected with the FST, so infix wildcards never scan documents;
//! - keyword regexes → the Rust regex applied to each distinct value of the
//!   path in the term dictionary, then a term-set query: exact for every
//!   construct Rust's regex supports, and it touches no document;
//! - message regexes → see [`crate::regex_prefilter`]: an index prefilter
//!   from the literals every match must contain, then verification of the
//!   Rust regex on the stored raw message of each candidate;
//! - ranges → a range on the `ts` fast field; `field:*` → a term of `path`;
//! - `NOT q` → the complement of `q`'s matches ([`crate::complement`]).

use std::ops::Bound;

use logingest_core::query::{Field as QField, RegexPattern, Translate, Wildcard, WildcardPart};
use logingest_core::{Error, Result, Timestamp};
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocId, Searcher, SegmentReader, TantivyDocument, Term};

use crate::complement::Complement;
use crate::error;
use crate::index::{kw_text, Fields, KW_SEPARATOR};
use crate::regex_prefilter::prefilter;

/// Builds tantivy queries against one searcher (keyword regexes read its
/// term dictionaries).
pub(crate) struct QueryBuilder<'a> {
    pub fields: Fields,
    pub searcher: &'a Searcher,
    pub store_cache_blocks: usize,
}

type Boxed = Box<dyn Query>;

impl QueryBuilder<'_> {
    fn term(&self, field: tantivy::schema::Field, text: &str) -> Boxed {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))
    }

    /// Values of `path` (from every segment's `kw` dictionary) accepted by `keep`.
    fn matching_kw_terms(&self, path: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<Term>> {
        let lo = format!("{path}{KW_SEPARATOR}");
        let hi = format!("{path}\u{1}");
        let mut terms = Vec::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.fields.kw)
                .map_err(error::index)?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(lo.as_bytes())
                .lt(hi.as_bytes())
                .into_stream()
                .map_err(|e| error::index(e.into()))?;
            while stream.advance() {
                let Ok(text) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                if keep(&text[lo.len()..]) {
                    terms.push(Term::from_field_text(self.fields.kw, text));
                }
            }
        }
        terms.sort_unstable();
        terms.dedup();
        Ok(terms)
    }
}

/// A wildcard as an anchored regex in the syntax of tantivy's FST automaton.
fn wildcard_regex(pattern: &Wildcard, lowercase: bool) -> String {
    let mut re = String::from("(?s)");
    for part in &pattern.parts {
        match part {
            WildcardPart::Literal(text) if lowercase => {
                re.push_str(&regex_syntax::escape(&logingest_core::lowercase(text)))
            }
            WildcardPart::Literal(text) => re.push_str(&regex_syntax::escape(text)),
            WildcardPart::AnyChar => re.push('.'),
            WildcardPart::AnyString => re.push_str(".*"),
        }
    }
    re
}

impl Translate for QueryBuilder<'_> {
    type Output = Boxed;

    fn all(&mut self) -> Result<Boxed> {
        Ok(Box::new(AllQuery))
    }

    fn keyword(&mut self, field: &str, value: &str) -> Result<Boxed> {
        Ok(self.term(self.fields.kw, &kw_text(field, value)))
    }

    fn phrase(&mut self, tokens: &[String]) -> Result<Boxed> {
        Ok(match tokens {
            [] => Box::new(EmptyQuery),
            [token] => self.term(self.fields.message, token),
            _ => Box::new(PhraseQuery::new(
                tokens
                    .iter()
                    .map(|t| Term::from_field_text(self.fields.message, t))
                    .collect(),
            )),
        })
    }

    fn wildcard(&mut self, field: &QField, pattern: &Wildcard) -> Result<Boxed> {
        let (tantivy_field, regex) = match field {
            QField::Message => (self.fields.message, wildcard_regex(pattern, true)),
            QField::Keyword(path) => {
                let prefix = regex_syntax::escape(&format!("{path}{KW_SEPARATOR}"));
                (
                    self.fields.kw,
                    format!("{prefix}{}", wildcard_regex(pattern, false)),
                )
            }
        };
        let query = RegexQuery::from_pattern(&regex, tantivy_field).map_err(|e| {
            Error::InvalidQuery(logingest_core::QueryError::new(
                0,
                format!("wildcard `{regex}`: {e}"),
            ))
        })?;
        Ok(Box::new(query))
    }

    fn regex(&mut self, field: &QField, pattern: &RegexPattern) -> Result<Boxed> {
        match field {
            QField::Keyword(path) => {
                let terms = self.matching_kw_terms(path, |value| pattern.is_match(value))?;
                Ok(Box::new(TermSetQuery::new(terms)))
            }
            QField::Message => {
                let candidates = prefilter(pattern, self.fields.message)?;
                let regex = pattern.regex().clone();
                let message = self.fields.message;
                let blocks = self.store_cache_blocks;
                let verify = FunctionPredicate::from(move |segment: &SegmentReader| {
                    let store = segment.get_store_reader(blocks)?;
                    let regex = regex.clone();
                    Ok(move |doc: DocId| {
                        store.get::<TantivyDocument>(doc).ok().is_some_and(|d| {
                            d.get_first(message)
                                .and_then(|v| v.as_str())
                                .is_some_and(|m| regex.is_match(m))
                        })
                    })
                });
                let verify: Boxed = Box::new(DocPredicateQuery::from(verify));
                Ok(Box::new(BooleanQuery::new(vec![
                    (Occur::Must, candidates),
                    (Occur::Must, verify),
                ])))
            }
        }
    }

    fn range(&mut self, start: Bound<Timestamp>, end: Bound<Timestamp>) -> Result<Boxed> {
        if start == Bound::Unbounded && end == Bound::Unbounded {
            // tantivy's range query needs at least one bound.
            return Ok(Box::new(AllQuery));
        }
        let term = |t: Timestamp| Term::from_field_i64(self.fields.ts, t.as_nanos());
        Ok(Box::new(RangeQuery::new(start.map(term), end.map(term))))
    }

    fn exists(&mut self, field: &str) -> Result<Boxed> {
        Ok(self.term(self.fields.path, field))
    }

    fn and(&mut self, children: Vec<Boxed>) -> Result<Boxed> {
        Ok(Box::new(BooleanQuery::new(
            children.into_iter().map(|c| (Occur::Must, c)).collect(),
        )))
    }

    fn or(&mut self, children: Vec<Boxed>) -> Result<Boxed> {
        Ok(Box::new(BooleanQuery::new(
            children.into_iter().map(|c| (Occur::Should, c)).collect(),
        )))
    }

    fn not(&mut self, child: Boxed) -> Result<Boxed> {
        Ok(Box::new(Complement::new(child)))
    }
}
