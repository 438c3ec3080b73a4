//! Query AST → tantivy query.
//!
//! One constructor per AST node ([`logingest_core::query::Translate`]):
//!
//! - keyword `field:value` → one term `field\0value` of `kw`;
//! - message terms and phrases → term / phrase queries on `message`;
//! - wildcards → the terms of the dictionary (`kw` terms of the path, or
//!   `message` tokens) under the pattern's literal prefix that the
//!   evaluator's matcher accepts, then a term-set query; a `message` pattern
//!   that starts with a wildcard searches the terms for its longest literal
//!   instead ([`crate::dictionary`]); no wildcard scans documents;
//! - keyword regexes → the Rust regex applied to each distinct value of the
//!   path (read from the `kw` term dictionary; only the values
//!   starting with the literal after a leading `^`), then a term-set query:
//!   exact for every construct Rust's regex supports, and it touches no
//!   document;
//! - message regexes → see [`crate::regex_prefilter`]: an index prefilter
//!   from the literals every match must contain, then verification of the
//!   Rust regex on each candidate's message, read from the record store's
//!   `message` column ([`crate::block::Messages`]; the index keeps no copy);
//! - ranges → a range on the `ts` fast field; `field:*` → a term of `path`;
//! - numeric comparisons → a range of `num` terms (`path\0` then the
//!   number's sortable text, [`logingest_core::number`]), read from the
//!   term dictionary;
//! - `NOT q` → the complement of `q`'s matches ([`crate::complement`]).

use std::ops::Bound;
use std::sync::Arc;

use logingest_core::query::{Field as QField, RegexPattern, Translate, Wildcard, WildcardPart};
use logingest_core::{Result, Timestamp};
use regex_syntax::hir::{HirKind, Look};
use tantivy::query::doc_predicate_query::DocPredicateQuery;
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, Term};

use crate::complement::Complement;
use crate::dictionary::TermTexts;
use crate::error;
use logingest_core::keyword_term;
use logingest_core::number::{self, Number};

use crate::index::Fields;
use crate::regex_prefilter::prefilter;
use crate::store::Store;
use crate::verify::{message_matches, Failure};

/// Builds tantivy queries against one searcher (keyword regexes read its
/// term dictionaries).
pub(crate) struct QueryBuilder<'a> {
    pub fields: Fields,
    pub searcher: &'a Searcher,
    /// Where message regexes verify their candidates.
    pub store: &'a Arc<Store>,
    /// The first error met while verifying (a search that sets it fails).
    pub failure: &'a Failure,
    /// Substring search over message terms (infix wildcards, regex pieces).
    pub term_texts: &'a TermTexts,
}

type Boxed = Box<dyn Query>;

impl QueryBuilder<'_> {
    fn term(&self, field: tantivy::schema::Field, text: &str) -> Boxed {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))
    }

    /// Values of `path` that start with `prefix` and that `keep` accepts,
    /// from every segment.
    ///
    /// A range of each segment's `kw` term dictionary (a block-compressed
    /// sorted table: tantivy's sstable dictionaries).
    fn matching_kw_terms(
        &self,
        path: &str,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Term>> {
        let value_start = keyword_term::prefix(path).len();
        let lo = keyword_term::text(path, prefix);
        let hi = keyword_term::prefix_end(path);
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
                let key = stream.key();
                if !key.starts_with(lo.as_bytes()) {
                    break;
                }
                let Ok(text) = std::str::from_utf8(key) else {
                    continue;
                };
                if keep(&text[value_start..]) {
                    terms.push(Term::from_field_text(self.fields.kw, text));
                }
            }
        }
        terms.sort_unstable();
        terms.dedup();
        Ok(terms)
    }

    /// `message` tokens that start with `prefix` and that `keep` accepts,
    /// from every segment (a range of each term dictionary).
    fn matching_message_terms(
        &self,
        prefix: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Vec<Term>> {
        let mut terms = Vec::new();
        for segment in self.searcher.segment_readers() {
            let inverted = segment
                .inverted_index(self.fields.message)
                .map_err(error::index)?;
            let mut stream = inverted
                .terms()
                .range()
                .ge(prefix.as_bytes())
                .into_stream()
                .map_err(|e| error::index(e.into()))?;
            while stream.advance() {
                let key = stream.key();
                if !key.starts_with(prefix.as_bytes()) {
                    break;
                }
                if let Ok(text) = std::str::from_utf8(key) {
                    if keep(text) {
                        terms.push(Term::from_field_text(self.fields.message, text));
                    }
                }
            }
        }
        terms.sort_unstable();
        terms.dedup();
        Ok(terms)
    }
}

/// The literal text every match of `pattern` starts with when the pattern
/// is anchored at the start of the value (`^abc…`), else `""`.
///
/// Only `^` (not multi-line) followed directly by literals counts; anything
/// else (`(?i)`, `(?m)`, a group, a class) gives `""`, which scans every
/// value: a safe under-approximation.
fn anchored_prefix(pattern: &RegexPattern) -> String {
    let Ok(hir) = regex_syntax::parse(pattern.as_str()) else {
        return String::new();
    };
    let HirKind::Concat(parts) = hir.kind() else {
        return String::new();
    };
    let mut parts = parts.iter();
    if !parts
        .next()
        .is_some_and(|p| matches!(p.kind(), HirKind::Look(Look::Start)))
    {
        return String::new();
    }
    let mut prefix = Vec::new();
    for part in parts {
        match part.kind() {
            HirKind::Literal(literal) => prefix.extend_from_slice(&literal.0),
            _ => break,
        }
    }
    String::from_utf8(prefix).unwrap_or_default()
}

/// The longest literal of a pattern that does not start with one (`*onn*ct`
/// → `onn`), lowercased: the substring every matching message term has.
fn infix_needle(pattern: &Wildcard) -> Option<String> {
    if matches!(pattern.parts.first(), Some(WildcardPart::Literal(_)) | None) {
        return None;
    }
    pattern
        .literals()
        .max_by_key(|l| l.len())
        .map(logingest_core::lowercase)
}

/// The literal a wildcard starts with (`conn*ct` → `conn`), or `""`.
fn leading_literal(pattern: &Wildcard) -> &str {
    match pattern.parts.first() {
        Some(WildcardPart::Literal(text)) => text,
        _ => "",
    }
}

impl Translate for QueryBuilder<'_> {
    type Output = Boxed;

    fn all(&mut self) -> Result<Boxed> {
        Ok(Box::new(AllQuery))
    }

    fn keyword(&mut self, field: &str, value: &str) -> Result<Boxed> {
        Ok(self.term(self.fields.kw, &keyword_term::text(field, value)))
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
        if let (QField::Message, Some(needle)) = (field, infix_needle(pattern)) {
            // No literal prefix: an automaton would walk every term; a
            // substring search over the terms finds the candidates faster.
            let pattern = pattern.lowercased();
            let terms =
                self.term_texts
                    .matching(self.searcher, self.fields.message, &needle, |token| {
                        pattern.matches(token)
                    })?;
            return Ok(Box::new(TermSetQuery::new(terms)));
        }
        if let (QField::Keyword(path), [WildcardPart::AnyString]) = (field, &pattern.parts[..]) {
            // Any value at exactly this path (not `field:*`, which also
            // takes the paths below it): the range of the path's terms,
            // whose postings tantivy unions without listing them here.
            let term = |text: String| Term::from_field_text(self.fields.kw, &text);
            return Ok(Box::new(RangeQuery::new(
                Bound::Included(term(keyword_term::prefix(path))),
                Bound::Excluded(term(keyword_term::prefix_end(path))),
            )));
        }
        // Every other wildcard: the terms under its literal prefix, each
        // tested by the evaluator's matcher. (An automaton of the pattern,
        // as tantivy's `RegexQuery` builds, can exceed its size limit for a
        // few `?` next to multi-byte characters and then cannot run at all.)
        let terms = match field {
            QField::Message => {
                let pattern = pattern.lowercased();
                self.matching_message_terms(leading_literal(&pattern), |t| pattern.matches(t))?
            }
            QField::Keyword(path) => {
                self.matching_kw_terms(path, leading_literal(pattern), |v| pattern.matches(v))?
            }
        };
        Ok(Box::new(TermSetQuery::new(terms)))
    }

    fn regex(&mut self, field: &QField, pattern: &RegexPattern) -> Result<Boxed> {
        match field {
            QField::Keyword(path) => {
                let prefix = anchored_prefix(pattern);
                let terms =
                    self.matching_kw_terms(path, &prefix, |value| pattern.is_match(value))?;
                Ok(Box::new(TermSetQuery::new(terms)))
            }
            QField::Message => {
                let partial = |text: &str, suffix_only: bool| {
                    self.term_texts
                        .matching(self.searcher, self.fields.message, text, |token| {
                            if suffix_only {
                                token.ends_with(text)
                            } else {
                                token.contains(text)
                            }
                        })
                };
                let candidates = prefilter(pattern, self.fields.message, &partial)?;
                let verify = message_matches(
                    pattern.clone(),
                    Arc::clone(self.store),
                    Arc::clone(self.failure),
                );
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

    fn number_range(
        &mut self,
        field: &str,
        start: Bound<Number>,
        end: Bound<Number>,
    ) -> Result<Boxed> {
        let (start, end) = number::term_range(field, start, end);
        let term = |text: String| Term::from_field_text(self.fields.num, &text);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_prefixes() {
        let prefix = |re: &str| anchored_prefix(&RegexPattern::new(re).unwrap());
        assert_eq!(prefix("^abc"), "abc");
        assert_eq!(prefix(r"^svc-1\d+$"), "svc-1");
        assert_eq!(prefix("^a.c"), "a");
        assert_eq!(prefix("^日本"), "日本");
        for none in [
            "abc", "^", "(?i)^abc", "^(?i)abc", "(?m)^abc", "^(abc)", "^[ab]c", "a|^b", "^a|b",
            "x^abc",
        ] {
            assert_eq!(prefix(none), "", "{none}");
        }
    }
}
