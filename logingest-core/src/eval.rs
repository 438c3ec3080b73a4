//! The reference evaluator: what a query means, written to be obviously right.
//!
//! Every backend is tested against [`matches`] with random records and random
//! queries, so this file favours plainness over speed: it re-tokenizes the
//! message on every call. (Wildcards are the exception, see
//! [`wildcard_matches`].) If a backend and this file disagree, either the
//! backend is wrong, or this file and `docs/query-language.md` are wrong
//! together.

use std::ops::Bound;

use crate::number;
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
            Field::Message => {
                let pattern = pattern.lowercased();
                tokenize(record.message())
                    .iter()
                    .any(|t| pattern.matches(t))
            }
            Field::Keyword(path) => record.keyword_values(path).any(|v| pattern.matches(v)),
        },
        Query::Regex { field, pattern } => match field {
            Field::Message => pattern.is_match(record.message()),
            Field::Keyword(path) => record.keyword_values(path).any(|v| pattern.is_match(v)),
        },
        Query::Range { start, end } => in_range(record.timestamp(), *start, *end),
        Query::NumberRange { field, start, end } => record
            .numbers(field)
            .any(|n| number::in_bounds(n, *start, *end)),
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
///
/// The plain definition is recursive (a `*` tries every split of the rest),
/// which is exponential in the number of `*`s; live tail runs this on every
/// record for a query a client chose, so it must stay linear in practice.
/// This is the classic glob walk instead: on a mismatch only the **last**
/// `*` seen takes one more character, because any match the earlier ones
/// could still find is also found by it. At most `O(text × pattern)` steps.
/// The tests check it against the recursive definition on random patterns.
pub fn wildcard_matches(parts: &[WildcardPart], text: &str) -> bool {
    let mut at = PatternPos::default();
    let mut t = 0;
    // After the last `*`: where the pattern resumes and where in the text
    // that `*`'s run currently ends.
    let mut last_star: Option<(PatternPos, usize)> = None;
    loop {
        let next_char = text[t..].chars().next();
        match at.token(parts) {
            Some((PatternToken::AnyString, next)) => {
                last_star = Some((next, t));
                at = next;
                continue;
            }
            Some((token, next)) => {
                if let Some(c) = next_char.filter(|c| token.accepts(*c)) {
                    at = next;
                    t += c.len_utf8();
                    continue;
                }
            }
            None if next_char.is_none() => return true,
            None => {}
        }
        let Some((resume, run_end)) = last_star else {
            return false;
        };
        let Some(c) = text[run_end..].chars().next() else {
            return false;
        };
        last_star = Some((resume, run_end + c.len_utf8()));
        at = resume;
        t = run_end + c.len_utf8();
    }
}

/// A position in a wildcard pattern: a part and a byte offset in it (only
/// literals have more than one position).
#[derive(Debug, Clone, Copy, Default)]
struct PatternPos {
    part: usize,
    offset: usize,
}

/// One step of a pattern: a literal character, `?` or `*`.
#[derive(Debug, Clone, Copy)]
enum PatternToken {
    Char(char),
    AnyChar,
    AnyString,
}

impl PatternToken {
    /// Whether this (non-`*`) token consumes `c`.
    fn accepts(self, c: char) -> bool {
        match self {
            PatternToken::Char(want) => want == c,
            PatternToken::AnyChar => true,
            PatternToken::AnyString => false,
        }
    }
}

impl PatternPos {
    /// The token at this position and the position after it; `None` at the
    /// end of the pattern.
    fn token(self, parts: &[WildcardPart]) -> Option<(PatternToken, PatternPos)> {
        let mut pos = self;
        loop {
            let part = parts.get(pos.part)?;
            let after = PatternPos {
                part: pos.part + 1,
                offset: 0,
            };
            return Some(match part {
                WildcardPart::AnyChar => (PatternToken::AnyChar, after),
                WildcardPart::AnyString => (PatternToken::AnyString, after),
                WildcardPart::Literal(lit) => match lit[pos.offset..].chars().next() {
                    // An empty literal (not built by the parser) is skipped.
                    None => {
                        pos = after;
                        continue;
                    }
                    Some(c) => {
                        let offset = pos.offset + c.len_utf8();
                        let next = if offset == lit.len() {
                            after
                        } else {
                            PatternPos {
                                part: pos.part,
                                offset,
                            }
                        };
                        (PatternToken::Char(c), next)
                    }
                },
            });
        }
    }
}

pub mod stats;

#[cfg(test)]
mod tests;
