//! Fuzz check of the query parser ([`crate::query::parse_query_at`]).
//!
//! Query text comes from users and from URLs, so the parser must never
//! panic, every error must point into the text, and a parsed query must
//! survive being printed (the UI, logs and other processes get queries as
//! the printed text). The input is the query text (invalid UTF-8 replaced).
//! Properties:
//!
//! - no panic;
//! - `Ok`: printing the AST and parsing the text gives the same AST, and
//!   printing that gives the same text. One exception the tokenizer imposes
//!   is skipped: `İ` lowercases to `i` + U+0307 (not alphanumeric), so a
//!   phrase token made from `İ` cannot be written again (see the parser's
//!   property test `parsing_never_panics`);
//! - `Err`: the position is a char boundary within the text and the reason
//!   is not empty;
//! - [`crate::query::parse_conjuncts`] agrees: the same error, or clauses
//!   whose spans are ordered, within the text, and each parse alone to the
//!   clause's query; together they make the whole query.

use crate::query::{parse_conjuncts, parse_query_at, Query};
use crate::testkit::corpus::RECEIVE_TIME;

/// Checks the query parser on one fuzz input (see the module doc).
pub fn check_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = parse_query_at(&text, RECEIVE_TIME);
    match &parsed {
        Ok(_) if text.contains('İ') => {}
        Ok(query) => {
            let printed = query.to_string();
            let back = parse_query_at(&printed, RECEIVE_TIME);
            assert_eq!(
                back.as_ref(),
                Ok(query),
                "printed query does not parse back to the same AST\n  text:    {text:?}\n  printed: {printed:?}"
            );
            assert_eq!(
                back.expect("checked").to_string(),
                printed,
                "printing is not stable"
            );
        }
        Err(e) => {
            assert!(
                e.position <= text.len() && text.is_char_boundary(e.position),
                "error position {} outside the text or inside a character: {text:?}",
                e.position
            );
            assert!(!e.reason.is_empty(), "error without a reason");
        }
    }
    check_conjuncts(&text, &parsed);
}

fn check_conjuncts(text: &str, whole: &Result<Query, crate::QueryError>) {
    let conjuncts = parse_conjuncts(text, RECEIVE_TIME);
    let (whole, conjuncts) = match (whole, conjuncts) {
        (Err(e), Err(c)) => return assert_eq!(e, &c, "parse_conjuncts reports another error"),
        (Ok(whole), Ok(conjuncts)) => (whole, conjuncts),
        (whole, conjuncts) => {
            panic!("parse_query and parse_conjuncts disagree: {whole:?} vs {conjuncts:?}")
        }
    };
    let mut previous_end = 0;
    for conjunct in &conjuncts {
        let span = conjunct.span.clone();
        assert!(
            previous_end <= span.start && span.start < span.end && span.end <= text.len(),
            "conjunct span {span:?} out of order or outside the text {text:?}"
        );
        let clause = text
            .get(span.clone())
            .unwrap_or_else(|| panic!("conjunct span {span:?} inside a character of {text:?}"));
        assert_eq!(
            parse_query_at(clause, RECEIVE_TIME).as_ref(),
            Ok(&conjunct.query),
            "conjunct {clause:?} of {text:?} does not parse alone to its query"
        );
        previous_end = span.end;
    }
    let together = match conjuncts.len() {
        0 => Query::All,
        1 => conjuncts[0].query.clone(),
        _ => Query::And(conjuncts.iter().map(|c| c.query.clone()).collect()),
    };
    assert_eq!(
        &together, whole,
        "the conjuncts of {text:?} do not make the whole query"
    );
}
