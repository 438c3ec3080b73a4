//! The record model: one log record as sent, plus the views search needs.
//!
//! A [`Record`] keeps the JSON text exactly as the client sent it (so search
//! returns it unchanged) next to three derived views that backends index and
//! the reference evaluator reads: the `timestamp` in UTC nanoseconds, the
//! `message` text, and the *keyword fields*, every other leaf flattened to a
//! dotted path and its text. Deriving these once, here, means every backend
//! and the evaluator agree on what a field's value is.
//!
//! Flattening rules (the contract for `field:value`):
//! - an object contributes its members under `prefix.key`;
//! - an array contributes each element under the same path (multi-valued,
//!   as in Elasticsearch); a query matches if any value matches;
//! - a string contributes itself; a number its JSON text as `serde_json`
//!   prints it (`3`, `-1`, `2.5`); a boolean `true`/`false`;
//! - `null` and empty objects or arrays contribute nothing (the field is absent).
//!
//! A value that was a JSON number is also kept as a [`Number`], for numeric
//! comparisons (`metadata.http.status:>=500`); a string that looks like a
//! number (`"500"`) is text only.
//!
//! `message` and the top-level `timestamp` are not keyword fields; every other
//! path is, including `metadata.*` and unknown top-level fields.

use crate::number::Number;
use crate::timestamp::Timestamp;

/// The names of the record fields the product knows by name.
pub mod fields {
    /// Full-text field; required, a string.
    pub const MESSAGE: &str = "message";
    /// RFC 3339 string; optional (receive time when missing).
    pub const TIMESTAMP: &str = "timestamp";
    /// Keyword, a string when present.
    pub const LEVEL: &str = "level";
    /// Keyword, a string when present.
    pub const RESOURCE_ID: &str = "resourceId";
    /// Keyword, a string when present.
    pub const TRACE_ID: &str = "traceId";
    /// Keyword, a string when present.
    pub const SPAN_ID: &str = "spanId";
    /// Keyword, a string when present.
    pub const COMMIT: &str = "commit";
    /// An object when present; its leaves are keyword fields `metadata.*`.
    pub const METADATA: &str = "metadata";
    /// Top-level fields that must be strings when present.
    pub const STRING_KEYWORDS: [&str; 5] = [LEVEL, RESOURCE_ID, TRACE_ID, SPAN_ID, COMMIT];
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    source: String,
    timestamp: Timestamp,
    message: String,
    keywords: Vec<(String, String)>,
    /// The keyword values that were JSON numbers: (index in `keywords`, number).
    numbers: Vec<(usize, Number)>,
}

impl Record {
    /// Assembles a record from parts already validated by the parser.
    pub(crate) fn from_parts(
        source: String,
        timestamp: Timestamp,
        message: String,
        keywords: Vec<(String, String)>,
    ) -> Self {
        Record {
            source,
            timestamp,
            message,
            keywords,
            numbers: Vec::new(),
        }
    }

    /// The record with `numbers`: (index in its keywords, number) of each
    /// keyword value that was a JSON number, in order.
    pub(crate) fn with_numbers(mut self, numbers: Vec<(usize, Number)>) -> Self {
        debug_assert!(numbers.iter().all(|&(i, _)| i < self.keywords.len()));
        self.numbers = numbers;
        self
    }

    /// The JSON object exactly as sent. When the client sent no `timestamp`,
    /// the receive time was inserted as the first member (see
    /// `docs/records.md`); nothing else is ever changed.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The record's time, UTC nanoseconds.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The full-text `message`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Every keyword field as `(dotted path, text)`, in document order; a
    /// multi-valued path appears once per value.
    pub fn keywords(&self) -> &[(String, String)] {
        &self.keywords
    }

    /// The values of one keyword path (empty when absent).
    pub fn keyword_values<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.keywords
            .iter()
            .filter(move |(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }

    /// The values of one keyword path that were JSON numbers.
    pub fn numbers<'a>(&'a self, path: &'a str) -> impl Iterator<Item = Number> + 'a {
        self.numbers
            .iter()
            .filter(move |&&(i, _)| self.keywords[i].0 == path)
            .map(|&(_, n)| n)
    }

    /// Every value that was a JSON number, as `(dotted path, number)`, in
    /// document order.
    pub fn all_numbers(&self) -> impl Iterator<Item = (&str, Number)> + '_ {
        self.numbers
            .iter()
            .map(|&(i, n)| (self.keywords[i].0.as_str(), n))
    }

    /// Whether the record has a value at `path` or below it (`path.*`).
    pub fn has_field(&self, path: &str) -> bool {
        self.keywords.iter().any(|(p, _)| {
            p == path
                || (p.len() > path.len() && p.starts_with(path) && p.as_bytes()[path.len()] == b'.')
        })
    }

    /// Size of the source text in bytes, the unit of byte limits and metrics.
    pub fn size(&self) -> usize {
        self.source.len()
    }

    /// Memory the record takes, in bytes: the struct and every heap block
    /// it owns, with a typical allocator overhead per block. An estimate
    /// for memory budgets (a record usually takes 3–4 times its
    /// [`Record::size`]: the message and every keyword path and value are
    /// kept beside the source text).
    pub fn memory(&self) -> usize {
        // Bookkeeping and rounding of one heap block by a typical allocator.
        const BLOCK: usize = 16;
        let strings: usize = self
            .keywords
            .iter()
            .map(|(path, value)| path.capacity() + value.capacity() + 2 * BLOCK)
            .sum();
        size_of::<Self>()
            + self.source.capacity()
            + self.message.capacity()
            + self.keywords.capacity() * size_of::<(String, String)>()
            + self.numbers.capacity() * size_of::<(usize, Number)>()
            + 3 * BLOCK
            + if self.numbers.capacity() > 0 {
                BLOCK
            } else {
                0
            }
            + strings
    }
}
