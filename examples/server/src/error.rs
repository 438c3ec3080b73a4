//! HTTP errors: every failure becomes a status and a JSON body that says
//! what went wrong and where.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use logingest_core::Error;
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
}

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
            e @ Error::Backend {
                retryable: true, ..
            } => ApiError {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            },
            e => Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
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
