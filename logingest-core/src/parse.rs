//! Parsing request bodies into records (stub, being written).
use crate::error::Result;
use crate::record::Record;
use crate::timestamp::Timestamp;

/// Limits enforced while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest record, bytes of JSON text. Default 1 MiB.
    pub max_record_bytes: usize,
    /// Largest request body, bytes. Default 64 MiB.
    pub max_batch_bytes: usize,
    /// Most records in one request. Default 100,000.
    pub max_batch_records: usize,
    /// Deepest nesting of objects and arrays, the record object counting as 1. Default 32.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_record_bytes: 1 << 20, max_batch_bytes: 64 << 20, max_batch_records: 100_000, max_depth: 32 }
    }
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Detect: `[` starts an array, otherwise one object or NDJSON.
    #[default]
    Auto,
    /// One JSON object per line.
    Ndjson,
}

/// Options of [`parse_records`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Limits.
    pub limits: Limits,
    /// Time given to records without `timestamp`; `None` = now.
    pub receive_time: Option<Timestamp>,
    /// Framing.
    pub format: Format,
}

/// Parses a body into records.
pub fn parse_records(_input: &[u8], _options: &ParseOptions) -> Result<Vec<Record>> {
    todo!()
}
