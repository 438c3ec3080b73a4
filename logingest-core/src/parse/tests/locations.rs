//! Every record error names the record, line, 1-based column and field
//! that exist, whatever broke: syntax, UTF-8, a field rule, a number out of
//! range, an escape, a body cut short.

use super::*;

/// One bad body and where its error must point.
struct Case {
    body: &'static [u8],
    record: Option<usize>,
    line: usize,
    column: usize,
    field: Option<&'static str>,
    reason: &'static str,
}

const fn case(
    body: &'static [u8],
    record: Option<usize>,
    (line, column): (usize, usize),
    field: Option<&'static str>,
    reason: &'static str,
) -> Case {
    Case {
        body,
        record,
        line,
        column,
        field,
        reason,
    }
}

const CASES: &[Case] = &[
    // Syntax, in an object, NDJSON and an array.
    case(
        br#"{"message":"a",}"#,
        Some(1),
        (1, 16),
        None,
        "trailing comma",
    ),
    case(
        b"{\"message\":\"a\"}\n{\"message\":\"b\",}",
        Some(2),
        (2, 16),
        None,
        "trailing comma",
    ),
    case(
        br#"[{"message":"a"},{"message":"b",}]"#,
        Some(2),
        (1, 33),
        None,
        "trailing comma",
    ),
    case(
        b"[{\"message\":\"a\"},\n {\"message\" \"b\"}]",
        Some(2),
        (2, 13),
        None,
        "expected `:`",
    ),
    case(
        br#"[{"message":"a"},]"#,
        None,
        (1, 18),
        None,
        "trailing comma",
    ),
    // Cut short: inside a record, and between records (no record to name).
    case(br#"[{"message":"a"},{"mess"#, Some(2), (1, 23), None, "EOF"),
    case(br#"[{"message":"a"},"#, None, (1, 17), None, "EOF"),
    case(b"[{\"message\":\"a\"},\n", None, (2, 1), None, "EOF"),
    case(
        b"{\"message\":\"a\"}\n{\"message\":\n",
        Some(2),
        (3, 1),
        None,
        "EOF",
    ),
    // Escapes and numbers, with the field they are in.
    case(
        br#"{"message":"\ud800"}"#,
        Some(1),
        (1, 19),
        Some("message"),
        "lone UTF-16 surrogate",
    ),
    case(
        br#"{"message":"m","metadata":{"s":"\udc00"}}"#,
        Some(1),
        (1, 38),
        Some("metadata.s"),
        "lone UTF-16 surrogate",
    ),
    case(
        b"{\"message\":\"m\"}\n{\"message\":\"m\",\"metadata\":{\"n\":1e400}}",
        Some(2),
        (2, 36),
        Some("metadata.n"),
        "number out of range",
    ),
    case(
        br#"[{"message":"m"},{"message":"m","x":[1,-1e999]}]"#,
        Some(2),
        (1, 45),
        Some("x"),
        "number out of range",
    ),
    // Field rules: the column is the offending value's last byte.
    case(
        b"{\"message\":\"m\"}\n\n{\"message\":\"m\",\"level\":5}",
        Some(2),
        (3, 24),
        Some("level"),
        "expected a string, found a number",
    ),
    case(
        br#"[{"message":"m"}, {"message":"m","metadata":{"a":1,"a":2}}]"#,
        Some(2),
        (1, 54),
        Some("metadata.a"),
        "duplicate field",
    ),
    // Rules about a whole record point at its first byte.
    case(
        b"{\"message\":\"m\"}\n  {\"level\":\"x\"}",
        Some(2),
        (2, 3),
        Some("message"),
        "required field is missing",
    ),
    case(
        br#"[{"message":"m"}, 7]"#,
        Some(2),
        (1, 19),
        None,
        "expected a JSON object, found a number",
    ),
    // Framing.
    case(
        br#"{"message":"a"} {"message":"b"}"#,
        Some(2),
        (1, 17),
        None,
        "same line",
    ),
    // UTF-8, in the second record of an array.
    case(
        b"[{\"message\":\"a\"},\n{\"message\":\"\xff\"}]",
        Some(2),
        (2, 13),
        None,
        "invalid UTF-8",
    ),
];

#[test]
fn every_error_names_record_line_column_and_field() {
    let mut wrong = Vec::new();
    for c in CASES {
        let body = String::from_utf8_lossy(c.body);
        let e = match parse_records(c.body, &ParseOptions::default()) {
            Err(Error::InvalidRecord(e)) => e,
            other => {
                wrong.push(format!("{body:?}: {other:?}"));
                continue;
            }
        };
        let got = (e.record, e.line, e.column, e.field.as_deref());
        let want = (c.record, c.line, Some(c.column), c.field);
        if got != want || !e.reason.contains(c.reason) {
            wrong.push(format!(
                "{body:?}: got {got:?} `{e}`, wanted {want:?} `{}`",
                c.reason
            ));
        }
        // The position is in the structured fields, never in the reason.
        if e.reason.contains(" line ") || e.reason.contains("column") {
            wrong.push(format!("{body:?}: position in the reason: {}", e.reason));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_empty_body_has_a_line_but_no_column() {
    let e = record_error(" \n ");
    assert_eq!((e.record, e.line, e.column), (None, 1, None), "{e}");
}

#[test]
fn the_message_names_the_location_once() {
    let e = record_error("{\"message\":\"m\"}\n{\"message\":\"m\",\"level\":5}");
    assert_eq!(
        e.to_string(),
        "record 2 (line 2, column 24), field `level`: expected a string, found a number"
    );
    let e = record_error(r#"[{"message":"a"},"#);
    assert_eq!(
        e.to_string(),
        "line 1, column 17: EOF while parsing a value"
    );
}

/// Found by the `records` fuzz target: serde_json's column for a control
/// character after a multi-byte character points inside that character,
/// and slicing the text there panicked. The byte column is reported as is.
#[test]
fn a_column_inside_a_multibyte_character_does_not_panic() {
    let e = record_error("{\"message\":\"ȺȺȺ\u{0}\"}");
    assert_eq!((e.record, e.line), (Some(1), 1), "{e}");
    assert!(e.reason.contains("control character"), "{e}");
    assert!(e.column.is_some_and(|c| (1..=20).contains(&c)), "{e}");
}

/// Found by the `records` fuzz target: a body of whitespace that JSON does
/// not know (a vertical tab, an em space) was called empty, without a
/// column. It is a syntax error at that character.
#[test]
fn unicode_whitespace_is_not_an_empty_body() {
    for body in [" \n\u{b}", "\u{2003}", "\u{2003}[]"] {
        let e = record_error(body);
        assert!(
            e.column.is_some() && !e.reason.starts_with("empty body"),
            "{body:?}: {e}"
        );
    }
}
