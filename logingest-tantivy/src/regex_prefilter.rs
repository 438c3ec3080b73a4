//! Index prefilter for regexes on `message`.
//!
//! A regex runs on the raw message, so the index cannot answer it alone; but
//! most regexes contain literal text every match must contain, and a literal
//! implies tokens the message must have. `connect to DB` implies the whole
//! token `to`, a token ending in `connect` and one starting with `db`. Whole
//! tokens become term queries, a token starting a literal's end a prefix
//! query; only when there is nothing better, a suffix or infix wildcard over
//! the term dictionary. The candidates are then verified with the real regex
//! on the record store (`verify.rs`), so the prefilter only has to be a superset: a regex
//! without required literals (`\d{3,}`) verifies every document.
//!
//! Required literals are read from the `regex-syntax` HIR: literal runs of a
//! concatenation, looking through captures and repetitions with a minimum of
//! one; alternations contribute nothing (a safe under-approximation).
//! Case-insensitive literals arrive as classes like `[Ff]` and are folded
//! back, since index tokens are lowercase anyway.

use logingest_core::query::RegexPattern;
use logingest_core::{lowercase, Result};
use regex_syntax::hir::{Class, Hir, HirKind};
use tantivy::query::{AllQuery, BooleanQuery, Occur, Query, RegexQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use crate::error;

/// A query whose matches include every document the regex can match.
///
/// `partial(text, suffix_only)` returns the message terms that contain
/// `text` (or end with it when `suffix_only`), for pieces that may lie
/// inside a token.
pub(crate) fn prefilter(
    pattern: &RegexPattern,
    message: Field,
    partial_terms: &dyn Fn(&str, bool) -> Result<Vec<Term>>,
) -> Result<Box<dyn Query>> {
    let Ok(hir) = regex_syntax::parse(pattern.as_str()) else {
        return Ok(Box::new(AllQuery));
    };
    let mut literals = Vec::new();
    required(&hir, &mut literals);
    let mut whole = Vec::new();
    let mut prefixes = Vec::new();
    let mut partial = Vec::new();
    for literal in &literals {
        for piece in pieces(literal) {
            match piece {
                Piece::Whole(t) => whole.push(t),
                Piece::Prefix(t) => prefixes.push(t),
                Piece::Suffix(t) => partial.push((t, true)),
                Piece::Infix(t) => partial.push((t, false)),
            }
        }
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for token in whole {
        let term = Term::from_field_text(message, &token);
        clauses.push((
            Occur::Must,
            Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        ));
    }
    // A piece of one or two characters (`5` in `of 5`) matches a large part
    // of the dictionary and filters little; use short pieces only when
    // there is nothing better.
    let selective = |t: &String| t.chars().count() >= SELECTIVE_CHARS;
    let (long_prefixes, short_prefixes): (Vec<_>, Vec<_>) =
        prefixes.into_iter().partition(selective);
    for token in &long_prefixes {
        clauses.push((Occur::Must, prefix_query(token, message)?));
    }
    // Terms containing a piece come from a substring search over the
    // dictionary: cheap, so the longest such piece always joins in.
    let longest_partial = partial.into_iter().max_by_key(|(t, _)| t.len());
    if let Some((text, suffix_only)) = &longest_partial {
        if selective(text) || clauses.is_empty() {
            let terms = partial_terms(text, *suffix_only)?;
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
    }
    if clauses.is_empty() {
        if let Some(token) = short_prefixes.iter().max_by_key(|t| t.len()) {
            clauses.push((Occur::Must, prefix_query(token, message)?));
        }
    }
    Ok(match clauses.len() {
        0 => Box::new(AllQuery),
        _ => Box::new(BooleanQuery::new(clauses)),
    })
}

/// Pieces shorter than this (in characters) filter too little to be worth
/// their cost when another clause exists.
const SELECTIVE_CHARS: usize = 3;

/// Message terms starting with `token`.
fn prefix_query(token: &str, message: Field) -> Result<Box<dyn Query>> {
    let re = format!("{}.*", regex_syntax::escape(token));
    Ok(Box::new(
        RegexQuery::from_pattern(&re, message).map_err(error::index)?,
    ))
}

/// What a literal says about the message's tokens.
#[derive(Debug, PartialEq, Eq)]
enum Piece {
    /// A whole token.
    Whole(String),
    /// A token starts with this (the literal ends inside it).
    Prefix(String),
    /// A token ends with this (the literal starts inside it).
    Suffix(String),
    /// A token contains this (the literal is inside one token).
    Infix(String),
}

/// Splits a literal into alphanumeric runs and classifies each by whether it
/// touches the literal's start or end (then the real token may be longer).
fn pieces(literal: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut offset = 0;
    for run in literal.split(|c: char| !c.is_alphanumeric()) {
        let start = offset;
        offset += run.len()
            + literal[offset + run.len()..]
                .chars()
                .next()
                .map_or(0, char::len_utf8);
        if run.is_empty() {
            continue;
        }
        let token = lowercase(run);
        let open_left = start == 0;
        let open_right = start + run.len() == literal.len();
        out.push(match (open_left, open_right) {
            (false, false) => Piece::Whole(token),
            (false, true) => Piece::Prefix(token),
            (true, false) => Piece::Suffix(token),
            (true, true) => Piece::Infix(token),
        });
    }
    out
}

/// Collects literal strings every match of `hir` contains.
fn required(hir: &Hir, out: &mut Vec<String>) {
    match hir.kind() {
        HirKind::Literal(lit) => {
            if let Ok(text) = std::str::from_utf8(&lit.0) {
                out.push(text.to_owned());
            }
        }
        HirKind::Concat(parts) => {
            let mut run = String::new();
            for part in parts {
                if let Some(text) = literal_text(part) {
                    run.push_str(&text);
                    continue;
                }
                if !run.is_empty() {
                    out.push(std::mem::take(&mut run));
                }
                required(part, out);
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
        HirKind::Capture(capture) => required(&capture.sub, out),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub, out),
        _ => {}
    }
}

/// The text of a literal or of a one-letter case-folded class (`[Ff]` → `f`).
fn literal_text(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(str::to_owned),
        HirKind::Class(Class::Unicode(class)) => {
            let mut chars = class.ranges().iter().flat_map(|r| r.start()..=r.end());
            let first = chars.next()?;
            let folded = lowercase(&first.to_string());
            if class.ranges().iter().map(|r| r.len()).sum::<usize>() > 4 {
                return None;
            }
            chars
                .all(|c| lowercase(&c.to_string()) == folded)
                .then_some(folded)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_become_token_pieces() {
        assert_eq!(
            pieces("connect to DB"),
            [
                Piece::Suffix("connect".into()),
                Piece::Whole("to".into()),
                Piece::Prefix("db".into())
            ]
        );
        assert_eq!(pieces(" to "), [Piece::Whole("to".into())]);
        assert_eq!(pieces("onnec"), [Piece::Infix("onnec".into())]);
        assert_eq!(
            pieces("10.251."),
            [Piece::Suffix("10".into()), Piece::Whole("251".into())]
        );
        assert!(pieces("..").is_empty());
    }

    #[test]
    fn required_literals_from_the_hir() {
        let lits = |re: &str| {
            let mut out = Vec::new();
            required(&regex_syntax::parse(re).unwrap(), &mut out);
            out
        };
        assert_eq!(lits("Failed to connect"), ["Failed to connect"]);
        assert_eq!(lits("(?i)failed to"), ["failed to"]);
        assert_eq!(lits(r"^conn(ect|ection)\b to"), ["conn", " to"]);
        assert_eq!(lits(r"(abc)+x"), ["abc", "x"]);
        assert!(lits(r"a|b").is_empty());
        assert!(lits(r"\d{3,}").is_empty());
    }
}
