//! Request bodies and query strings: gzip, size limits, strict parameters.

use std::collections::HashMap;
use std::io::Read;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};

use crate::error::ApiError;

/// The raw body as received. The router's raw size limit (a little above
/// `limit`, so that most oversized bodies are refused by [`decode`] with the
/// exact figure) ends reading early; that is answered as a JSON 413 like
/// every other error, not as axum's plain-text rejection.
pub fn received(payload: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    payload.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
        status => ApiError::new(
            status,
            format!("cannot read the request body: {}", rejection.body_text()),
        ),
    })
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body is larger than the limit of {limit} bytes"),
    )
}

/// The body, gunzipped when `Content-Encoding: gzip`, refused with 413 when
/// it is (or inflates to) more than `limit` bytes.
pub fn decode(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Vec<u8>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => {
            if body.len() > limit {
                return Err(too_large(limit));
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => {
            let mut out = Vec::new();
            let mut decoder = flate2::read::MultiGzDecoder::new(&body[..]).take(limit as u64 + 1);
            decoder
                .read_to_end(&mut out)
                .map_err(|e| ApiError::bad_request(format!("body is not valid gzip: {e}")))?;
            if out.len() > limit {
                return Err(too_large(limit));
            }
            Ok(out)
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding `{other}` is not supported (use gzip or none)"),
        )),
    }
}

/// Whether the client declared NDJSON.
pub fn is_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/x-ndjson") || v.starts_with("application/ndjson")
        })
}

/// Query-string parameters, refusing names not in `allowed` (a typo such as
/// `limt=5` should not be silently ignored).
pub fn params(
    raw: HashMap<String, String>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut unknown: Vec<&String> = raw
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if let Some(first) = unknown.pop() {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{first}`; this endpoint takes: {}",
            allowed.join(", ")
        )));
    }
    Ok(raw)
}

/// A number parameter within `min..=max`, or `default` when absent.
pub fn number(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "`{name}` must be a whole number from {min} to {max}, not `{text}`"
            ))),
        },
    }
}
