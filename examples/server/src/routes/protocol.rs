//! What the shippers' protocol endpoints (`otlp.rs`, `loki.rs`) share: a
//! body read within the ingest budget, decoded into records off the
//! runtime's threads, and submitted as `POST /logs` submits.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::HeaderMap;
use logingest::Record;

use super::body::{self, Learn};
use super::ingest::{submit, wait_visible};
use crate::budget::Meter;
use crate::error::ApiError;
use crate::state::Shared;

/// Reads `payload` (gzip or not), decodes it with `decode`, which tells the
/// meter of everything it allocates (the decoded request, the records'
/// text, the records), and submits the records; returns how many. Once the
/// records are made, everything but their memory is given back to the
/// budget: the decoded request and the text are gone by then.
pub async fn ingest(
    state: &Shared,
    raw: HashMap<String, String>,
    headers: &HeaderMap,
    payload: Body,
    decode: impl FnOnce(&[u8], &mut Meter) -> Result<Vec<Record>, ApiError> + Send + 'static,
) -> Result<usize, ApiError> {
    let wait_visible = wait_visible(&body::params(raw, &["refresh"])?)?;
    let (records, reservation) =
        body::parse_with(state, headers, payload, Learn::No, move |bytes, meter| {
            let records = decode(bytes, meter)?;
            let kept: usize = records.iter().map(Record::memory).sum();
            meter.release(meter.used().saturating_sub(kept));
            Ok(records)
        })
        .await?;
    if records.is_empty() {
        return Ok(0);
    }
    let (count, _) = submit(state, records, wait_visible).await?;
    drop(reservation);
    Ok(count)
}
