//! One error type per operation, each converting into [`Error`].
//!
//! Why not [`Error`] everywhere: a caller of a search should not have to
//! handle "the ingest queue is full", and one of an ingest should not have
//! to handle "invalid query". Each type below lists what its operation can
//! fail with, and every variant says what to do: fix the input, retry later,
//! free disk space, or stop. All convert into [`Error`] (`?` in a function
//! returning [`Result`](super::Result)), so code that does not care which
//! operation failed can keep one type.
//!
//! [`Backend`](crate::Backend) implementations keep returning [`Error`]:
//! the engine narrows it to the operation's type (`From<Error>`), and a
//! variant that cannot come from that operation is reported as a backend
//! failure. [`IngestError`] has no such conversion: the ingester produces
//! it directly, and nothing else can fail a submission.

use super::{BoxedSource, Error, QueryError, RecordError};

/// Why an engine or its backend could not be opened.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A configuration value cannot work; the message names it. Fix the
    /// configuration.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// No room on disk to create or open the store. Free space and retry.
    #[error("disk full: {source}")]
    DiskFull {
        /// The storage engine's own error.
        source: BoxedSource,
    },
    /// The store could not be opened (I/O error, damaged files, a service
    /// that does not answer); `retryable` says whether trying again may help.
    #[error("cannot open the backend ({}): {source}", if *.retryable { "retryable" } else { "permanent" })]
    Backend {
        /// Whether retrying may succeed.
        retryable: bool,
        /// The underlying failure.
        source: BoxedSource,
    },
}

/// Why records were not queued. Nothing of the submission was queued.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// A record is malformed; it says where. Fix the input.
    #[error("invalid record: {0}")]
    InvalidRecord(RecordError),
    /// The body or a record exceeds a configured limit. Split it.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The queue is full and the engine rejects when full. Retry later.
    #[error("ingest queue is full")]
    QueueFull,
    /// The queue stayed full for the configured wait. Retry later.
    #[error("timed out waiting for queue space")]
    Timeout,
    /// The engine is closed.
    #[error("closed")]
    Closed,
}

/// Why queued records did not become durable or searchable, or a flush,
/// close or deletion failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The storage has no room left: nothing of the failed write is stored.
    /// Free space; writing works again without a restart.
    #[error("disk full: {source}")]
    DiskFull {
        /// The storage engine's own error.
        source: BoxedSource,
    },
    /// The backend failed; `retryable` says whether the same write may
    /// succeed later. Not stored.
    #[error("backend error ({}): {source}", if *.retryable { "retryable" } else { "permanent" })]
    Backend {
        /// Whether retrying may succeed.
        retryable: bool,
        /// The underlying failure.
        source: BoxedSource,
    },
    /// Waiting for durability or visibility timed out; the write may still
    /// complete. Wait again or check later.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The engine closed before the write completed.
    #[error("closed")]
    Closed,
}

/// Why a read (search, histogram, facets, stats) failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The query does not parse or cannot be searched; it says at which
    /// byte. Fix the query.
    #[error("invalid query: {0}")]
    InvalidQuery(QueryError),
    /// A parameter other than the query is invalid (a bad cursor, a zero
    /// limit, an empty time range...). Fix the request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The backend failed; `retryable` says whether the same read may
    /// succeed later.
    #[error("backend error ({}): {source}", if *.retryable { "retryable" } else { "permanent" })]
    Backend {
        /// Whether retrying may succeed.
        retryable: bool,
        /// The underlying failure.
        source: BoxedSource,
    },
    /// The engine is closed.
    #[error("closed")]
    Closed,
}

impl OpenError {
    /// Whether opening again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            OpenError::InvalidConfig(_) => false,
            OpenError::DiskFull { .. } => true,
            OpenError::Backend { retryable, .. } => *retryable,
        }
    }
}

impl IngestError {
    /// Whether the same submission may be accepted later (a full queue);
    /// otherwise fix the input or stop.
    pub fn is_retryable(&self) -> bool {
        matches!(self, IngestError::QueueFull | IngestError::Timeout)
    }
}

impl WriteError {
    /// Whether the same write may succeed later, or is still under way.
    pub fn is_retryable(&self) -> bool {
        match self {
            WriteError::DiskFull { .. } | WriteError::Timeout(_) => true,
            WriteError::Backend { retryable, .. } => *retryable,
            WriteError::Closed => false,
        }
    }

    /// Whether this is [`WriteError::DiskFull`].
    pub fn is_disk_full(&self) -> bool {
        matches!(self, WriteError::DiskFull { .. })
    }
}

impl SearchError {
    /// Whether the same read may succeed later.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SearchError::Backend {
                retryable: true,
                ..
            }
        )
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::InvalidConfig(message) => Error::InvalidRequest(message),
            OpenError::DiskFull { source } => Error::DiskFull { source },
            OpenError::Backend { retryable, source } => backend(retryable, source),
        }
    }
}

impl From<IngestError> for Error {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::InvalidRecord(record) => Error::InvalidRecord(record),
            IngestError::TooLarge(message) => Error::TooLarge(message),
            IngestError::QueueFull => Error::QueueFull,
            IngestError::Timeout => Error::Timeout("queue space"),
            IngestError::Closed => Error::Closed,
        }
    }
}

/// The umbrella error for a backend failure: the original [`Error`] when
/// the failure is one that [`unexpected`] wrapped, else `Backend`.
fn backend(retryable: bool, source: BoxedSource) -> Error {
    match source.downcast_ref::<Error>() {
        Some(original) => original.clone(),
        None => Error::Backend { retryable, source },
    }
}

impl From<WriteError> for Error {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::DiskFull { source } => Error::DiskFull { source },
            WriteError::Backend { retryable, source } => backend(retryable, source),
            WriteError::Timeout(what) => Error::Timeout(what),
            WriteError::Closed => Error::Closed,
        }
    }
}

impl From<SearchError> for Error {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::InvalidQuery(query) => Error::InvalidQuery(query),
            SearchError::InvalidRequest(message) => Error::InvalidRequest(message),
            SearchError::Backend { retryable, source } => backend(retryable, source),
            SearchError::Closed => Error::Closed,
        }
    }
}

/// A variant the operation does not list, reported as a backend failure
/// (retryable as the original was) whose source is the original error, so
/// that converting back into [`Error`] gives the original again.
fn unexpected(e: Error) -> (bool, BoxedSource) {
    let retryable = e.is_retryable();
    (retryable, std::sync::Arc::new(e))
}

impl From<Error> for OpenError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidRequest(message) | Error::TooLarge(message) => {
                OpenError::InvalidConfig(message)
            }
            Error::DiskFull { source } => OpenError::DiskFull { source },
            Error::Backend { retryable, source } => OpenError::Backend { retryable, source },
            other => {
                let (retryable, source) = unexpected(other);
                OpenError::Backend { retryable, source }
            }
        }
    }
}

impl From<Error> for WriteError {
    fn from(e: Error) -> Self {
        match e {
            Error::DiskFull { source } => WriteError::DiskFull { source },
            Error::Backend { retryable, source } => WriteError::Backend { retryable, source },
            Error::Timeout(what) => WriteError::Timeout(what),
            Error::Closed => WriteError::Closed,
            other => {
                let (retryable, source) = unexpected(other);
                WriteError::Backend { retryable, source }
            }
        }
    }
}

impl From<Error> for SearchError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidQuery(query) => SearchError::InvalidQuery(query),
            Error::InvalidRequest(message) | Error::TooLarge(message) => {
                SearchError::InvalidRequest(message)
            }
            Error::Backend { retryable, source } => SearchError::Backend { retryable, source },
            Error::Closed => SearchError::Closed,
            other => {
                let (retryable, source) = unexpected(other);
                SearchError::Backend { retryable, source }
            }
        }
    }
}

impl From<RecordError> for IngestError {
    fn from(e: RecordError) -> Self {
        IngestError::InvalidRecord(e)
    }
}

impl From<QueryError> for SearchError {
    fn from(e: QueryError) -> Self {
        SearchError::InvalidQuery(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_converts_into_the_umbrella_and_back() {
        let full = Error::disk_full(std::io::Error::other("no space"));
        assert!(Error::from(WriteError::from(full.clone())).is_disk_full());
        assert!(matches!(
            Error::from(IngestError::Timeout),
            Error::Timeout("queue space")
        ));
        // A search cannot be "queue full": it is reported as a backend failure.
        let odd = SearchError::from(Error::QueueFull);
        assert!(
            matches!(
                odd,
                SearchError::Backend {
                    retryable: true,
                    ..
                }
            ),
            "{odd:?}"
        );
        assert!(odd.to_string().contains("ingest queue is full"));
        // And back into the umbrella, it is the original again: a disk full
        // on a read still answers as a disk full.
        assert!(matches!(Error::from(odd), Error::QueueFull));
        let read_full = SearchError::from(full);
        assert!(Error::from(read_full).is_disk_full());
    }
}
