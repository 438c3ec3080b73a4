//! `POST /loki/api/v1/push`: the Loki push API, snappy-compressed protobuf
//! or JSON (the mapping onto records: [`logingest_protocols::loki`]), so
//! Promtail, Grafana Alloy, the Docker driver and Loki client libraries can
//! ship here unchanged.
//!
//! As Loki does, a push is answered `204 No Content` once every record is
//! durable; a refusal is our JSON error (Loki clients log the body).
//! Limits, byte budgets, gzip, roles and `refresh=wait_for` are those of
//! `POST /logs`; `--max-body-bytes` applies to a protobuf body once
//! uncompressed, checked before it is. `Content-Encoding: snappy` on a
//! protobuf push names the compression it has anyway.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query as QueryString, State};
use axum::http::{header, HeaderMap, StatusCode};
use logingest::ParseOptions;
use logingest_protocols::loki::{self, Encoding};

use super::protocol;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// `POST /loki/api/v1/push`.
pub async fn push(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<StatusCode, ApiError> {
    state.authorize(&headers, Role::Ingest, "send records")?;
    let result = accept(&state, raw, headers, payload).await;
    state
        .metrics
        .ingest_outcome("loki", result.as_ref().map_err(ApiError::status));
    result.map(|_| StatusCode::NO_CONTENT)
}

async fn accept(
    state: &Shared,
    raw: HashMap<String, String>,
    mut headers: HeaderMap,
    payload: Body,
) -> Result<usize, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = loki::encoding(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a Loki push is `application/x-protobuf` (snappy) or `application/json`, not `{content_type}`"
            ),
        )
    })?;
    // Some clients (Grafana Alloy) name the snappy compression every
    // protobuf push has anyway, as Loki allows.
    let snappy = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("snappy"));
    if snappy {
        if encoding == Encoding::Json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Encoding `snappy` is for protobuf pushes; send JSON plain or gzip",
            ));
        }
        headers.remove(header::CONTENT_ENCODING);
    }
    let options = ParseOptions::default().limits(state.engine.limits());
    protocol::ingest(state, raw, &headers, payload, move |bytes, meter| {
        // The uncompressed size is checked against the body limit before
        // uncompressing; room for it and for the decoded push is reserved
        // first (`loki::decoded_bytes`).
        loki::decode(bytes, encoding, &options, |memory| meter.add(memory))
    })
    .await
}
