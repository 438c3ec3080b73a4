//! Query AST → Elasticsearch/OpenSearch query DSL.
//!
//! One constructor per AST node ([`logingest_core::query::Translate`]); the
//! output is a filter-context query (no scoring anywhere):
//!
//! - `field:value` → `term` on `kw` for `path\0value`;
//! - message tokens → `term` / `match_phrase` on `message` (its analyzer
//!   only splits on the spaces the indexer put between core's tokens, so a
//!   phrase's tokens reach Lucene unchanged);
//! - wildcards → `wildcard` on `message` (lowercased pattern, one token) or
//!   on `kw` behind the escaped `path\0` prefix (the whole value);
//! - regexes → [`crate::lucene_regex`] translates the Rust pattern into a
//!   Lucene one matching whole values; on `raw` (a `wildcard` field: n-gram
//!   candidates verified against the raw message) or on `kw` behind the
//!   escaped path. A construct Lucene cannot express is an `InvalidQuery`
//!   naming it (the backend declares `full_regex: false`);
//! - ranges → `range` on `ts` (a `long`: exact to the nanosecond);
//! - `field:*` → `prefix` `path\0` (a value at the path) or `path.` (one below);
//! - AND/OR/NOT → `bool` `filter` / `should` (at least one) / `must_not`.

use std::ops::Bound;

use logingest_core::query::{Field, RegexPattern, Translate, Wildcard, WildcardPart};
use logingest_core::{Error, QueryError, Result, Timestamp};
use serde_json::{json, Value};

use crate::index::{kw_text, RAW_PREFIX};
use crate::lucene_regex;

/// Builds query DSL (stateless).
pub(crate) struct DslBuilder;

/// A wildcard pattern in the syntax of the `wildcard` query: `*`, `?`, and
/// `\` escaping a literal `*`, `?` or `\`.
fn wildcard_text(prefix: &str, pattern: &Wildcard) -> String {
    let mut out = String::new();
    escape_wildcard_literal(&mut out, prefix);
    for part in &pattern.parts {
        match part {
            WildcardPart::Literal(text) => escape_wildcard_literal(&mut out, text),
            WildcardPart::AnyChar => out.push('?'),
            WildcardPart::AnyString => out.push('*'),
        }
    }
    out
}

fn escape_wildcard_literal(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// `text` as a Lucene regular expression matching itself: every character
/// that is not a letter or digit is escaped with `\` (which makes any
/// character literal; letters are left alone because `\d`, `\w`… are classes).
pub(crate) fn lucene_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if !c.is_alphanumeric() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The Lucene translation of a regex, or the error naming what Lucene lacks.
fn lucene(pattern: &RegexPattern) -> Result<lucene_regex::LuceneRegex> {
    lucene_regex::to_lucene(pattern.as_str()).map_err(|u| refused(pattern, &u.construct))
}

fn refused(pattern: &RegexPattern, construct: &str) -> Error {
    Error::InvalidQuery(QueryError::new(
        0,
        format!(
            "regular expression /{}/ uses {construct}, which the PostgreSQL + Elasticsearch/OpenSearch backend cannot search; rewrite it without that construct",
            pattern.as_str(),
        ),
    ))
}

fn regexp(field: &str, value: String) -> Value {
    json!({"regexp": {field: {
        "value": value,
        "flags": "NONE",
        "max_determinized_states": 100_000
    }}})
}

impl Translate for DslBuilder {
    type Output = Value;

    fn all(&mut self) -> Result<Value> {
        Ok(json!({"match_all": {}}))
    }

    fn keyword(&mut self, field: &str, value: &str) -> Result<Value> {
        Ok(json!({"term": {"kw": kw_text(field, value)}}))
    }

    fn phrase(&mut self, tokens: &[String]) -> Result<Value> {
        Ok(match tokens {
            [] => json!({"match_none": {}}),
            [token] => json!({"term": {"message": token}}),
            _ => json!({"match_phrase": {"message": {"query": tokens.join(" "), "slop": 0}}}),
        })
    }

    fn wildcard(&mut self, field: &Field, pattern: &Wildcard) -> Result<Value> {
        Ok(match field {
            Field::Message => {
                json!({"wildcard": {"message": {"value": wildcard_text("", &pattern.lowercased())}}})
            }
            Field::Keyword(path) => {
                json!({"wildcard": {"kw": {"value": wildcard_text(&kw_text(path, ""), pattern)}}})
            }
        })
    }

    fn regex(&mut self, field: &Field, pattern: &RegexPattern) -> Result<Value> {
        let translated = lucene(pattern)?;
        Ok(match field {
            // `RAW_PREFIX` is no operator: written as is, unescaped.
            Field::Message => match translated.single {
                // OpenSearch's `wildcard` field compares a pattern that
                // matches one string by its text (see `lucene_regex`).
                Some(text) => {
                    let Some(escaped) = lucene_regex::single_string_pattern(&text) else {
                        return Err(refused(
                            pattern,
                            "`\\` or `\"` in a regex that matches one exact message",
                        ));
                    };
                    regexp("raw", format!("{RAW_PREFIX}{escaped}"))
                }
                None => regexp("raw", format!("{RAW_PREFIX}({})", translated.pattern)),
            },
            Field::Keyword(path) => regexp(
                "kw",
                // Parenthesised: the pattern may be a union of alternatives.
                format!(
                    "{}({})",
                    lucene_literal(&kw_text(path, "")),
                    translated.pattern
                ),
            ),
        })
    }

    fn range(&mut self, start: Bound<Timestamp>, end: Bound<Timestamp>) -> Result<Value> {
        let mut range = serde_json::Map::new();
        match start {
            Bound::Included(t) => drop(range.insert("gte".into(), json!(t.0))),
            Bound::Excluded(t) => drop(range.insert("gt".into(), json!(t.0))),
            Bound::Unbounded => {}
        }
        match end {
            Bound::Included(t) => drop(range.insert("lte".into(), json!(t.0))),
            Bound::Excluded(t) => drop(range.insert("lt".into(), json!(t.0))),
            Bound::Unbounded => {}
        }
        if range.is_empty() {
            return self.all();
        }
        Ok(json!({"range": {"ts": range}}))
    }

    fn exists(&mut self, field: &str) -> Result<Value> {
        Ok(json!({"bool": {"should": [
            {"prefix": {"kw": kw_text(field, "")}},
            {"prefix": {"kw": format!("{field}.")}}
        ], "minimum_should_match": 1}}))
    }

    fn and(&mut self, children: Vec<Value>) -> Result<Value> {
        Ok(json!({"bool": {"filter": children}}))
    }

    fn or(&mut self, children: Vec<Value>) -> Result<Value> {
        Ok(json!({"bool": {"should": children, "minimum_should_match": 1}}))
    }

    fn not(&mut self, child: Value) -> Result<Value> {
        Ok(json!({"bool": {"must_not": [child]}}))
    }
}

/// The DSL of `query`.
pub(crate) fn to_dsl(query: &logingest_core::query::Query) -> Result<Value> {
    logingest_core::query::translate(query, &mut DslBuilder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logingest_core::query::parse_query;

    fn dsl(q: &str) -> Value {
        to_dsl(&parse_query(q).unwrap()).unwrap()
    }

    #[test]
    fn leaves() {
        assert_eq!(
            dsl("level:error"),
            json!({"term": {"kw": "level\u{0}error"}})
        );
        assert_eq!(dsl("Failed"), json!({"term": {"message": "failed"}}));
        assert_eq!(
            dsl("\"Failed to\""),
            json!({"match_phrase": {"message": {"query": "failed to", "slop": 0}}})
        );
        assert_eq!(dsl("\"!!\""), json!({"match_none": {}}));
        assert_eq!(
            dsl("CONN*"),
            json!({"wildcard": {"message": {"value": "conn*"}}})
        );
        assert_eq!(
            dsl("traceId:t\\?\\*x*"),
            json!({"wildcard": {"kw": {"value": "traceId\u{0}t\\?\\*x*"}}})
        );
        assert_eq!(
            dsl("timestamp:{2023-09-15T08:00:00Z TO *]"),
            json!({"range": {"ts": {"gt": 1_694_764_800_000_000_000i64}}})
        );
        assert_eq!(
            dsl("metadata:*"),
            json!({"bool": {"should": [
                {"prefix": {"kw": "metadata\u{0}"}},
                {"prefix": {"kw": "metadata."}}
            ], "minimum_should_match": 1}})
        );
    }

    #[test]
    fn combinators() {
        assert_eq!(
            dsl("a OR -b"),
            json!({"bool": {"should": [
                {"term": {"message": "a"}},
                {"bool": {"must_not": [{"term": {"message": "b"}}]}}
            ], "minimum_should_match": 1}})
        );
        assert_eq!(
            dsl("a b"),
            json!({"bool": {"filter": [{"term": {"message": "a"}}, {"term": {"message": "b"}}]}})
        );
    }

    #[test]
    fn literals_escape_everything_but_letters_and_digits() {
        assert_eq!(lucene_literal("a.b\u{0}"), "a\\.b\\\u{0}");
        assert_eq!(lucene_literal("métadata_1"), "métadata\\_1");
    }
}
