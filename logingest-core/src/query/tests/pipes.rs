//! Pipes: text → pipeline tables, error positions, and the printer's
//! round trip.

use crate::query::pipe::{Function, GroupKey, Named, Pipe, Quantile, SortKey, Stats, Top};
use crate::query::{parse_pipeline_at, parse_query_at, Pipeline, Query};
use crate::timestamp::{Timestamp, NANOS_PER_SECOND};

const NOW: Timestamp = Timestamp(1_694_779_200 * NANOS_PER_SECOND);

fn pipeline(text: &str) -> Result<Pipeline, crate::QueryError> {
    parse_pipeline_at(text, NOW)
}

fn named(function: Function) -> Named {
    Named {
        name: function.to_string(),
        function,
        explicit: false,
    }
}

fn alias(function: Function, name: &str) -> Named {
    Named {
        function,
        name: name.to_owned(),
        explicit: true,
    }
}

fn field(path: &str) -> GroupKey {
    GroupKey::Field(path.to_owned())
}

fn minute() -> GroupKey {
    GroupKey::Bucket {
        step: 60 * NANOS_PER_SECOND,
        written: "1m".to_owned(),
    }
}

fn level_error() -> Query {
    Query::Keyword {
        field: "level".into(),
        value: "error".into(),
    }
}

#[test]
fn pipe_tables() {
    let cases: Vec<(&str, Pipeline)> = vec![
        (
            "level:error | stats count() by (resourceId)",
            Pipeline {
                filter: level_error(),
                pipes: vec![Pipe::Stats(Stats {
                    functions: vec![named(Function::Count)],
                    by: vec![field("resourceId")],
                })],
            },
        ),
        (
            "| stats count() as n, count(traceId), count_uniq(traceId) as users",
            Pipeline {
                filter: Query::All,
                pipes: vec![Pipe::Stats(Stats {
                    functions: vec![
                        alias(Function::Count, "n"),
                        named(Function::CountField("traceId".into())),
                        alias(Function::CountUniq("traceId".into()), "users"),
                    ],
                    by: vec![],
                })],
            },
        ),
        (
            "*|stats quantile(0.99, metadata.ms), sum(a), avg(a), min(a), max(a) by (metadata.system, bucket(timestamp, 1m))",
            Pipeline {
                filter: Query::All,
                pipes: vec![Pipe::Stats(Stats {
                    functions: vec![
                        named(Function::Quantile(Quantile::new(0.99).unwrap(), "metadata.ms".into())),
                        named(Function::Sum("a".into())),
                        named(Function::Avg("a".into())),
                        named(Function::Min("a".into())),
                        named(Function::Max("a".into())),
                    ],
                    by: vec![field("metadata.system"), minute()],
                })],
            },
        ),
        (
            "level:error | top 5 by (resourceId) | sort by (resourceId desc, count) | limit 3",
            Pipeline {
                filter: level_error(),
                pipes: vec![
                    Pipe::Top(Top {
                        n: 5,
                        by: vec![field("resourceId")],
                    }),
                    Pipe::Sort(vec![
                        SortKey {
                            column: "resourceId".into(),
                            descending: true,
                        },
                        SortKey {
                            column: "count".into(),
                            descending: false,
                        },
                    ]),
                    Pipe::Limit(3),
                ],
            },
        ),
        (
            "| stats count() by (bucket(timestamp, 1m)) | sort by (count() desc, bucket(timestamp,1m) asc)",
            Pipeline {
                filter: Query::All,
                pipes: vec![
                    Pipe::Stats(Stats {
                        functions: vec![named(Function::Count)],
                        by: vec![minute()],
                    }),
                    Pipe::Sort(vec![
                        SortKey {
                            column: "count()".into(),
                            descending: true,
                        },
                        SortKey {
                            column: "bucket(timestamp, 1m)".into(),
                            descending: false,
                        },
                    ]),
                ],
            },
        ),
        (
            "level:error | fields level, metadata.c | limit 10",
            Pipeline {
                filter: level_error(),
                pipes: vec![
                    Pipe::Fields(vec!["level".into(), "metadata.c".into()]),
                    Pipe::Limit(10),
                ],
            },
        ),
        (
            "level:error",
            Pipeline {
                filter: level_error(),
                pipes: vec![],
            },
        ),
    ];
    for (text, want) in cases {
        let got = pipeline(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want, "{text}");
        let printed = got.to_string();
        assert_eq!(pipeline(&printed), Ok(got), "printed: {printed}");
    }
}

#[test]
fn sort_columns_may_have_spaces_before_their_parentheses() {
    let spaced = "| stats count() by (bucket(timestamp, 1m)) | sort by (count () desc, bucket (timestamp, 1m))";
    let tight = "| stats count() by (bucket(timestamp, 1m)) | sort by (count() desc, bucket(timestamp, 1m))";
    assert_eq!(pipeline(spaced), pipeline(tight));
    assert!(pipeline(tight).is_ok());
}

#[test]
fn a_bar_ends_a_word_unless_escaped_or_quoted() {
    let escaped = pipeline(r#"a\|b url:"x|y" message:/a|b/"#).unwrap();
    assert!(escaped.pipes.is_empty(), "{escaped:?}");
    let printed = Query::Keyword {
        field: "url".into(),
        value: "x|y".into(),
    }
    .to_string();
    assert_eq!(parse_query_at(&printed, NOW).unwrap().to_string(), printed);
}

#[test]
fn pipe_errors() {
    let cases: &[(&str, usize, &str)] = &[
        ("level:error | stats count() by (x)", usize::MAX, ""),
        ("a | stats", 9, "expected a function such as `count()`"),
        ("a | frobnicate", 4, "unknown pipe `frobnicate`"),
        ("a |", 3, "expected a pipe"),
        ("a | stats count(", 16, "expected a field name"),
        ("a | stats median(x)", 10, "unknown function `median`"),
        ("a | stats quantile(1.5, x)", 19, "a number from 0 to 1"),
        (
            "a | stats quantile(0.5 x)",
            23,
            "expected `,` after the quantile",
        ),
        ("a | stats count(message)", 16, "`message` is full text"),
        (
            "a | stats count() by (timestamp)",
            22,
            "bucket(timestamp, 1m)",
        ),
        (
            "a | stats count() by (bucket(timestamp, 1y))",
            40,
            "expected a duration",
        ),
        (
            "a | stats count() by (bucket(timestamp, 0s))",
            40,
            "expected a duration",
        ),
        (
            "a | stats count() by (bucket(level, 1m))",
            29,
            "groups `timestamp` only",
        ),
        ("a | stats count() by (level", 27, "`,` or `)`"),
        (
            "a | stats count(), count()",
            4,
            "two columns are named `count()`",
        ),
        (
            "a | stats count() as level by (level)",
            4,
            "two columns are named `level`",
        ),
        (
            "a | top by (level)",
            8,
            "a whole number of rows from 1 to 100000, not `by`",
        ),
        ("a | top 0 by (level)", 8, "from 1 to 100000"),
        ("a | top 5 (level)", 10, "`by (field, ...)` after `top N`"),
        (
            "a | limit 5 | stats count()",
            14,
            "comes right after the filter",
        ),
        (
            "a | stats count() | top 5 by (x)",
            20,
            "comes right after the filter",
        ),
        ("a | sort by (x)", 4, "`sort` orders rows"),
        (
            "a | stats count() | sort by (n)",
            29,
            "no column `n`; they have `count()`",
        ),
        (
            "a | stats count() | fields level",
            20,
            "after `stats` or `top` there are rows",
        ),
        ("a | fields level, level", 18, "`level` is listed twice"),
        ("a | limit x", 10, "not `x`"),
        ("a | limit 5 extra", 12, "expected `|` before the next pipe"),
        ("(a | stats count())", 0, "never closed"),
        ("a AND | stats count()", 6, "expected a clause after `AND`"),
    ];
    for &(text, pos, reason) in cases {
        if pos == usize::MAX {
            assert!(pipeline(text).is_ok(), "{text}");
            continue;
        }
        let err = pipeline(text).expect_err(text);
        assert!(err.reason.contains(reason), "{text}: {err}");
        assert_eq!(err.position, pos, "{text}: {err}");
    }
    // A search takes a filter only.
    let err = parse_query_at("level:error | stats count()", NOW).unwrap_err();
    assert_eq!(err.position, 12);
    assert!(err.reason.contains("pipes"), "{err}");
}

#[test]
fn conjuncts_are_those_of_the_filter() {
    use crate::query::{parse_conjuncts, parse_filter_at};
    let text = "level:error a | stats count() by (level)";
    let spans: Vec<_> = parse_conjuncts(text, NOW)
        .unwrap()
        .into_iter()
        .map(|c| &text[c.span])
        .collect();
    assert_eq!(spans, ["level:error", "a"]);
    let or = "a OR b | top 3 by (level)";
    let spans: Vec<_> = parse_conjuncts(or, NOW)
        .unwrap()
        .into_iter()
        .map(|c| &or[c.span])
        .collect();
    assert_eq!(spans, ["a OR b"]);
    assert_eq!(parse_filter_at(text, NOW).unwrap().1, Some(14));
    assert_eq!(parse_filter_at("level:error", NOW).unwrap().1, None);
}

/// A record search takes a filter and `fields` (the last one counts), and
/// refuses every pipe that makes or orders rows at the first `|`.
#[test]
fn record_searches_take_fields_only() {
    use crate::query::parse_search_at;
    let search = |text: &str| parse_search_at(text, NOW);
    let level = Query::Keyword {
        field: "level".to_owned(),
        value: "error".to_owned(),
    };
    assert_eq!(search("level:error").unwrap(), (level.clone(), None));
    assert_eq!(
        search("level:error | fields message, metadata.ms").unwrap(),
        (
            level.clone(),
            Some(vec!["message".to_owned(), "metadata.ms".to_owned()])
        )
    );
    assert_eq!(
        search("level:error | fields a | fields b").unwrap(),
        (level, Some(vec!["b".to_owned()]))
    );
    for (text, at) in [
        ("level:error | stats count()", 12),
        ("* | top 3 by (level)", 2),
        ("a | fields b | limit 3", 2),
        ("| limit 3", 0),
    ] {
        let e = search(text).unwrap_err();
        assert_eq!(e.position, at, "{text}: {e}");
        assert!(e.to_string().contains("query API"), "{text}: {e}");
    }
    // Errors in the pipes keep their own positions.
    assert_eq!(search("a | fields").unwrap_err().position, 10);
}
