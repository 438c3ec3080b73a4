//! The check of the `bulk` fuzz target: [`super::items::parse_bulk`] on an
//! arbitrary body, as the handler calls it. Compiled into the server's tests
//! (which replay the seeds of `fuzz/corpus/bulk/` on stable) and included by
//! the fuzz target (`fuzz/fuzz_targets/bulk.rs`) with the parser's file.
//!
//! The first input byte picks the path (`/_bulk` or `/{index}/_bulk`) and
//! the limits (default, or small ones so limits are reached by small
//! bodies); the rest is the body (invalid UTF-8 replaced: the handler
//! refuses it before parsing). Properties:
//!
//! - no panic;
//! - `Ok`: at most `max_records` items; the stored items number the records
//!   0, 1, 2… in order; each record's stored text parses back, alone and as
//!   our own format, to the same record (what a backend rebuilding its
//!   index relies on); every failed item has a reason, and a document error
//!   names a line and column that exist in the body (for the ECS field
//!   errors, the column of the field's value);
//! - `Err`: a whole-request error names a line and 1-based column that
//!   exist in the body; only `InvalidRecord` and `TooLarge` are possible.

use logingest::{parse_records, Error, Format, Limits, ParseOptions};

use super::items::{parse_bulk, Item};

/// Checks the `_bulk` parser on one fuzz input (see the module doc).
pub(crate) fn check_bulk(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    let index = (choice & 1 != 0).then_some("path-index");
    let limits = if choice & 2 == 0 {
        Limits::default()
    } else {
        let pick = |shift: u8, options: [usize; 4]| options[usize::from((choice >> shift) & 3)];
        Limits::default()
            .max_record_bytes(pick(2, [40, 120, 400, 1 << 20]))
            .max_records(pick(4, [1, 2, 5, 100]))
            .max_depth(pick(6, [1, 2, 4, 32]))
            .max_term_bytes(pick(2, [4, 16, 64, 32_000]))
    };
    match parse_bulk(&text, index, &limits, |_| Ok::<(), Error>(())) {
        Ok((items, records)) => {
            assert!(
                items.len() <= limits.max_records,
                "{} items accepted",
                items.len()
            );
            let stored: Vec<usize> = items
                .iter()
                .filter_map(|item| match item {
                    Item::Store { record, .. } => Some(*record),
                    Item::Failed { .. } => None,
                })
                .collect();
            assert_eq!(
                stored,
                (0..records.len()).collect::<Vec<_>>(),
                "items number the records wrongly"
            );
            let roomy = ParseOptions::default()
                .limits(
                    limits
                        .max_record_bytes(usize::MAX)
                        .max_body_bytes(usize::MAX),
                )
                .format(Format::Ndjson);
            for record in &records {
                let back = parse_records(record.source().as_bytes(), &roomy);
                assert_eq!(
                    back.as_ref().ok(),
                    Some(&vec![record.clone()]),
                    "stored text does not parse back to the same record: {} → {back:?}",
                    record.source()
                );
            }
            for item in &items {
                if let Item::Failed { reason, kind, .. } = item {
                    assert!(
                        !reason.is_empty(),
                        "a failed item without a reason: {item:?}"
                    );
                    if *kind == "document_parsing_exception" && !reason.starts_with("too large") {
                        located(&text, reason);
                    }
                }
            }
        }
        Err(Error::InvalidRecord(r)) => {
            let shown = r.to_string();
            assert!(!r.reason.is_empty(), "an error without a reason: {r:?}");
            assert!(
                r.column.is_some(),
                "a whole-request error without a column: {shown}"
            );
            located(&text, &shown);
        }
        Err(Error::TooLarge(reason)) => assert!(!reason.is_empty()),
        Err(other) => panic!("parse_bulk returned {other:?}"),
    }
}

/// `shown` names `line L, column C` and both exist in `text`.
fn located(text: &str, shown: &str) {
    let Some((_, rest)) = shown.split_once("line ") else {
        panic!("no line in {shown:?}");
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let line: usize = digits
        .parse()
        .unwrap_or_else(|_| panic!("no line number in {shown:?}"));
    let rest = &rest[digits.len()..];
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        line >= 1 && line <= lines.len(),
        "line {line} of {} lines: {shown}",
        lines.len()
    );
    let Some(rest) = rest.strip_prefix(", column ") else {
        panic!("no column in {shown:?}");
    };
    let column: usize = rest
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no column number in {shown:?}"));
    let length = lines[line - 1].len();
    assert!(
        column >= 1 && column <= length + 1,
        "column {column} of a line of {length} bytes: {shown}"
    );
}

#[cfg(test)]
mod tests {
    use logingest::testkit::fuzz::replay;

    /// The seeds of the `bulk` fuzz target, replayed on stable.
    #[test]
    fn bulk_seeds() {
        replay(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/bulk"),
            super::check_bulk,
        );
    }
}
