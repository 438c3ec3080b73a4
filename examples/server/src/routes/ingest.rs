//! `POST /` and `POST /logs`: whole requests of records, acknowledged only
//! once durable.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query as QueryString, State};
use axum::http::HeaderMap;
use axum::Json;
use logingest::{parse_records_metered, Error, Format, ParseOptions, Record, WriteError};
use serde_json::{json, Value};

use super::body;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// How long a request waits for its records to become durable or visible
/// before answering 503 (the records may still be committed; retrying is
/// safe only for idempotent shippers, as with any HTTP ingest).
const WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Handles an ingest request.
pub async fn ingest(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authorize(&headers, Role::Ingest, "send records")?;
    let params = body::params(raw, &["refresh"])?;
    let wait_visible = wait_visible(&params)?;
    let result = accept(&state, &headers, payload, wait_visible).await;
    state
        .metrics
        .ingest_outcome("ndjson", result.as_ref().map_err(ApiError::status));
    let accepted = result?;
    tracing::debug!(key = %principal.name, records = accepted, "accepted");
    Ok(Json(json!({ "accepted": accepted })))
}

/// Whether a request asks to be answered only once its records are
/// searchable (`refresh=wait_for`, as Elasticsearch spells it).
pub fn wait_visible(params: &HashMap<String, String>) -> Result<bool, ApiError> {
    match params.get("refresh").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("wait_for" | "true" | "") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!(
            "`refresh` must be `wait_for`, `true` or `false`, not `{other}`"
        ))),
    }
}

async fn accept(
    state: &Shared,
    headers: &HeaderMap,
    payload: Body,
    wait_visible: bool,
) -> Result<usize, ApiError> {
    let format = if body::is_ndjson(headers) {
        Format::Ndjson
    } else {
        Format::Auto
    };
    let options = ParseOptions::default()
        .limits(state.engine.limits())
        .format(format);
    let (records, reservation) =
        body::parse_reserved(state, headers, payload, move |bytes, meter| {
            parse_records_metered(bytes, &options, |memory| meter.add(memory))
        })
        .await?;
    let (count, _) = submit(state, records, wait_visible).await?;
    drop(reservation);
    Ok(count)
}

/// Queues `records` as one submission and waits until durable (and visible
/// if asked); the engine publishes them to live tail once visible. Returns
/// the count and the sequence number of the first record.
pub async fn submit(
    state: &Shared,
    records: Vec<Record>,
    wait_visible: bool,
) -> Result<(usize, u64), ApiError> {
    enqueue(state, records)
        .await?
        .wait(state, wait_visible)
        .await
        .map_err(|(e, _)| e)
}

/// Records in the ingest queue, not yet known to be durable.
pub struct Queued {
    ticket: logingest::ingest::Ticket,
    count: usize,
    bytes: usize,
}

/// Whether records whose wait failed may be stored all the same (the
/// wait timed out, the commit may still come): sending them again could
/// store them twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaybeStored {
    Yes,
    No,
}

/// Queues `records` as one submission (nothing is stored when it fails).
pub async fn enqueue(state: &Shared, records: Vec<Record>) -> Result<Queued, ApiError> {
    let count = records.len();
    let bytes: usize = records.iter().map(Record::size).sum();
    // Submitting may wait for room in the queue (`--when-full block`), and
    // copies the records for live tail when someone tails: both off the
    // runtime's threads.
    let ticket = {
        let state = Arc::clone(state);
        tokio::task::spawn_blocking(move || state.engine.ingest(records))
            .await
            .map_err(|e| ApiError::from(Error::backend_msg(false, e.to_string())))??
    };
    Ok(Queued {
        ticket,
        count,
        bytes,
    })
}

impl Queued {
    /// Waits until the records are durable (and visible if asked).
    pub async fn wait(
        self,
        state: &Shared,
        wait_visible: bool,
    ) -> Result<(usize, u64), (ApiError, MaybeStored)> {
        let Queued {
            ticket,
            count,
            bytes,
        } = self;
        // Waiting for the commit (and the refresh) parks no thread.
        let ack = tokio::time::timeout(WAIT, ticket.durable())
            .await
            .unwrap_or(Err(WriteError::Timeout("durability")))
            .map_err(|e| match e {
                e @ WriteError::DiskFull { .. } => {
                    tracing::warn!(error = %e, "disk full: batch refused");
                    let e = ApiError::disk_full(
                        "disk full: nothing of this request was stored; retry once space is freed on the server's disk",
                    );
                    (e, MaybeStored::No)
                }
                e @ WriteError::Timeout(_) => (ApiError::from(e), MaybeStored::Yes),
                e => (ApiError::from(e), MaybeStored::No),
            })?;
        if wait_visible {
            tokio::time::timeout(WAIT, ticket.visible())
                .await
                .unwrap_or(Err(WriteError::Timeout("visibility")))
                .map_err(|e| {
                    let e = match e {
                        e @ WriteError::DiskFull { .. } => {
                            tracing::warn!(error = %e, "disk full: stored records cannot be indexed");
                            ApiError::disk_full(
                                "disk full: the records were stored but cannot be made searchable until space is freed on the server's disk; they become searchable then, without being sent again",
                            )
                        }
                        e => ApiError::from(e),
                    };
                    // Durable already.
                    (e, MaybeStored::Yes)
                })?;
        }
        state.metrics.ingested_records.inc_by(count as u64);
        state.metrics.ingested_bytes.inc_by(bytes as u64);
        Ok((count, ack.first_seq))
    }
}
