//! First pass: body → raw JSON text of each record, with syntax errors located.
//!
//! `serde_json`'s `RawValue` lets us check syntax and slice out each record's
//! text without building a tree; the second pass then reads one record at a
//! time. Each record keeps its byte offset in the body and its number, so
//! that an error found in either pass is located once, from one offset, as a
//! text line and byte column of the body (`RecordError::at`).

use std::cell::Cell;
use std::fmt;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Format, Limits};
use crate::error::{Error, RecordError, Result};

/// The text of one record and where it is.
pub(super) struct Raw<'a> {
    /// The record's JSON text, starting with `{` if it is an object.
    pub text: &'a str,
    /// Byte offset of `text` in the body.
    pub offset: usize,
    /// 1-based number of the record in the body.
    pub number: usize,
}

/// Checks UTF-8 and strips a byte-order mark.
pub(super) fn utf8<'a>(input: &'a [u8], format: Format, limits: &Limits) -> Result<&'a str> {
    match std::str::from_utf8(input) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            let offset = e.valid_up_to();
            // The bad byte is in the record after the last one complete
            // before it: frame the valid prefix to count those.
            let prefix = std::str::from_utf8(&input[..offset]).expect("valid up to here");
            let complete = match scan(prefix, format, limits) {
                Ok(raws) => raws.len(),
                Err(broken) => broken.complete,
            };
            Err(RecordError::at(input, offset, "invalid UTF-8")
                .in_record(complete + 1)
                .into())
        }
    }
}

/// Splits a body into records according to `format`.
pub(super) fn split<'a>(text: &'a str, format: Format, limits: &Limits) -> Result<Vec<Raw<'a>>> {
    scan(text, format, limits).map_err(|broken| broken.into_error(text))
}

/// Where framing broke: the byte offset, how many records were complete
/// before it, and why.
struct Broken {
    offset: usize,
    complete: usize,
    /// End of the last complete record (or of the opening `[`).
    last_end: usize,
    reason: Reason,
}

enum Reason {
    Syntax(String),
    /// More records than the limit, which is given.
    TooMany(usize),
    Empty,
}

impl Broken {
    fn new(offset: usize, reason: &str) -> Self {
        Broken {
            offset,
            complete: 0,
            last_end: 0,
            reason: Reason::Syntax(reason.to_owned()),
        }
    }

    /// The error of a body of `text`; the record is named if the problem
    /// lies in one (something other than separators between the last
    /// complete record and the problem).
    fn into_error(self, text: &str) -> Error {
        let reason = match self.reason {
            Reason::TooMany(max) => {
                return Error::TooLarge(format!(
                    "body has more than {max} records, the limit is {max}"
                ))
            }
            Reason::Empty => {
                return RecordError {
                    column: None,
                    ..RecordError::at(text.as_bytes(), 0, EMPTY_BODY)
                }
                .into()
            }
            Reason::Syntax(reason) => reason,
        };
        let end = (self.offset + 1).min(text.len());
        let between = text.get(self.last_end.min(end)..end).unwrap_or_default();
        let in_record = between
            .bytes()
            .any(|b| !b.is_ascii_whitespace() && !matches!(b, b',' | b'[' | b']'));
        let error = RecordError::at(text.as_bytes(), self.offset, reason);
        if in_record {
            error.in_record(self.complete + 1).into()
        } else {
            error.into()
        }
    }
}

const EMPTY_BODY: &str = "empty body: send a JSON object, an array of objects, or NDJSON";

/// [`split`] with the failure kept structured.
fn scan<'a>(text: &'a str, format: Format, limits: &Limits) -> Result<Vec<Raw<'a>>, Broken> {
    // JSON's whitespace only: a body of other (Unicode) whitespace, such as
    // a vertical tab, is not empty but a syntax error located at it.
    let body = text.trim_start_matches([' ', '\t', '\n', '\r']);
    if body.is_empty() {
        return Err(Broken {
            reason: Reason::Empty,
            ..Broken::new(0, "")
        });
    }
    if body.starts_with('[') {
        let at = text.len() - body.len();
        if format == Format::Ndjson {
            return Err(Broken::new(
                at,
                "expected a JSON object per line, found an array",
            ));
        }
        return array(text, limits);
    }
    lines(text)
}

/// A JSON array of records.
fn array<'a>(text: &'a str, limits: &Limits) -> Result<Vec<Raw<'a>>, Broken> {
    let parsed = Cell::new((0usize, 0usize));
    let mut de = serde_json::Deserializer::from_str(text);
    let result = de
        .deserialize_seq(ArrayVisitor {
            body: text,
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
                offset: offset_in(text, raw.get()),
                number: i + 1,
            })
            .collect()),
        Err(e) if e.to_string().starts_with(TOO_MANY) => Err(Broken {
            reason: Reason::TooMany(limits.max_records),
            ..Broken::new(0, "")
        }),
        Err(e) => {
            let (complete, last_end) = parsed.get();
            Err(Broken {
                complete,
                last_end,
                ..syntax(text, &e)
            })
        }
    }
}

const TOO_MANY: &str = "too many records";

struct ArrayVisitor<'c, 'de> {
    body: &'de str,
    /// Records complete so far, and the end offset of the last.
    parsed: &'c Cell<(usize, usize)>,
    max: usize,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_, 'de> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(raw) = seq.next_element::<&'de RawValue>()? {
            items.push(raw);
            let end = offset_in(self.body, raw.get()) + raw.get().len();
            self.parsed.set((items.len(), end));
            if items.len() > self.max {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
        }
        Ok(items)
    }
}

/// One object, or NDJSON: a stream of values, each starting on a new line.
fn lines(text: &str) -> Result<Vec<Raw<'_>>, Broken> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut out: Vec<Raw<'_>> = Vec::new();
    let mut previous_end = 0;
    loop {
        match stream.next() {
            None => return Ok(out),
            Some(Ok(raw)) => {
                let end = stream.byte_offset();
                let start = end - raw.get().len();
                if !out.is_empty() && !text[previous_end..start].contains('\n') {
                    return Err(Broken {
                        complete: out.len(),
                        last_end: previous_end,
                        ..Broken::new(
                            start,
                            "expected one record per line, found a second value on the same line",
                        )
                    });
                }
                previous_end = end;
                out.push(Raw {
                    text: raw.get(),
                    offset: start,
                    number: out.len() + 1,
                });
            }
            Some(Err(e)) => {
                return Err(Broken {
                    complete: out.len(),
                    last_end: previous_end,
                    ..syntax(text, &e)
                })
            }
        }
    }
}

/// The failure of a syntax error `e` in `text`.
fn syntax(text: &str, e: &serde_json::Error) -> Broken {
    let offset = error_offset(text, e);
    let mut reason = reason(e);
    // serde_json's word for `{"a":1,}` is "key must be a string". Bytes,
    // not `str` slices: serde_json's column can point inside a multi-byte
    // character (a control character after `Ⱥ`), and must not panic here.
    let (before, after) = text.as_bytes().split_at(offset);
    if after.starts_with(b"}") && before.trim_ascii_end().ends_with(b",") {
        reason = "trailing comma: a `,` must be followed by another member".to_owned();
    }
    Broken::new(offset, &reason)
}

/// Byte offset of `part`, a slice of `whole`, within `whole`.
fn offset_in(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// The byte offset in `text` of a `serde_json` error found parsing `text`:
/// its line and column (bytes read on that line, so the offending byte's
/// 1-based column, or 0 at the very start of a line) turned into an offset.
pub(super) fn error_offset(text: &str, e: &serde_json::Error) -> usize {
    let line_start = if e.line() <= 1 {
        0
    } else {
        text.bytes()
            .enumerate()
            .filter(|&(_, b)| b == b'\n')
            .nth(e.line() - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    (line_start + e.column().saturating_sub(1)).min(text.len())
}

/// `serde_json`'s message without its " at line L column C" suffix, which
/// the caller reports in structured form instead, and in our words where
/// its own are misleading.
pub(super) fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => &text[..i],
        None => &text,
    };
    match text {
        // serde_json's names for a `\u` escape of half a surrogate pair.
        "unexpected end of hex escape" | "lone leading surrogate in hex escape" => {
            LONE_SURROGATE.to_owned()
        }
        _ => text.to_owned(),
    }
}

const LONE_SURROGATE: &str = "lone UTF-16 surrogate in a \\u escape: a character above U+FFFF is written as a surrogate pair such as \\ud83d\\ude00";
