//! The POST form of the query endpoints: the parameters of the GET query
//! string as the members of a JSON object in the body.
//!
//! A query string is limited in length (`head::MAX_URI_BYTES`); a body is
//! not, within [`MAX_FORM_BYTES`]. The members become the same name/value
//! pairs the query string gives, and go through the same parsing, so names,
//! validation, errors and refusal of unknown names are those of the GET
//! form by construction. The caller is authorized before the body is read.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::body;
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::state::Shared;

/// Largest body of a POST form, after gzip decompression; larger: 413.
pub const MAX_FORM_BYTES: usize = 1 << 20;

/// The caller and parameters of a POST form `request`, authorized as the
/// GET form is (`read`, to search).
pub async fn posted(
    state: &Shared,
    request: Request,
) -> Result<(Principal, HashMap<String, String>), ApiError> {
    let (parts, body) = request.into_parts();
    let principal = state.authorize(&parts.headers, Role::Read, "search")?;
    if parts.uri.query().is_some_and(|q| !q.is_empty()) {
        return Err(ApiError::bad_request(format!(
            "POST {} takes its parameters in the JSON body, not in the query string",
            parts.uri.path()
        )));
    }
    let raw = read(body).await?;
    let bytes = body::decode(&parts.headers, raw, MAX_FORM_BYTES)?;
    Ok((principal, params(&bytes)?))
}

/// The body, at most [`MAX_FORM_BYTES`] as received (a gzip body is
/// limited again once inflated, by `body::decode`).
async fn read(body: axum::body::Body) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_FORM_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body is larger than the limit of {MAX_FORM_BYTES} bytes"),
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "cannot read the request body: {e}"
        ))),
    }
}

/// The members of a JSON object as query-string pairs: a string as it is,
/// a number as its JSON text.
fn params(bytes: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    const SHAPE: &str =
        r#"the body must be a JSON object of parameters, like {"q": "level:error", "limit": 10}"#;
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("{SHAPE}: {e}")))?;
    let Value::Object(members) = value else {
        return Err(ApiError::bad_request(format!(
            "{SHAPE}, not {}",
            kind(&value)
        )));
    };
    members
        .into_iter()
        .map(|(name, value)| match value {
            Value::String(text) => Ok((name, text)),
            Value::Number(n) => Ok((name, n.to_string())),
            other => Err(ApiError::bad_request(format!(
                "`{name}` must be a string or a number, not {}; leave it out for the default",
                kind(&other)
            ))),
        })
        .collect()
}

/// "an array", "null", ... for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_become_query_string_pairs() {
        let got = params(br#"{"q": "level:error", "limit": 5, "from": "now-1h"}"#).unwrap();
        assert_eq!(got["q"], "level:error");
        assert_eq!(got["limit"], "5");
        assert_eq!(got["from"], "now-1h");
        assert!(params(b"{}").unwrap().is_empty());
    }

    #[test]
    fn other_shapes_are_refused() {
        for (body, says) in [
            (&br#"["q"]"#[..], "not an array"),
            (b"", "EOF while parsing"),
            (b"q=level:error", "expected value"),
            (
                br#"{"limit": null}"#,
                "`limit` must be a string or a number, not null",
            ),
            (
                br#"{"q": ["a"]}"#,
                "`q` must be a string or a number, not an array",
            ),
        ] {
            let error = params(body).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST);
            let text = format!("{error:?}");
            assert!(text.contains(says), "{text}");
        }
    }
}
