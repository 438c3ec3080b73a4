//! Storage errors, mapped into core's [`Error`] without leaking their types
//! into core's API: they become the boxed `source` of `Error::Backend`, or
//! of `Error::DiskFull` when the file system has no room left.
//!
//! A full disk is recognised by kind, never by message: SQLite's
//! `SQLITE_FULL` code, an I/O error of kind `StorageFull` or
//! `QuotaExceeded` ([`logingest_core::is_disk_full`]), and tantivy errors
//! that carry such an I/O error. Some of tantivy's errors keep only the
//! I/O error's text (a field-norm file that could not be written becomes an
//! `InternalError` string); for a write that failed that way,
//! [`index_write`] asks the file system itself, by writing a probe file.

use std::path::Path;

use logingest_core::{is_disk_full, Error};
use tantivy::directory::error::{OpenDirectoryError, OpenReadError, OpenWriteError};
use tantivy::TantivyError;

/// Converts a tantivy error. I/O and lock problems may pass; the rest are
/// treated as permanent.
pub(crate) fn index(e: TantivyError) -> Error {
    if io_error_of(&e).is_some_and(is_disk_full) {
        return Error::disk_full(e);
    }
    let retryable = matches!(e, TantivyError::IoError(_) | TantivyError::LockFailure(..));
    Error::backend(retryable, e)
}

/// An I/O error of reading the index (its term dictionaries, postings).
pub(crate) fn index_io(e: std::io::Error) -> Error {
    index(e.into())
}

/// Converts the error of a tantivy write (adding, committing, opening a
/// writer) in the index directory `dir`: as [`index`], and an error that
/// lost its I/O kind is a full disk when [`probe_space`] finds no room.
pub(crate) fn index_write(dir: &Path, e: TantivyError) -> Error {
    match index(e) {
        Error::Backend { source, .. } if probe_space(dir).is_err_and(|p| p.is_disk_full()) => {
            Error::DiskFull { source }
        }
        other => other,
    }
}

/// Room a batch is assumed to need, that [`probe_space`] checks for.
const PROBE_BYTES: usize = 1 << 20;

/// Whether `dir`'s file system has [`PROBE_BYTES`] free: writes that many
/// bytes to a file and removes it (std has no portable free-space call, and
/// a write is what SQLite and tantivy will do).
pub(crate) fn probe_space(dir: &Path) -> Result<(), Error> {
    use std::io::Write;
    let path = dir.join(".space-probe");
    let written = std::fs::File::create(&path).and_then(|mut file| {
        file.write_all(&vec![0; PROBE_BYTES])?;
        file.sync_data()
    });
    let _ = std::fs::remove_file(&path);
    written.map_err(io)
}

/// The I/O error a tantivy error carries, if any.
fn io_error_of(e: &TantivyError) -> Option<&std::io::Error> {
    match e {
        TantivyError::IoError(io)
        | TantivyError::OpenWriteError(OpenWriteError::IoError { io_error: io, .. })
        | TantivyError::OpenReadError(OpenReadError::IoError { io_error: io, .. })
        | TantivyError::OpenDirectoryError(OpenDirectoryError::IoError { io_error: io, .. }) => {
            Some(io)
        }
        _ => None,
    }
}

/// Converts a SQLite error. Busy/locked databases and I/O failures may
/// pass; a full disk is [`Error::DiskFull`].
pub(crate) fn store(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Error::disk_full(e),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
            | rusqlite::ErrorCode::DatabaseLocked
            | rusqlite::ErrorCode::SystemIoFailure,
        ) => Error::backend(true, e),
        _ => Error::backend(false, e),
    }
}

/// Converts a file-system error.
pub(crate) fn io(e: std::io::Error) -> Error {
    if is_disk_full(&e) {
        Error::disk_full(e)
    } else {
        Error::backend(true, e)
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_full_disk_is_recognised_by_kind_in_every_wrapper() {
        let full = || std::io::Error::from(ErrorKind::StorageFull);
        assert!(io(full()).is_disk_full());
        assert!(index(TantivyError::IoError(Arc::new(full()))).is_disk_full());
        let write = OpenWriteError::wrap_io_error(full(), "x".into());
        assert!(index(TantivyError::OpenWriteError(write)).is_disk_full());
        let sqlite = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        assert!(store(sqlite).is_disk_full());
        assert!(!io(std::io::Error::from(ErrorKind::PermissionDenied)).is_disk_full());
    }
}
