//! HTTP errors: every failure becomes a status and a JSON body that says
//! what went wrong and where.
//!
//! A backend's own message (SQLite's, tantivy's, PostgreSQL's,
//! OpenSearch's) never reaches a client: it may name files, tables, hosts
//! or internal state, and it is written for the backend's developers. It is
//! logged with the error's class, and the client gets a message of ours
//! naming the class: disk full, backend temporarily unavailable, or backend
//! failure. Every other variant of [`Error`] is ours already and is sent
//! as it is.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use logingest::Error;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Value,
    retry_after: Option<u32>,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// Any status with `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: json!({ "error": message.into() }),
            retry_after: None,
        }
    }

    /// 401: no key, or a key not in the auth file.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a valid API key is required: send `Authorization: Bearer KEY`",
        )
    }

    /// 403: the key's role lacks the right.
    pub fn forbidden(role: &str, action: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            format!("a key with role `{role}` may not {action}"),
        )
    }

    /// 503 with `Retry-After`: the disk is full; `message` must start with
    /// "disk full".
    pub fn disk_full(message: impl Into<String>) -> Self {
        ApiError {
            retry_after: Some(DISK_FULL_RETRY_SECONDS),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Asks the client to retry after `seconds` (the `Retry-After` header).
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The message of the answer.
    pub fn message(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }

    /// The `Retry-After` seconds the answer carries, if any.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        self.retry_after
    }
}

/// A request of a shipper's protocol that cannot be stored: 400 or 413,
/// with where in the request (`location`) apart from the reason.
impl From<logingest_protocols::ProtocolError> for ApiError {
    fn from(e: logingest_protocols::ProtocolError) -> Self {
        use logingest_protocols::ProtocolError;
        if let ProtocolError::Engine(e) = e {
            return ApiError::from(e);
        }
        let status = if matches!(e, ProtocolError::TooLarge { .. }) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        ApiError {
            status,
            body: json!({ "error": e.to_string(), "location": e.location(), "reason": e.reason() }),
            retry_after: None,
        }
    }
}

/// The per-operation errors of the engine answer as the umbrella error does.
macro_rules! from_operation_error {
    ($($operation:ty),*) => {$(
        impl From<$operation> for ApiError {
            fn from(e: $operation) -> Self {
                ApiError::from(Error::from(e))
            }
        }
    )*};
}

from_operation_error!(
    logingest::IngestError,
    logingest::WriteError,
    logingest::SearchError,
    logingest::OpenError
);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidRecord(r) => ApiError {
                status: StatusCode::BAD_REQUEST,
                body: json!({
                    "error": r.to_string(),
                    "record": r.record,
                    "line": r.line,
                    "field": r.field,
                    "column": r.column,
                    "reason": r.reason,
                }),
                retry_after: None,
            },
            Error::InvalidQuery(q) => ApiError {
                status: StatusCode::BAD_REQUEST,
                body: json!({ "error": q.to_string(), "position": q.position, "reason": q.reason }),
                retry_after: None,
            },
            Error::InvalidRequest(m) => Self::bad_request(m),
            Error::TooLarge(m) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, m),
            Error::QueueFull => ApiError {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "ingest queue is full; retry later",
                )
            },
            Error::Timeout(what) => ApiError {
                retry_after: Some(1),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("overloaded: timed out waiting for {what}; retry later"),
                )
            },
            Error::Closed => ApiError {
                retry_after: Some(5),
                ..Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server is shutting down",
                )
            },
            e @ Error::DiskFull { .. } => {
                tracing::warn!(error = %e, "disk full");
                Self::disk_full(DISK_FULL)
            }
            e @ Error::Backend {
                retryable: true, ..
            } => {
                tracing::warn!(error = %e, "backend temporarily failing");
                ApiError {
                    retry_after: Some(1),
                    ..Self::new(StatusCode::SERVICE_UNAVAILABLE, BACKEND_UNAVAILABLE)
                }
            }
            e => {
                tracing::error!(error = %e, "backend failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, BACKEND_FAILED)
            }
        }
    }
}

/// What a client is told when the disk is full (answers that know more,
/// such as ingest's, say what became of the request).
const DISK_FULL: &str =
    "disk full: the server cannot store or index more data until space is freed on its disk; retry later";

/// `Retry-After` of a disk-full answer: freeing space takes an operator.
const DISK_FULL_RETRY_SECONDS: u32 = 5;

/// What a client is told about a backend failure that may pass.
const BACKEND_UNAVAILABLE: &str =
    "the storage backend is temporarily unavailable (details in the server log); retry later";

/// What a client is told about any other backend failure.
const BACKEND_FAILED: &str =
    "the storage backend failed (details in the server log); this is a bug or a damaged data directory";

/// Why the backend is degraded, in our words, for `/healthz` (the
/// backend's own message is logged).
pub fn degraded_reason(e: &logingest::WriteError) -> &'static str {
    tracing::warn!(error = %e, "backend degraded");
    if e.is_disk_full() {
        "disk full: writes are refused until space is freed on the server's disk; searches answer from the records indexed so far"
    } else if e.is_retryable() {
        "the storage backend is temporarily unavailable"
    } else {
        "the storage backend failed"
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
