//! Errors of the whole crate.
//!
//! One enum, [`Error`], with variants a caller can act on: a bad record says
//! where it is, a bad query says at which byte, a full queue is distinct from a
//! closed one, and a backend failure says whether retrying may help. Errors
//! from storage crates never appear in this crate's signatures: a backend
//! boxes them as the `source` of [`Error::Backend`], as `object_store` does.
//!
//! A full disk has a variant of its own, [`Error::DiskFull`], because it is
//! neither a bug nor a passing hiccup: nothing more can be stored until an
//! operator frees space, and every layer (the HTTP answer, the health check)
//! must be able to say so in those words. Backends classify by error kind
//! ([`is_disk_full`] for I/O errors, the storage engine's own code for the
//! rest), never by matching message text.
//!
//! [`Error`] is `Clone` because one failed batch must deliver the same error
//! to every caller waiting on it.

use std::fmt;
use std::sync::Arc;

mod operation;

pub use operation::{IngestError, OpenError, SearchError, WriteError};

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in a request body a bad record is, and what is wrong with it.
///
/// Every location that exists is named: the record (its 1-based number in
/// the body), the text line and the 1-based byte column where the problem
/// is, and the dotted path of the field. A body cut short between records
/// has no record to name, and a rule about a whole record (a missing
/// `message`) no field; those are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordError {
    /// 1-based number of the record in the body: the element of a JSON
    /// array, the record of an NDJSON body (blank lines are not records);
    /// `None` when the problem is outside every record (a body cut short
    /// after a complete record, a stray `,` or `]`).
    pub record: Option<usize>,
    /// 1-based text line of the body where the problem is.
    pub line: usize,
    /// 1-based byte column within that line where the problem is: where
    /// JSON syntax or UTF-8 broke; the offending value's last byte for a
    /// value that breaks a rule (a field of the wrong type, a record that is
    /// not an object); the record's first byte for a rule about the whole
    /// record (its size, a missing `message`).
    /// `None` only for an empty body.
    pub column: Option<usize>,
    /// Dotted path of the offending field, if the problem is in one field.
    pub field: Option<String>,
    /// Human-readable reason, without the location.
    pub reason: String,
}

impl RecordError {
    /// An error at byte `offset` of `body`, outside any record or field;
    /// the line and column are computed from the offset (linear in
    /// `offset`, done once per error).
    pub fn at(body: &[u8], offset: usize, reason: impl Into<String>) -> Self {
        let (line, column) = location(body, offset);
        RecordError {
            record: None,
            line,
            column: Some(column),
            field: None,
            reason: reason.into(),
        }
    }

    /// Names the record the problem is in.
    pub fn in_record(mut self, record: usize) -> Self {
        self.record = Some(record);
        self
    }

    /// Names the field the problem is in.
    pub fn in_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

/// The 1-based line and 1-based byte column of byte `offset` of `text`
/// (an offset past the end is located just after the last byte).
pub(crate) fn location(text: &[u8], offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    (line, before.len() - line_start + 1)
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(record) = self.record {
            write!(f, "record {record} (line {}", self.line)?;
        } else {
            write!(f, "line {}", self.line)?;
        }
        if let Some(column) = self.column {
            write!(f, ", column {column}")?;
        }
        if self.record.is_some() {
            f.write_str(")")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for RecordError {}

/// A query that does not parse or cannot mean anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// Byte offset into the query string where the problem starts.
    pub position: usize,
    /// Human-readable reason, without the position.
    pub reason: String,
}

impl QueryError {
    /// A query error at `position` with `reason`.
    pub fn new(position: usize, reason: impl Into<String>) -> Self {
        QueryError {
            position,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.position, self.reason)
    }
}

impl std::error::Error for QueryError {}

/// The boxed, shareable source of a backend error.
pub type BoxedSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Every error this crate and its backends report.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A record of a request is malformed; nothing of the request was stored.
    #[error("invalid record: {0}")]
    InvalidRecord(RecordError),
    /// A query does not parse or is not meaningful.
    #[error("invalid query: {0}")]
    InvalidQuery(QueryError),
    /// A request parameter other than the query is invalid (bad cursor, zero limit...).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A request or record exceeds a configured limit (size, count, depth).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The ingest queue is full and the policy is to reject; retry later.
    #[error("ingest queue is full")]
    QueueFull,
    /// Waiting for something (queue space, durability, visibility) timed out.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The ingester or backend is closed.
    #[error("closed")]
    Closed,
    /// The backend's storage has no room left (disk full, or a quota
    /// reached): nothing of the failed call was stored. Retrying succeeds
    /// once space is freed.
    #[error("disk full: {source}")]
    DiskFull {
        /// The underlying failure (the storage engine's own error).
        source: BoxedSource,
    },
    /// The backend failed. `retryable` says whether the same call may succeed later.
    #[error("backend error ({}): {source}", if *.retryable { "retryable" } else { "permanent" })]
    Backend {
        /// Whether retrying the same operation may succeed.
        retryable: bool,
        /// The underlying failure.
        source: BoxedSource,
    },
}

impl Error {
    /// Wraps a backend failure.
    pub fn backend<E>(retryable: bool, source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Backend {
            retryable,
            source: Arc::new(source),
        }
    }

    /// Wraps a failure caused by a full disk (see [`Error::DiskFull`]).
    pub fn disk_full<E>(source: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::DiskFull {
            source: Arc::new(source),
        }
    }

    /// Whether this is [`Error::DiskFull`].
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::DiskFull { .. })
    }

    /// A backend failure described by a message only.
    pub fn backend_msg(retryable: bool, message: impl Into<String>) -> Self {
        Error::backend(retryable, Message(message.into()))
    }

    /// Whether the same call may succeed if retried later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::QueueFull | Error::Timeout(_) | Error::DiskFull { .. } => true,
            Error::Backend { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// Whether an I/O error means the file system has no room left: no space
/// (`ENOSPC`) or a disk quota reached (`EDQUOT`), by error kind.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl From<RecordError> for Error {
    fn from(e: RecordError) -> Self {
        Error::InvalidRecord(e)
    }
}

impl From<QueryError> for Error {
    fn from(e: QueryError) -> Self {
        Error::InvalidQuery(e)
    }
}

/// A plain message used as an error source.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}
