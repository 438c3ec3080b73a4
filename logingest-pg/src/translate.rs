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
//!   escaped path. Where Lucene cannot express a construct (`\b`, `(?m)`
//!   anchors, ...) the pattern without it matches a superset, and the plan
//!   says to verify (see [`Dsl`]);
//! - ranges → `range` on `ts` (a `long`: exact to the nanosecond);
//! - numeric comparisons → `range` on `num`, whose terms sort as their
//!   numbers ([`logingest_core::number`]);
//! - `field:*` → `prefix` `path\0` (a value at the path) or `path.` (one below);
//! - AND/OR/NOT → `bool` `filter` / `should` (at least one) / `must_not`.
//!
//! A query whose DSL is a superset ([`Plan::verify`]) is answered by
//! [`crate::verify`]: every candidate the cluster selects is read from
//! PostgreSQL and checked with core's reference evaluator before it counts.

use std::ops::Bound;

use logingest_core::query::{Field, RegexPattern, Translate, Wildcard, WildcardPart};
use logingest_core::{Error, QueryError, Result, Timestamp};
use serde_json::{json, Value};

use crate::index::RAW_PREFIX;
use crate::lucene_regex;
use logingest_core::keyword_term;
use logingest_core::number::{self, Number};

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

/// A translated (sub)query: `over` selects every record the query matches
/// and maybe more; `under`, when it differs, selects only records the query
/// matches, maybe fewer. A subquery with no `under` is exact.
///
/// Two bounds because negation swaps them: `NOT q` matches at least what
/// `NOT under(q)` selects and at most what `NOT over(q)` does. So `over` of
/// the whole query is a superset of its matches whatever the nesting, and
/// the backend verifies the candidates it selects when the query is inexact.
#[derive(Debug, Clone)]
pub(crate) struct Dsl {
    over: Value,
    under: Option<Value>,
}

impl Dsl {
    fn exact(dsl: Value) -> Self {
        Dsl {
            over: dsl,
            under: None,
        }
    }

    /// A leaf that selects a superset of its matches: nothing is certain.
    fn superset(over: Value) -> Self {
        Dsl {
            over,
            under: Some(json!({"match_none": {}})),
        }
    }

    fn under(&self) -> &Value {
        self.under.as_ref().unwrap_or(&self.over)
    }
}

/// What the cluster is asked for a query.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The query DSL: exactly the query's matches, or (with `verify`) a
    /// superset of them.
    pub dsl: Value,
    /// Whether each record `dsl` selects must be checked with the reference
    /// evaluator before it counts.
    pub verify: bool,
}

/// Builds query DSL. `coarse` replaces every regex and wildcard by a bound
/// with no automaton at all (for queries whose automaton the cluster
/// refuses as too complex); otherwise only regex constructs Lucene cannot
/// express make a query inexact.
pub(crate) struct DslBuilder {
    coarse: bool,
}

/// The regex leaf on `field`: exact, or a superset of its matches.
fn regex_leaf(field: &Field, pattern: &RegexPattern) -> Result<Dsl> {
    let translated = lucene_regex::to_lucene_superset(pattern.as_str()).map_err(|u| {
        Error::InvalidQuery(QueryError::new(
            0,
            format!(
                "regular expression /{}/ is not valid: {}",
                pattern.as_str(),
                u.construct
            ),
        ))
    })?;
    let mut exact = translated.exact;
    let lucene = translated.regex;
    let dsl = match field {
        // `RAW_PREFIX` is no operator: written as is, unescaped.
        Field::Message => match lucene.single {
            // OpenSearch's `wildcard` field compares a pattern that
            // matches one string by its text (see `lucene_regex`) and
            // cannot read `\` or `"` there: then any continuation is
            // allowed too, which is no single string, and verified.
            Some(text) => match lucene_regex::single_string_pattern(&text) {
                Some(escaped) => regexp("raw", format!("{RAW_PREFIX}{escaped}")),
                None => {
                    exact = false;
                    regexp("raw", format!("{RAW_PREFIX}({}).*", lucene.pattern))
                }
            },
            None => regexp("raw", format!("{RAW_PREFIX}({})", lucene.pattern)),
        },
        Field::Keyword(path) => regexp(
            "kw",
            // Parenthesised: the pattern may be a union of alternatives.
            format!(
                "{}({})",
                lucene_literal(&keyword_term::text(path, "")),
                lucene.pattern
            ),
        ),
    };
    Ok(if exact {
        Dsl::exact(dsl)
    } else {
        Dsl::superset(dsl)
    })
}

/// The widest bound of a pattern leaf on `field`: records with a value at
/// the path (a pattern on a keyword matches only such), any record for the
/// message.
fn any_value(field: &Field) -> Dsl {
    Dsl::superset(match field {
        Field::Message => json!({"match_all": {}}),
        Field::Keyword(path) => json!({"prefix": {"kw": keyword_term::text(path, "")}}),
    })
}

fn regexp(field: &str, value: String) -> Value {
    json!({"regexp": {field: {
        "value": value,
        "flags": "NONE",
        "max_determinized_states": 100_000
    }}})
}

/// Combines children with `bool` `clause` (`filter` or `should`), both
/// bounds; exact when every child is.
fn combine(clause: &str, children: Vec<Dsl>) -> Dsl {
    let node = |parts: Vec<Value>| match clause {
        "should" => json!({"bool": {"should": parts, "minimum_should_match": 1}}),
        _ => json!({"bool": {clause: parts}}),
    };
    let under = children
        .iter()
        .any(|c| c.under.is_some())
        .then(|| node(children.iter().map(|c| c.under().clone()).collect()));
    Dsl {
        over: node(children.into_iter().map(|c| c.over).collect()),
        under,
    }
}

impl Translate for DslBuilder {
    type Output = Dsl;

    fn all(&mut self) -> Result<Dsl> {
        Ok(Dsl::exact(json!({"match_all": {}})))
    }

    fn keyword(&mut self, field: &str, value: &str) -> Result<Dsl> {
        Ok(Dsl::exact(
            json!({"term": {"kw": keyword_term::text(field, value)}}),
        ))
    }

    fn phrase(&mut self, tokens: &[String]) -> Result<Dsl> {
        Ok(Dsl::exact(match tokens {
            [] => json!({"match_none": {}}),
            [token] => json!({"term": {"message": token}}),
            _ => json!({"match_phrase": {"message": {"query": tokens.join(" "), "slop": 0}}}),
        }))
    }

    fn wildcard(&mut self, field: &Field, pattern: &Wildcard) -> Result<Dsl> {
        if self.coarse {
            return Ok(any_value(field));
        }
        Ok(Dsl::exact(match field {
            Field::Message => {
                json!({"wildcard": {"message": {"value": wildcard_text("", &pattern.lowercased())}}})
            }
            Field::Keyword(path) => {
                json!({"wildcard": {"kw": {"value": wildcard_text(&keyword_term::text(path, ""), pattern)}}})
            }
        }))
    }

    fn regex(&mut self, field: &Field, pattern: &RegexPattern) -> Result<Dsl> {
        if self.coarse {
            return Ok(any_value(field));
        }
        regex_leaf(field, pattern)
    }

    fn range(&mut self, start: Bound<Timestamp>, end: Bound<Timestamp>) -> Result<Dsl> {
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
        Ok(Dsl::exact(json!({"range": {"ts": range}})))
    }

    fn number_range(
        &mut self,
        field: &str,
        start: Bound<Number>,
        end: Bound<Number>,
    ) -> Result<Dsl> {
        // The term bounds are never open: an open end is the path's end.
        let (lower, upper) = number::term_range(field, start, end);
        let mut range = serde_json::Map::new();
        for (bound, inclusive, exclusive) in [(lower, "gte", "gt"), (upper, "lte", "lt")] {
            match bound {
                Bound::Included(t) => drop(range.insert(inclusive.into(), json!(t))),
                Bound::Excluded(t) => drop(range.insert(exclusive.into(), json!(t))),
                Bound::Unbounded => {}
            }
        }
        Ok(Dsl::exact(json!({"range": {"num": range}})))
    }

    fn exists(&mut self, field: &str) -> Result<Dsl> {
        // The path's own values, and those of paths below it: the
        // escaped path, then `.` (a path holding `\0` is escaped in terms).
        let own = keyword_term::prefix(field);
        let below = format!("{}.", own.strip_suffix('\0').unwrap_or(&own));
        Ok(Dsl::exact(json!({"bool": {"should": [
            {"prefix": {"kw": own}},
            {"prefix": {"kw": below}}
        ], "minimum_should_match": 1}})))
    }

    fn and(&mut self, children: Vec<Dsl>) -> Result<Dsl> {
        Ok(combine("filter", children))
    }

    fn or(&mut self, children: Vec<Dsl>) -> Result<Dsl> {
        Ok(combine("should", children))
    }

    fn not(&mut self, child: Dsl) -> Result<Dsl> {
        let not = |v: Value| json!({"bool": {"must_not": [v]}});
        Ok(match child.under {
            None => Dsl::exact(not(child.over)),
            Some(under) => Dsl {
                over: not(under),
                under: Some(not(child.over)),
            },
        })
    }
}

/// The plan of `query`: exact DSL where Lucene can express every part of
/// it, else a superset to verify.
pub(crate) fn to_dsl(query: &logingest_core::query::Query) -> Result<Plan> {
    plan(query, false)
}

/// The plan of `query` without any automaton (every regex and wildcard a
/// bound to verify): for a query whose automaton the cluster refuses.
pub(crate) fn coarse_dsl(query: &logingest_core::query::Query) -> Result<Plan> {
    plan(query, true)
}

fn plan(query: &logingest_core::query::Query, coarse: bool) -> Result<Plan> {
    let dsl = logingest_core::query::translate(query, &mut DslBuilder { coarse })?;
    Ok(Plan {
        verify: dsl.under.is_some(),
        dsl: dsl.over,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use logingest_core::query::parse_query;

    fn dsl(q: &str) -> Value {
        let plan = to_dsl(&parse_query(q).unwrap()).unwrap();
        assert!(!plan.verify, "{q}");
        plan.dsl
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
