//! The request head (request line and headers) is checked by us, so that a
//! malformed or oversized one is answered with the same JSON error as every
//! other failure (docs/http-api.md, "Errors from the HTTP layer").
//!
//! Why not leave it to hyper: hyper parses the head before any handler
//! runs, and answers a head it refuses (a bad `Content-Length`, a 1 MB
//! header, a URI over its fixed 65,534 bytes, a garbled request line) with
//! a bare status and an empty body, which it offers no way to change.
//! So the head of a connection's first request is read and checked here
//! before hyper sees the connection ([`CheckedListener`], with a byte
//! budget and a timeout), with hyper's own parser (`httparse`) and the
//! semantic checks hyper would make; a good head is replayed to hyper
//! unchanged. Later requests on a kept-alive connection are parsed by hyper
//! alone; [`enforce`] applies our limits to those, which are below hyper's,
//! so they too are answered in JSON. What remains is documented: a later
//! request on a kept-alive connection that hyper itself cannot parse.

mod check;
mod listener;

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use check::Refusal;
pub use listener::CheckedListener;

use crate::error::ApiError;

/// Longest request target (path and query string) in bytes; longer: 414.
/// Below hyper's fixed limit of 65,534, so that hyper never refuses a
/// target first. Long queries have a POST form (`POST /api/search`).
pub const MAX_URI_BYTES: usize = 32 * 1024;

/// Largest request head (request line and headers) in bytes; larger: 431.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Most header fields in one request, as hyper's default; more: 431.
pub const MAX_HEADERS: usize = 100;

/// How long a new connection may take to send its first request head. A
/// connection that sent nothing by then is closed without an answer (an
/// idle browser pre-connection); one that sent part of a head gets 408.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits a request head is checked against.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// See [`MAX_URI_BYTES`].
    pub uri: usize,
    /// See [`MAX_HEAD_BYTES`].
    pub head: usize,
    /// See [`HEAD_TIMEOUT`].
    pub timeout: Duration,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            uri: MAX_URI_BYTES,
            head: MAX_HEAD_BYTES,
            timeout: HEAD_TIMEOUT,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError::new(refusal.status(), refusal.to_string())
    }
}

/// Middleware: our head limits on requests hyper parsed by itself (every
/// request after the first on a kept-alive connection; the first was
/// checked by [`CheckedListener`], and passes again here at no risk).
pub async fn enforce(request: Request, next: Next) -> Response {
    let limits = HeadLimits::default();
    match check::parsed(request.method(), request.uri(), request.headers(), &limits) {
        Ok(()) => next.run(request).await,
        Err(refusal) => ApiError::from(refusal).into_response(),
    }
}
