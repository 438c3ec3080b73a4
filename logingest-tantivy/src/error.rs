//! Storage errors, mapped into core's [`Error`] without leaking their types
//! into core's API: they become the boxed `source` of `Error::Backend`.

use logingest_core::Error;

/// Converts a tantivy error. I/O and lock problems may pass; the rest are
/// treated as permanent.
pub(crate) fn index(e: tantivy::TantivyError) -> Error {
    let retryable = matches!(
        e,
        tantivy::TantivyError::IoError(_) | tantivy::TantivyError::LockFailure(..)
    );
    Error::backend(retryable, e)
}

/// Converts a SQLite error. Busy/locked databases and full disks may pass.
pub(crate) fn store(e: rusqlite::Error) -> Error {
    let retryable = matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::DiskFull
                | rusqlite::ErrorCode::SystemIoFailure
        )
    );
    Error::backend(retryable, e)
}

/// Converts a file-system error.
pub(crate) fn io(e: std::io::Error) -> Error {
    Error::backend(true, e)
}
