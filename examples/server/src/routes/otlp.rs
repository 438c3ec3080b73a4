//! `POST /v1/logs`: OpenTelemetry logs over OTLP/HTTP, protobuf or JSON
//! (the mapping onto records: [`logingest_protocols::otlp`]).
//!
//! As the OTLP specification asks, the answer is in the request's encoding:
//! an empty `ExportLogsServiceResponse` once every record is durable (this
//! server stores a request whole or not at all, so it never sends a
//! partial success), and for a refusal the HTTP status with a
//! `google.rpc.Status` naming the problem and where it is. 429 and 503
//! carry `Retry-After`, which OTLP exporters honour. Limits, byte budgets,
//! gzip and roles are those of `POST /logs`.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query as QueryString, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use logingest::ParseOptions;
use logingest_protocols::otlp::{self, Encoding};
use prost::Message;

use super::protocol;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// `POST /v1/logs`.
pub async fn logs(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::from_content_type(content_type);
    // A refusal is answered in the request's encoding, JSON when unknown.
    let answer_in = encoding.unwrap_or(Encoding::Json);
    // A refused key is not counted as a refused request, as on `/logs`.
    if let Err(e) = state.authorize(&headers, Role::Ingest, "send records") {
        return answer_error(answer_in, e);
    }
    let result = match encoding {
        Some(encoding) => accept(&state, raw, &headers, payload, encoding).await,
        None => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "OTLP/HTTP logs are `application/x-protobuf` or `application/json`, not `{content_type}`"
            ),
        )),
    };
    state
        .metrics
        .ingest_outcome("otlp", result.as_ref().map_err(ApiError::status));
    match result {
        Ok(_) => answer_ok(answer_in),
        Err(e) => answer_error(answer_in, e),
    }
}

async fn accept(
    state: &Shared,
    raw: HashMap<String, String>,
    headers: &HeaderMap,
    payload: Body,
    encoding: Encoding,
) -> Result<usize, ApiError> {
    let options = ParseOptions::default().limits(state.engine.limits());
    protocol::ingest(state, raw, headers, payload, move |bytes, meter| {
        // Room for the decoded request is reserved before decoding
        // (`otlp::decoded_bytes`): it can be a hundred times the body.
        otlp::decode(bytes, encoding, &options, |memory| meter.add(memory))
    })
    .await
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer (its
/// `details` are not sent).
#[derive(Clone, PartialEq, prost::Message)]
struct Status {
    /// A `google.rpc.Code`.
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// The `google.rpc.Code` closest to an HTTP status.
fn rpc_code(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 | 415 => 3, // INVALID_ARGUMENT
        401 => 16,      // UNAUTHENTICATED
        403 => 7,       // PERMISSION_DENIED
        413 | 429 => 8, // RESOURCE_EXHAUSTED
        503 => 14,      // UNAVAILABLE
        _ => 13,        // INTERNAL
    }
}

fn answer_ok(encoding: Encoding) -> Response {
    match encoding {
        // An empty ExportLogsServiceResponse is zero bytes of protobuf.
        Encoding::Protobuf => with_type(StatusCode::OK, Vec::new(), "application/x-protobuf"),
        Encoding::Json => with_type(StatusCode::OK, b"{}".to_vec(), "application/json"),
    }
}

fn answer_error(encoding: Encoding, e: ApiError) -> Response {
    let status = Status {
        code: rpc_code(e.status()),
        message: e.message().to_owned(),
    };
    let mut response = match encoding {
        Encoding::Protobuf => {
            with_type(e.status(), status.encode_to_vec(), "application/x-protobuf")
        }
        Encoding::Json => {
            let body = serde_json::json!({ "code": status.code, "message": status.message });
            with_type(
                e.status(),
                body.to_string().into_bytes(),
                "application/json",
            )
        }
    };
    if let Some(seconds) = e.retry_after_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn with_type(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}
