//! The reference evaluator: what a query means, written to be obviously right.
//!
//! Every backend is tested against [`matches`] with random records and random
//! queries, so this file favours plainness over speed: it re-tokenizes the
//! message on every call and matches wildcards by simple backtracking. If a
//! backend and this file disagree, either the backend is wrong, or this file
//! and `docs/query-language.md` are wrong together.

use std::ops::Bound;

use crate::query::{Field, Query, WildcardPart};
use crate::record::Record;
use crate::timestamp::Timestamp;
use crate::tokenize::tokenize;

/// Whether `record` matches `query`.
pub fn matches(query: &Query, record: &Record) -> bool {
    match query {
        Query::All => true,
        Query::Keyword { field, value } => record.keyword_values(field).any(|v| v == value),
        Query::Phrase { tokens } => contains_phrase(&tokenize(record.message()), tokens),
        Query::Wildcard { field, pattern } => match field {
            Field::Message => tokenize(record.message())
                .iter()
                .any(|t| pattern.lowercased().matches(t)),
            Field::Keyword(path) => record.keyword_values(path).any(|v| pattern.matches(v)),
        },
        Query::Regex { field, pattern } => match field {
            Field::Message => pattern.is_match(record.message()),
            Field::Keyword(path) => record.keyword_values(path).any(|v| pattern.is_match(v)),
        },
        Query::Range { start, end } => in_range(record.timestamp(), *start, *end),
        Query::Exists { field } => record.has_field(field),
        Query::And(children) => children.iter().all(|c| matches(c, record)),
        Query::Or(children) => children.iter().any(|c| matches(c, record)),
        Query::Not(child) => !matches(child, record),
    }
}

/// Whether `needle` (non-empty) occurs as adjacent tokens in `haystack`.
/// An empty phrase matches nothing.
fn contains_phrase(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn in_range(t: Timestamp, start: Bound<Timestamp>, end: Bound<Timestamp>) -> bool {
    let above = match start {
        Bound::Included(s) => t >= s,
        Bound::Excluded(s) => t > s,
        Bound::Unbounded => true,
    };
    let below = match end {
        Bound::Included(e) => t <= e,
        Bound::Excluded(e) => t < e,
        Bound::Unbounded => true,
    };
    above && below
}

/// Whether the whole of `text` matches the pattern `parts` (`?` = one
/// character, `*` = any run of characters, literals exact).
pub fn wildcard_matches(parts: &[WildcardPart], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((WildcardPart::Literal(lit), rest)) => text
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| wildcard_matches(rest, tail)),
        Some((WildcardPart::AnyChar, rest)) => {
            let mut chars = text.chars();
            chars.next().is_some() && wildcard_matches(rest, chars.as_str())
        }
        Some((WildcardPart::AnyString, rest)) => text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .any(|i| wildcard_matches(rest, &text[i..])),
    }
}

#[cfg(test)]
mod tests;
