//! Fuzz check of the record parser ([`crate::parse_records`]).
//!
//! The parser reads untrusted request bodies, so it must never panic, must
//! enforce its limits, and every error must say where it is. The first byte
//! of the input picks the framing and a set of small limits (so limits are
//! reached by small inputs); the rest is the body, bytes as sent (invalid
//! UTF-8 included). Properties:
//!
//! - no panic, and the same input parses to the same result twice;
//! - `Ok`: no more records than `max_records`, a body within
//!   `max_body_bytes`; each record's text is a slice of the body (or that
//!   slice with the receive time inserted first, and then the record's time
//!   is the receive time); each keyword value and message token within
//!   `max_term_bytes`, the keywords' paths and values together within
//!   `Limits::indexed_bytes_limit`; `message`/`timestamp` are never keyword
//!   paths; and
//!   the record's stored text parses back, alone, to the same record;
//! - `Err`: an invalid record names a line and 1-based column that exist in
//!   the body (no column only for an empty body), and its `Display` shows
//!   them; only `InvalidRecord` and `TooLarge` are possible;
//! - `Auto` and `Ndjson` framing agree on every body that does not start
//!   with `[`, and `Ndjson` refuses one that does.

use crate::error::{Error, RecordError};
use crate::parse::{parse_records, Format, Limits, ParseOptions};
use crate::record::{fields, Record};
use crate::testkit::corpus::RECEIVE_TIME;
use crate::tokenize::tokenize;

/// Limits chosen by bits 1–6 of the first input byte.
fn limits(choice: u8) -> Limits {
    let pick = |shift: u8, options: [usize; 4]| options[usize::from((choice >> shift) & 3)];
    Limits::default()
        .max_record_bytes(pick(1, [48, 200, 4096, 1 << 20]))
        .max_records(pick(3, [1, 3, 50, 100_000]))
        .max_depth(pick(5, [1, 2, 5, 32]))
        .max_term_bytes(pick(1, [4, 16, 64, 32_000]))
        .max_body_bytes(if choice & 0x80 != 0 { 64 } else { 64 << 20 })
}

/// Checks [`parse_records`] on one fuzz input (see the module doc).
pub fn check_records(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let format = if choice & 1 == 0 {
        Format::Auto
    } else {
        Format::Ndjson
    };
    let options = ParseOptions::default()
        .limits(limits(choice))
        .receive_time(RECEIVE_TIME)
        .format(format);
    let result = parse_records(body, &options);
    let again = parse_records(body, &options);
    assert_eq!(
        format!("{result:?}"),
        format!("{again:?}"),
        "parsing is not deterministic"
    );
    match &result {
        Ok(records) => check_ok(body, records, &options),
        Err(e) => check_err(body, e),
    }
    let other = options.format(match format {
        Format::Ndjson => Format::Auto,
        _ => Format::Ndjson,
    });
    let text = String::from_utf8_lossy(body);
    let starts_array = json_trim(&text).starts_with('[');
    let other_result = parse_records(body, &other);
    if starts_array {
        let ndjson = if format == Format::Ndjson {
            &result
        } else {
            &other_result
        };
        assert!(
            matches!(ndjson, Err(Error::InvalidRecord(_) | Error::TooLarge(_))),
            "NDJSON framing accepted an array: {ndjson:?}"
        );
    } else {
        assert_eq!(
            format!("{result:?}"),
            format!("{other_result:?}"),
            "Auto and Ndjson framing disagree on a body that is not an array"
        );
    }
}

fn check_ok(body: &[u8], records: &[Record], options: &ParseOptions) {
    let limits = &options.limits;
    assert!(
        body.len() <= limits.max_body_bytes,
        "body over the limit accepted"
    );
    assert!(
        records.len() <= limits.max_records,
        "{} records accepted, the limit is {}",
        records.len(),
        limits.max_records
    );
    let text = std::str::from_utf8(body).expect("an accepted body is UTF-8");
    // Room for the inserted `"timestamp":"…",` when parsing a record back.
    let roomy = ParseOptions {
        limits: limits
            .max_record_bytes(limits.max_record_bytes + 64)
            .max_body_bytes(usize::MAX),
        ..*options
    };
    for record in records {
        let source = record.source();
        if !text.contains(source) {
            let inserted = format!(
                "{{\"{}\":\"{}\"",
                fields::TIMESTAMP,
                RECEIVE_TIME.to_rfc3339()
            );
            let rest = source
                .strip_prefix(&inserted)
                .unwrap_or_else(|| panic!("record text is not from the body: {source}"));
            let rest = rest.strip_prefix(',').unwrap_or(rest);
            assert!(
                text.contains(&format!("{{{rest}")),
                "record text is the body's with more than a timestamp inserted: {source}"
            );
            assert_eq!(
                record.timestamp(),
                RECEIVE_TIME,
                "inserted time is not the receive time"
            );
        }
        for (path, value) in record.keywords() {
            assert!(
                path != fields::MESSAGE && path != fields::TIMESTAMP,
                "`{path}` became a keyword field"
            );
            assert!(
                value.len() <= limits.max_term_bytes,
                "keyword `{path}` over the term limit"
            );
        }
        let indexed: usize = record
            .keywords()
            .iter()
            .map(|(path, value)| path.len() + value.len())
            .sum();
        assert!(
            indexed <= limits.indexed_bytes_limit(),
            "keywords take {indexed} bytes to index, over the limit"
        );
        for token in tokenize(record.message()) {
            assert!(
                token.len() <= limits.max_term_bytes,
                "message token over the term limit"
            );
        }
        let back = parse_records(source.as_bytes(), &roomy);
        assert_eq!(
            back.as_ref().ok(),
            Some(&vec![record.clone()]),
            "stored text does not parse back to the same record: {source} → {back:?}"
        );
    }
}

fn check_err(body: &[u8], error: &Error) {
    match error {
        Error::InvalidRecord(r) => check_location(body, r, &error.to_string()),
        Error::TooLarge(reason) => assert!(!reason.is_empty()),
        other => panic!("parse_records returned {other:?}"),
    }
}

/// The line and column of `r` exist in `body`, and `shown` names them.
fn check_location(body: &[u8], r: &RecordError, shown: &str) {
    assert!(!r.reason.is_empty(), "error without a reason: {r:?}");
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    assert!(
        r.line >= 1 && r.line <= lines.len(),
        "line {} of a body of {} lines: {r:?}",
        r.line,
        lines.len()
    );
    let blank = json_trim(&String::from_utf8_lossy(body)).is_empty();
    match r.column {
        None => assert!(blank, "no column for a non-empty body: {r:?}"),
        Some(column) => {
            let line = lines[r.line - 1];
            assert!(
                column >= 1 && column <= line.len() + 1,
                "column {column} of a line of {} bytes: {r:?}",
                line.len()
            );
            assert!(
                shown.contains(&format!("line {}, column {column}", r.line)),
                "the message does not show the location: {shown}"
            );
        }
    }
    if let Some(record) = r.record {
        assert!(record >= 1, "record 0: {r:?}");
    }
}

/// `text` without a leading byte-order mark and JSON whitespace.
fn json_trim(text: &str) -> &str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.trim_start_matches([' ', '\t', '\n', '\r'])
}
