//! Errors of PostgreSQL and of the search cluster, mapped into core's
//! [`Error`] without leaking their types into core's API: they become the
//! boxed `source` of `Error::Backend`, with `retryable` set when the same
//! call may succeed later (lost connection, overload, timeout).

use logingest_core::Error;

/// A failure talking to the search cluster.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EsError {
    /// The request did not get an HTTP answer (refused, reset, timed out).
    #[error("search cluster at {url}: {source}")]
    Transport {
        /// The URL requested.
        url: String,
        /// What went wrong.
        source: ureq::Error,
    },
    /// The cluster answered with an error status.
    #[error("search cluster answered {status} to {method} {path}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// HTTP method.
        method: &'static str,
        /// Path requested.
        path: String,
        /// The answer's body (cut to 2,000 bytes).
        body: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from the search cluster to {path}: {reason}")]
    Protocol {
        /// Path requested.
        path: String,
        /// What was wrong with it.
        reason: String,
    },
}

impl EsError {
    /// Whether the same request may succeed later: transport failures,
    /// 408/429 and 5xx except 501 (not implemented).
    pub(crate) fn retryable(&self) -> bool {
        match self {
            EsError::Transport { .. } => true,
            EsError::Status { status, .. } => {
                matches!(*status, 408 | 429) || (*status >= 500 && *status != 501)
            }
            EsError::Protocol { .. } => false,
        }
    }
}

impl From<EsError> for Error {
    fn from(e: EsError) -> Self {
        Error::backend(e.retryable(), e)
    }
}

/// Converts a PostgreSQL error. Lost or refused connections, serialization
/// failures, deadlocks, lock timeouts, shutdowns and resource exhaustion may
/// pass on retry; the rest (syntax, constraint, permission) is permanent.
pub(crate) fn pg(e: postgres::Error) -> Error {
    Error::backend(pg_retryable(&e), e)
}

fn pg_retryable(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let code = code.code();
            // 08 connection exception, 40 transaction rollback (serialization,
            // deadlock), 53 insufficient resources, 55P03 lock not available,
            // 57P0x operator intervention (shutdown, crash recovery).
            code.starts_with("08")
                || code.starts_with("40")
                || code.starts_with("53")
                || code == "55P03"
                || code.starts_with("57P")
        }
        // No SQL state: an I/O or protocol failure of the connection.
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_retryability() {
        let status = |status| EsError::Status {
            status,
            method: "GET",
            path: "/".into(),
            body: String::new(),
        };
        assert!(status(429).retryable());
        assert!(status(503).retryable());
        assert!(!status(400).retryable());
        assert!(!status(404).retryable());
        assert!(!status(501).retryable());
    }
}
