//! The evaluator's semantics, spelled out on ASTs built by hand (so these
//! tests do not depend on the parser).

use std::ops::Bound;

use super::*;
use crate::parse::{parse_records, ParseOptions};
use crate::query::{RegexPattern, Wildcard};
use proptest::prelude::*;

fn record(json: &str) -> Record {
    parse_records(json.as_bytes(), &ParseOptions::default())
        .unwrap()
        .remove(0)
}

fn sample() -> Record {
    record(
        r#"{"level":"error","message":"Failed to connect to DB at 10.251.73.220:50010, don't retry; CAFÉ x","resourceId":"server-1234",
            "timestamp":"2023-09-15T08:00:00Z","metadata":{"parentResourceId":"server-0987","retries":3,"ok":false,
            "tags":["a","b c"],"nested":{"k":"v"},"none":null}}"#,
    )
}

fn kw(field: &str, value: &str) -> Query {
    Query::Keyword {
        field: field.into(),
        value: value.into(),
    }
}

fn phrase(tokens: &[&str]) -> Query {
    Query::Phrase {
        tokens: tokens.iter().map(|t| t.to_string()).collect(),
    }
}

fn wild(field: Field, parts: Vec<WildcardPart>) -> Query {
    Query::Wildcard {
        field,
        pattern: Wildcard { parts },
    }
}

fn lit(s: &str) -> WildcardPart {
    WildcardPart::Literal(s.into())
}

fn re(field: Field, source: &str) -> Query {
    Query::Regex {
        field,
        pattern: RegexPattern::new(source).unwrap(),
    }
}

fn ts(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

#[test]
fn keywords_are_exact_and_case_sensitive() {
    let r = sample();
    assert!(matches(&kw("level", "error"), &r));
    assert!(!matches(&kw("level", "Error"), &r));
    assert!(!matches(&kw("level", "err"), &r));
    assert!(matches(&kw("metadata.parentResourceId", "server-0987"), &r));
    assert!(matches(&kw("metadata.retries", "3"), &r));
    assert!(matches(&kw("metadata.ok", "false"), &r));
    assert!(
        matches(&kw("metadata.tags", "b c"), &r),
        "any value of an array"
    );
    assert!(matches(&kw("metadata.nested.k", "v"), &r));
    assert!(!matches(&kw("metadata.none", "null"), &r), "null is absent");
    assert!(!matches(&kw("missing", "x"), &r));
}

#[test]
fn message_terms_and_phrases_use_the_tokenizer() {
    let r = sample();
    assert!(matches(&phrase(&["failed"]), &r));
    assert!(matches(&phrase(&["failed", "to", "connect"]), &r));
    assert!(
        !matches(&phrase(&["connect", "failed"]), &r),
        "order matters"
    );
    assert!(
        !matches(&phrase(&["failed", "connect"]), &r),
        "adjacency matters"
    );
    assert!(matches(&phrase(&["10", "251", "73", "220", "50010"]), &r));
    assert!(
        matches(&phrase(&["don", "t", "retry"]), &r),
        "punctuation splits tokens"
    );
    assert!(matches(&phrase(&["café"]), &r), "lowercased text");
    assert!(!matches(&phrase(&["fail"]), &r), "no stemming or prefix");
    assert!(
        !matches(&phrase(&[]), &r),
        "an empty phrase matches nothing"
    );
}

#[test]
fn wildcards_match_one_token_or_a_whole_keyword() {
    let r = sample();
    assert!(matches(
        &wild(Field::Message, vec![lit("conn"), WildcardPart::AnyString]),
        &r
    ));
    assert!(
        matches(
            &wild(Field::Message, vec![lit("CONN"), WildcardPart::AnyString]),
            &r
        ),
        "message literals are lowercased"
    );
    assert!(matches(
        &wild(
            Field::Message,
            vec![WildcardPart::AnyString, lit("nec"), WildcardPart::AnyString]
        ),
        &r
    ));
    assert!(
        matches(
            &wild(
                Field::Message,
                vec![lit("c"), WildcardPart::AnyChar, lit("fé")]
            ),
            &r
        ),
        "? is one char, not one byte"
    );
    assert!(
        !matches(
            &wild(
                Field::Message,
                vec![lit("to"), WildcardPart::AnyString, lit("db")]
            ),
            &r
        ),
        "never spans tokens"
    );
    assert!(matches(
        &wild(
            Field::Keyword("resourceId".into()),
            vec![lit("server-12"), WildcardPart::AnyString]
        ),
        &r
    ));
    assert!(!matches(
        &wild(Field::Keyword("resourceId".into()), vec![lit("server-12")]),
        &r
    ));
    assert!(
        !matches(
            &wild(
                Field::Keyword("resourceId".into()),
                vec![lit("Server"), WildcardPart::AnyString]
            ),
            &r
        ),
        "case-sensitive"
    );
    assert!(matches(
        &wild(
            Field::Keyword("resourceId".into()),
            vec![lit("server-123"), WildcardPart::AnyChar]
        ),
        &r
    ));
    assert!(!matches(
        &wild(
            Field::Keyword("resourceId".into()),
            vec![lit("server-12"), WildcardPart::AnyChar]
        ),
        &r
    ));
}

#[test]
fn wildcard_matcher_edge_cases() {
    use WildcardPart::{AnyChar as Q, AnyString as S};
    assert!(wildcard_matches(&[S], ""));
    assert!(!wildcard_matches(&[Q], ""));
    assert!(wildcard_matches(&[S, lit("a"), S, lit("a"), S], "banana"));
    assert!(!wildcard_matches(&[lit("a"), S, lit("b")], "ab a"));
    assert!(wildcard_matches(&[lit("a*b")], "a*b"), "literal star");
    assert!(wildcard_matches(&[Q, Q], "日本"));
    assert!(wildcard_matches(&[lit("a"), S, lit("b"), Q], "axxbbx"));
    assert!(!wildcard_matches(&[S, lit("ab"), S, lit("ba")], "aba"));
    assert!(
        wildcard_matches(&[lit(""), S, lit("")], "x"),
        "empty literals"
    );
}

/// The definition: a `*` tries every split of the rest. Exponential in the
/// number of `*`s, so only for short inputs.
fn wildcard_matches_by_definition(parts: &[WildcardPart], text: &str) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((WildcardPart::Literal(lit), rest)) => text
            .strip_prefix(lit.as_str())
            .is_some_and(|tail| wildcard_matches_by_definition(rest, tail)),
        Some((WildcardPart::AnyChar, rest)) => {
            let mut chars = text.chars();
            chars.next().is_some() && wildcard_matches_by_definition(rest, chars.as_str())
        }
        Some((WildcardPart::AnyString, rest)) => text
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(text.len()))
            .any(|i| wildcard_matches_by_definition(rest, &text[i..])),
    }
}

fn wildcard_part() -> impl Strategy<Value = WildcardPart> {
    prop_oneof![
        "[abé]{0,3}".prop_map(WildcardPart::Literal),
        Just(WildcardPart::AnyChar),
        Just(WildcardPart::AnyString),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn the_wildcard_walk_agrees_with_the_definition(
        parts in proptest::collection::vec(wildcard_part(), 0..7),
        text in "[abé]{0,9}",
    ) {
        prop_assert_eq!(
            wildcard_matches(&parts, &text),
            wildcard_matches_by_definition(&parts, &text),
            "{:?} on {:?}", parts, text
        );
    }
}

#[test]
fn many_stars_on_a_long_value_take_linear_time() {
    // By the definition this is ~10,000^31 splits; the walk does at most
    // text × pattern steps. A regression hangs this test.
    let mut parts = vec![WildcardPart::AnyString];
    for _ in 0..31 {
        parts.push(lit("a"));
        parts.push(WildcardPart::AnyString);
    }
    parts.push(lit("b"));
    assert!(!wildcard_matches(&parts, &"a".repeat(10_000)));
}

#[test]
fn regexes_are_unanchored_on_the_raw_value() {
    let r = sample();
    assert!(matches(&re(Field::Message, "connect to DB"), &r));
    assert!(
        matches(&re(Field::Message, r"\d+\.\d+\.\d+\.\d+:\d+"), &r),
        "raw text, not tokens"
    );
    assert!(!matches(&re(Field::Message, "^connect"), &r));
    assert!(
        !matches(&re(Field::Message, "failed"), &r),
        "case-sensitive"
    );
    assert!(matches(&re(Field::Message, "(?i)failed"), &r));
    assert!(matches(&re(Field::Keyword("resourceId".into()), "-12"), &r));
    assert!(matches(
        &re(Field::Keyword("metadata.tags".into()), "^b "),
        &r
    ));
    assert!(
        !matches(&re(Field::Keyword("missing".into()), ""), &r),
        "absent field never matches"
    );
}

#[test]
fn ranges_respect_bounds() {
    let r = sample();
    let t = ts("2023-09-15T08:00:00Z");
    let range = |start, end| Query::Range { start, end };
    assert!(matches(&range(Bound::Included(t), Bound::Included(t)), &r));
    assert!(!matches(&range(Bound::Excluded(t), Bound::Unbounded), &r));
    assert!(!matches(&range(Bound::Unbounded, Bound::Excluded(t)), &r));
    assert!(matches(&range(Bound::Unbounded, Bound::Unbounded), &r));
    assert!(matches(
        &range(
            Bound::Included(ts("2023-09-10T00:00:00Z")),
            Bound::Included(ts("2023-09-15T23:59:59Z"))
        ),
        &r
    ));
}

#[test]
fn exists_sees_leaves_and_objects() {
    let r = sample();
    for (field, want) in [
        ("level", true),
        ("metadata", true),
        ("metadata.nested", true),
        ("metadata.none", false),
        ("metadata.nest", false),
        ("message", false),
        ("traceId", false),
    ] {
        assert_eq!(
            matches(
                &Query::Exists {
                    field: field.into()
                },
                &r
            ),
            want,
            "{field}"
        );
    }
}

#[test]
fn boolean_operators() {
    let r = sample();
    let yes = kw("level", "error");
    let no = kw("level", "info");
    assert!(matches(&Query::And(vec![yes.clone(), yes.clone()]), &r));
    assert!(!matches(&Query::And(vec![yes.clone(), no.clone()]), &r));
    assert!(matches(&Query::Or(vec![no.clone(), yes.clone()]), &r));
    assert!(!matches(&Query::Or(vec![no.clone(), no.clone()]), &r));
    assert!(matches(&Query::Not(Box::new(no)), &r));
    assert!(!matches(&Query::Not(Box::new(yes)), &r));
    assert!(matches(&Query::All, &r));
}

#[test]
fn numeric_comparisons_compare_json_numbers_only() {
    let r = record(
        r#"{"message":"m","metadata":{"status":503,"code":"500","ratio":2.5,"sizes":[1,"7",12e2],
            "zero":-0.0,"big":9007199254740993,"flag":true,"nested":{"n":4}}}"#,
    );
    let n = |v: f64| crate::number::Number::new(v).unwrap();
    let range = |field: &str, start: Bound<f64>, end: Bound<f64>| Query::NumberRange {
        field: field.into(),
        start: start.map(n),
        end: end.map(n),
    };
    use Bound::{Excluded, Included, Unbounded};
    let cases = [
        (range("metadata.status", Included(500.0), Unbounded), true),
        (range("metadata.status", Excluded(503.0), Unbounded), false),
        (
            range("metadata.status", Included(503.0), Included(503.0)),
            true,
        ),
        (range("metadata.status", Unbounded, Excluded(503.0)), false),
        // A string that looks like a number is text, not a number.
        (range("metadata.code", Unbounded, Unbounded), false),
        (
            range("metadata.code", Included(500.0), Included(500.0)),
            false,
        ),
        // Integers and floats are one kind of number.
        (range("metadata.ratio", Excluded(2.0), Excluded(3.0)), true),
        (range("metadata.ratio", Included(2.5), Included(2.5)), true),
        // Any value of a multi-valued path; only its numbers count.
        (range("metadata.sizes", Included(1000.0), Unbounded), true),
        (
            range("metadata.sizes", Included(5.0), Included(10.0)),
            false,
        ),
        (range("metadata.sizes", Unbounded, Included(1.0)), true),
        // `-0` is `0`.
        (range("metadata.zero", Included(0.0), Included(0.0)), true),
        (range("metadata.zero", Excluded(0.0), Unbounded), false),
        // Beyond 2^53 a number is its nearest double.
        (
            range(
                "metadata.big",
                Included(9007199254740992.0),
                Included(9007199254740992.0),
            ),
            true,
        ),
        // Booleans, objects and missing paths have no numbers.
        (range("metadata.flag", Unbounded, Unbounded), false),
        (range("metadata.nested", Unbounded, Unbounded), false),
        (range("metadata.nested.n", Included(4.0), Unbounded), true),
        (range("metadata.missing", Unbounded, Unbounded), false),
        // An empty range matches nothing.
        (
            range("metadata.status", Included(600.0), Included(500.0)),
            false,
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(matches(&query, &r), expected, "{query}");
        // `NOT` is the plain complement: records without numbers match it.
        assert_eq!(matches(&Query::Not(Box::new(query.clone())), &r), !expected);
    }
    // The exact match still compares the JSON text, of strings and numbers.
    assert!(matches(&kw("metadata.code", "500"), &r));
    assert!(matches(&kw("metadata.status", "503"), &r));
    assert!(matches(&kw("metadata.sizes", "1200.0"), &r));
}
