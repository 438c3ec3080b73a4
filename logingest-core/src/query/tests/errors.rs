//! Every kind of query error, with the byte position it must point at and a
//! piece of the message that must explain it.

use super::parse;

#[test]
fn wildcards_up_to_the_limit_parse() {
    let at_limit = format!("level:a{}b", "?".repeat(32));
    assert!(parse(&at_limit).is_ok());
    // Escaped ones are literals and do not count.
    let escaped = format!("level:a{}*", "\\?".repeat(100));
    assert!(parse(&escaped).is_ok(), "{escaped}");
}

#[test]
fn error_positions() {
    let deep_parens = format!("{}a{}", "(".repeat(65), ")".repeat(65));
    let deep_nots = format!("{}a", "-".repeat(65));
    let huge = "(".repeat(100_000);
    let many_any = format!("level:a{}b", "?".repeat(33));
    let many_words = format!("x a{}", "*b".repeat(33));
    let cases: &[(&str, usize, &str)] = &[
        // Wildcards too large for any backend's automaton.
        (&many_any, 6, "has 33 wildcards"),
        (&many_words, 2, "at most 32 are allowed"),
        // Structure.
        ("(a", 0, "never closed"),
        ("a (b OR c", 2, "never closed"),
        ("a (", 2, "never closed"),
        ("((a)", 0, "never closed"),
        ("a)", 1, "no matching `(`"),
        (")", 0, "no matching `(`"),
        ("a AND", 5, "after `AND`, found the end of the query"),
        ("a OR ", 5, "after `OR`, found the end"),
        ("NOT", 3, "after `NOT`"),
        ("OR a", 0, "before `OR`"),
        ("AND a", 0, "before `AND`"),
        ("(AND a)", 1, "before `AND`"),
        ("a OR OR b", 5, "after `OR`, found `OR`"),
        // Field groups.
        ("level:(error", 0, "never closed"),
        ("level:()", 0, "empty parentheses"),
        (
            "level:(a OR resourceId:(x))",
            12,
            "`resourceId:(` inside a field group",
        ),
        ("level:(a OR (b:(x)))", 13, "`b:(` inside a field group"),
        ("level:([1 TO x])", 13, "expected a number"),
        ("level:(>=)", 9, "expected a value after `>=`"),
        ("message:(>=5)", 9, "`message` is full text"),
        ("level:(error", 0, "this `level:(` is never closed"),
        ("level:(a OR)", 11, "after `OR`, found `)`"),
        ("level:>(a)", 7, "expected a value after `level:>`"),
        ("a AND OR b", 6, "after `AND`, found `OR`"),
        ("(a OR)", 5, "found `)`"),
        ("-AND b", 1, "after `-`, found `AND`"),
        ("()", 0, "empty parentheses"),
        ("a ()", 2, "empty parentheses"),
        ("a - b", 2, "`-` must be directly followed"),
        ("a -", 2, "`-` must be directly followed"),
        ("-)", 0, "`-` must be directly followed"),
        (&deep_parens, 64, "deeper than 64"),
        (&deep_nots, 64, "deeper than 64"),
        (&huge, 64, "deeper than 64"),
        // Missing values and bad field names.
        (
            "level:",
            6,
            "expected a value after `level:`, found the end",
        ),
        ("level: error", 6, "found a space"),
        ("level:)", 6, "found `)`"),
        ("timestamp>=", 11, "after `timestamp>=`"),
        (":x", 0, "expected a field name before `:`"),
        ("a!b:c", 1, "`a!b` is not a valid field name"),
        (r"a\:b:c", 1, "backslash"),
        ("é€:x", 2, "`€`"),
        // Escapes, quotes, regexes.
        (r"a\", 1, "backslash at the end"),
        (r#""abc"#, 0, "unterminated quoted string"),
        (r#"level:"abc\""#, 6, "unterminated quoted string"),
        (r#""abc"def"#, 5, "expected a space or `)`"),
        ("level:/abc", 6, "unterminated regular expression"),
        (r"level:/abc\/", 6, "unterminated regular expression"),
        ("level:/(/", 6, "unclosed group"),
        (
            "x message:/a{99999}{99999}/",
            10,
            "invalid regular expression",
        ),
        ("level:/a/b", 9, "expected a space or `)`"),
        // Ranges.
        ("timestamp:[2023-09-10 2023-09-15]", 22, "expected `TO`"),
        ("timestamp:[2023-09-10 to 2023-09-15]", 22, "expected `TO`"),
        (
            "timestamp:[2023-09-10 TO 2023-09-15",
            35,
            "expected `]` or `}`",
        ),
        (
            "timestamp:[2023-09-10 TO 2023-09-15 x]",
            36,
            "expected `]` or `}`",
        ),
        ("timestamp:[2023-09-10 TO]", 24, "upper bound"),
        ("timestamp:[]", 11, "lower bound"),
        ("timestamp:[a TO b]x", 18, "expected a space or `)`"),
        ("level>=x", 7, "`x` is not one"),
        (
            "level:>x",
            7,
            "ranges and comparisons on `level` compare JSON numbers",
        ),
        ("x metadata.a:[1 TO b]", 19, "expected a number"),
        ("x metadata.a:[one TO 2]", 14, "`one` is not one"),
        ("a:>=+1", 4, "`+1` is not one"),
        ("resourceId>=server-1", 12, "`server-1` is not one"),
        ("a:>=0x10", 4, "`0x10` is not one"),
        ("a:>=1e400", 4, "expected a number"),
        ("a:>=/5/", 4, "`/5/` is not one"),
        ("a>=[1 TO 2]", 3, "one number, not a range"),
        ("a:>=5*", 4, "expected a number"),
        ("message:[a TO b]", 0, "`message` is full text"),
        ("message:<a", 0, "`message` is full text"),
        ("timestamp>=[now TO now]", 11, "one time, not a range"),
        // Field semantics.
        (
            "message:foo-*",
            8,
            "match a single token; `foo-*` contains `-`",
        ),
        (r"x foo\**", 2, "contains `*`"),
        ("timestamp:2023-13-01", 10, "expected a time"),
        ("timestamp:yesterday", 10, "expected a time"),
        ("timestamp:[2023-09-10 TO bad]", 25, "expected a time"),
        ("timestamp:3000-01-01", 10, "outside the supported years"),
        ("timestamp>now-15x", 10, "unit s, m, h, d or w"),
        ("timestamp>now-m", 10, "no number"),
        ("timestamp>now*2", 10, "wildcards do not apply"),
        ("timestamp>nowish", 10, "should be `now`"),
        ("timestamp<now-9999999w", 10, "outside the supported years"),
        (
            "timestamp<now+99999999999999999999s",
            10,
            "outside the supported years",
        ),
        ("timestamp:/2023/", 10, "regular expressions do not apply"),
        ("timestamp:2023*", 10, "wildcards do not apply"),
    ];
    for (text, position, reason) in cases {
        let err = parse(text).expect_err(text);
        assert_eq!(err.position, *position, "position for {text:?}: {err}");
        assert!(err.reason.contains(reason), "reason for {text:?}: {err}");
    }
}
