//! `POST /loki/api/v1/push`: the Loki push API, snappy-compressed protobuf
//! or JSON (the mapping onto records: [`logingest_protocols::loki`]), so
//! Promtail, Grafana Alloy, the Docker driver and Loki client libraries can
//! ship here unchanged.
//!
//! As Loki does, a push is answered `204 No Content` once every record is
//! durable; a refusal is our JSON error (Loki clients log the body).
//! Limits, byte budgets, gzip (for JSON), roles and `refresh=wait_for` are
//! those of `POST /logs`; `--max-body-bytes` applies to a protobuf body
//! once uncompressed, checked before it is.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query as QueryString, State};
use axum::http::{header, HeaderMap, StatusCode};
use logingest::ParseOptions;
use logingest_protocols::loki::{self, Encoding};

use super::body;
use super::ingest::{submit, wait_visible};
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
    let result = accept(&state, raw, &headers, payload).await;
    state
        .metrics
        .ingest_outcome("loki", result.as_ref().map_err(ApiError::status));
    result.map(|_| StatusCode::NO_CONTENT)
}

async fn accept(
    state: &Shared,
    raw: HashMap<String, String>,
    headers: &HeaderMap,
    payload: Body,
) -> Result<usize, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let encoding = Encoding::from_content_type(content_type).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a Loki push is `application/x-protobuf` (snappy) or `application/json`, not `{content_type}`"
            ),
        )
    })?;
    let wait_visible = wait_visible(&body::params(raw, &["refresh"])?)?;
    let limits = state.engine.limits();
    let options = ParseOptions::default().limits(limits);
    let (records, reservation) =
        body::parse_reserved(state, headers, payload, move |bytes, meter| {
            let uncompressed =
                loki::uncompress(bytes, encoding, limits.max_body_bytes, |b| meter.add(b))?;
            // The push decoded is many times its body at worst: room for it
            // is reserved first, and given back with the uncompressed body
            // once the records (which the meter counts on) are made.
            let transient = loki::decoded_bytes(&uncompressed, encoding);
            meter.add(transient)?;
            let push = loki::decode_request(&uncompressed, encoding)?;
            let records = loki::records(&push, &options, |memory| meter.add(memory));
            let held = match uncompressed {
                std::borrow::Cow::Owned(bytes) => bytes.len(),
                std::borrow::Cow::Borrowed(_) => 0,
            };
            drop(push);
            meter.release(transient + held);
            records
        })
        .await?;
    if records.is_empty() {
        return Ok(0);
    }
    let (count, _) = submit(state, records, wait_visible).await?;
    drop(reservation);
    Ok(count)
}
