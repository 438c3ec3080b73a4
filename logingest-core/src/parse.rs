//! Request bodies to records: framing, JSON syntax, field rules, limits.
//!
//! Parsing runs in two passes so that every error can say exactly where it
//! is. The first pass ([`frame`]) splits the body into the raw JSON text of
//! each record (one object, a JSON array, or NDJSON) and reports syntax errors
//! with the text line and column. The second pass ([`fields`]) walks one
//! record's JSON once, checking the field rules of `docs/records.md` and
//! collecting the keyword fields, and reports problems with the record
//! number and the dotted field path. A body is valid whole or rejected whole:
//! the first problem aborts the parse and nothing is returned.

mod ecs;
mod fields;
mod frame;
#[cfg(test)]
mod tests;
mod writer;

use crate::error::{Error, RecordError, Result};
use crate::record::Record;
use crate::timestamp::Timestamp;

pub use ecs::parse_ecs_document;
pub use writer::{FieldError, RecordWriter};

/// Limits enforced while parsing. Every limit violation is an error naming
/// the limit; nothing is truncated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest record, in bytes of JSON text. Default 1 MiB.
    pub max_record_bytes: usize,
    /// Largest request body, in bytes. Default 64 MiB.
    pub max_body_bytes: usize,
    /// Most records in one request. Default 100,000.
    pub max_records: usize,
    /// Deepest nesting of objects and arrays, the record object counting as 1. Default 32.
    pub max_depth: usize,
    /// Longest keyword value, and longest message token after lowercasing,
    /// in bytes. Default 32,000: every backend must index each of them as one
    /// term, and Lucene (Elasticsearch, OpenSearch) refuses terms over 32,766
    /// bytes, tantivy over 65,530. Refusing is better than a record that some
    /// backend silently cannot find.
    pub max_term_bytes: usize,
    /// Most bytes a record's keyword fields may take to index: each value
    /// counts with its dotted path, which an array repeats for every
    /// element. `None` (the default): four times `max_record_bytes`.
    ///
    /// Why: without it a record within the size limit could make work and
    /// memory quadratic in its size (a key of half a megabyte over an
    /// array of a hundred thousand elements is 50 GB of paths) before any
    /// budget sees it. Ordinary records index one to two times their text.
    pub max_indexed_bytes: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: Limits::DEFAULT_MAX_RECORD_BYTES,
            max_body_bytes: Limits::DEFAULT_MAX_BODY_BYTES,
            max_records: Limits::DEFAULT_MAX_RECORDS,
            max_depth: 32,
            max_term_bytes: 32_000,
            max_indexed_bytes: None,
        }
    }
}

impl Limits {
    /// Default of `max_record_bytes`: 1 MiB.
    pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;
    /// Default of `max_body_bytes`: 64 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;
    /// Default of `max_records`: 100,000.
    pub const DEFAULT_MAX_RECORDS: usize = 100_000;

    /// Sets the largest record in bytes.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Sets the largest body in bytes.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the most records per request.
    pub fn max_records(mut self, records: usize) -> Self {
        self.max_records = records;
        self
    }

    /// Sets the longest keyword value and message token, in bytes.
    pub fn max_term_bytes(mut self, bytes: usize) -> Self {
        self.max_term_bytes = bytes;
        self
    }

    /// Sets the most bytes a record's keyword fields may take to index.
    pub fn max_indexed_bytes(mut self, bytes: usize) -> Self {
        self.max_indexed_bytes = Some(bytes);
        self
    }

    /// The most bytes a record's keyword fields may take to index:
    /// `max_indexed_bytes`, or four times `max_record_bytes`.
    pub fn indexed_bytes_limit(&self) -> usize {
        self.max_indexed_bytes
            .unwrap_or(self.max_record_bytes.saturating_mul(4))
    }

    /// Sets the deepest nesting.
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }
}

/// How a body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// Detect: a body starting with `[` is a JSON array of records, otherwise
    /// it is one object or NDJSON. The default.
    #[default]
    Auto,
    /// One JSON object per line (`application/x-ndjson`); a body starting with
    /// `[` is an error rather than an array.
    Ndjson,
}

/// Options of [`parse_records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Limits. Default [`Limits::default`].
    pub limits: Limits,
    /// Time given to records that have no `timestamp`; `None` (the default)
    /// means the system clock at the start of parsing.
    pub receive_time: Option<Timestamp>,
    /// Framing. Default [`Format::Auto`].
    pub format: Format,
}

impl ParseOptions {
    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the receive time.
    pub fn receive_time(mut self, time: Timestamp) -> Self {
        self.receive_time = Some(time);
        self
    }

    /// Sets the framing.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }
}

/// Parses a request body (one JSON object, a JSON array of objects, or
/// NDJSON) into records, all or nothing.
///
/// Errors: [`Error::TooLarge`] when the body or the record count exceeds a
/// limit; [`Error::InvalidRecord`] naming the line (or array index), field
/// and reason of the first bad record otherwise. An empty body is an error.
pub fn parse_records(input: &[u8], options: &ParseOptions) -> Result<Vec<Record>> {
    parse_records_metered(input, options, |_| Ok(()))
}

/// Parses one record read back from storage (its [`Record::source`] as
/// stored), as backends do to rebuild an index or to verify a candidate.
///
/// The record passed the ingest limits when it was accepted, whatever they
/// were then; re-checking it against today's defaults could refuse a record
/// that is stored. So only the term limit applies (it is what an index can
/// hold). `seq` only names the record in an error.
pub fn parse_stored_record(seq: u64, source: &str) -> Result<Record> {
    let limits = Limits::default()
        .max_record_bytes(usize::MAX)
        .max_body_bytes(usize::MAX)
        .max_records(usize::MAX)
        .max_depth(usize::MAX);
    let options = ParseOptions::default()
        .limits(limits)
        .receive_time(Timestamp(0));
    let mut records = parse_records(source.as_bytes(), &options)?;
    match (records.pop(), records.is_empty()) {
        (Some(record), true) => Ok(record),
        _ => Err(Error::backend_msg(
            false,
            format!("stored record {seq} is not one JSON object"),
        )),
    }
}

/// [`parse_records`], telling `meter` about the memory the result takes as
/// it grows, before each record is made: first the record list (once the
/// body is framed), then each record's [`Record::memory`]. An error from
/// `meter` stops parsing and is returned as is.
///
/// Why: a server holds the records of many requests at once, and the
/// memory of parsed records is not a fixed multiple of the body (many small
/// fields cost more than their text). With a meter, a caller can reserve
/// that memory from a budget as it is needed and refuse a request the
/// moment the budget runs out, instead of finding out after allocating.
pub fn parse_records_metered<E: From<Error>>(
    input: &[u8],
    options: &ParseOptions,
    mut meter: impl FnMut(usize) -> std::result::Result<(), E>,
) -> std::result::Result<Vec<Record>, E> {
    let limits = &options.limits;
    if input.len() > limits.max_body_bytes {
        return Err(Error::TooLarge(format!(
            "body is {} bytes, the limit is {}",
            input.len(),
            limits.max_body_bytes
        ))
        .into());
    }
    let text = frame::utf8(input, options.format, limits)?;
    let raws = frame::split(text, options.format, limits)?;
    if raws.len() > limits.max_records {
        return Err(Error::TooLarge(format!(
            "body has {} records, the limit is {}",
            raws.len(),
            limits.max_records
        ))
        .into());
    }
    meter(raws.len() * (size_of::<frame::Raw>() + size_of::<Record>()))?;
    let receive_time = options.receive_time.unwrap_or_else(Timestamp::now);
    let mut records = Vec::with_capacity(raws.len());
    for raw in raws {
        if raw.text.len() > limits.max_record_bytes {
            let reason = format!(
                "record is {} bytes, the limit is {}",
                raw.text.len(),
                limits.max_record_bytes
            );
            return Err(Error::from(
                RecordError::at(text.as_bytes(), raw.offset, reason).in_record(raw.number),
            )
            .into());
        }
        let record = fields::record(raw.text, receive_time, limits).map_err(|problem| {
            let offset = raw.offset + problem.offset;
            let mut error =
                RecordError::at(text.as_bytes(), offset, problem.reason).in_record(raw.number);
            error.field = problem.field;
            Error::from(error)
        })?;
        meter(record.memory() - size_of::<Record>())?;
        records.push(record);
    }
    Ok(records)
}
