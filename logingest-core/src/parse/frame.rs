//! First pass: body → raw JSON text of each record, with syntax errors located.
//!
//! `serde_json`'s `RawValue` lets us check syntax and slice out each record's
//! text without building a tree; the second pass then reads one record at a
//! time. Line numbers are 1-based text lines for an object or NDJSON, and
//! 1-based element indexes for an array, as the HTTP contract promises.

use std::cell::Cell;
use std::fmt;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Format, Limits};
use crate::error::{Error, RecordError, Result};

/// The text of one record and where it starts.
pub(super) struct Raw<'a> {
    /// The record's JSON text, starting with `{` if it is an object.
    pub text: &'a str,
    /// 1-based line (object, NDJSON) or array index.
    pub line: usize,
}

/// Checks UTF-8 and strips a byte-order mark.
pub(super) fn utf8(input: &[u8]) -> Result<&str> {
    match std::str::from_utf8(input) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            let valid = &input[..e.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            Err(RecordError {
                line,
                field: None,
                column: Some(e.valid_up_to() - line_start + 1),
                reason: "invalid UTF-8".to_owned(),
            }
            .into())
        }
    }
}

/// Splits a body into records according to `format`.
pub(super) fn split<'a>(text: &'a str, format: Format, limits: &Limits) -> Result<Vec<Raw<'a>>> {
    let body = text.trim_start();
    if body.is_empty() {
        return Err(located(
            1,
            None,
            "empty body: send a JSON object, an array of objects, or NDJSON",
        ));
    }
    if body.starts_with('[') {
        if format == Format::Ndjson {
            let line = line_of(text, text.len() - body.len());
            return Err(located(
                line,
                None,
                "expected a JSON object per line, found an array",
            ));
        }
        return array(text, limits);
    }
    lines(text)
}

/// A JSON array of records: syntax errors name the element index.
fn array<'a>(text: &'a str, limits: &Limits) -> Result<Vec<Raw<'a>>> {
    let parsed = Cell::new(0usize);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = de
        .deserialize_seq(ArrayVisitor {
            parsed: &parsed,
            max: limits.max_records,
        })
        .and_then(|items| de.end().map(|()| items));
    match result {
        Ok(items) => Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, raw)| Raw {
                text: raw.get(),
                line: i + 1,
            })
            .collect()),
        Err(e) if e.to_string().starts_with(TOO_MANY) => Err(Error::TooLarge(format!(
            "body has more than {} records, the limit is {}",
            limits.max_records, limits.max_records
        ))),
        Err(e) => Err(RecordError {
            line: parsed.get() + 1,
            field: None,
            column: None,
            reason: format!(
                "{} (text line {}, column {})",
                reason(&e),
                e.line(),
                e.column()
            ),
        }
        .into()),
    }
}

const TOO_MANY: &str = "too many records";

struct ArrayVisitor<'c> {
    parsed: &'c Cell<usize>,
    max: usize,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            items.push(raw);
            self.parsed.set(items.len());
            if items.len() > self.max {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
        }
        Ok(items)
    }
}

/// One object, or NDJSON: a stream of values, each starting on a new line.
fn lines(text: &str) -> Result<Vec<Raw<'_>>> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut out = Vec::new();
    let mut line = 1;
    let mut scanned = 0;
    let mut previous_end: Option<usize> = None;
    loop {
        match stream.next() {
            None => return Ok(out),
            Some(Ok(raw)) => {
                let end = stream.byte_offset();
                let start = end - raw.get().len();
                line += count_newlines(&text[scanned..start]);
                scanned = start;
                if let Some(prev) = previous_end {
                    if !text[prev..start].contains('\n') {
                        return Err(located(
                            line,
                            None,
                            "expected one record per line, found a second value on the same line",
                        ));
                    }
                }
                previous_end = Some(end);
                out.push(Raw {
                    text: raw.get(),
                    line,
                });
            }
            Some(Err(e)) => {
                return Err(RecordError {
                    line: e.line(),
                    field: None,
                    column: Some(e.column()),
                    reason: reason(&e),
                }
                .into())
            }
        }
    }
}

fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

fn line_of(text: &str, offset: usize) -> usize {
    count_newlines(&text[..offset]) + 1
}

fn located(line: usize, field: Option<String>, reason: &str) -> Error {
    RecordError {
        line,
        field,
        column: None,
        reason: reason.to_owned(),
    }
    .into()
}

/// `serde_json`'s message without its " at line L column C" suffix, which
/// the caller reports in structured form instead.
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}
