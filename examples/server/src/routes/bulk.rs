//! `POST /_bulk` and `POST /{index}/_bulk`: the Elasticsearch bulk API
//! subset that shippers (Vector, Fluent Bit, Filebeat, Logstash, the
//! official clients' bulk helpers) use to send logs.
//!
//! Unlike `POST /logs`, items are independent, as in Elasticsearch: each
//! `index`/`create` item whose source is a valid record is stored, each
//! invalid one gets its own 400 item with the reason, and the answer comes
//! once the valid ones are durable. `delete` and `update` are answered per
//! item as unsupported (logs are append-only). A malformed action line fails
//! the whole request with 400, as Elasticsearch does.
//!
//! Sources are read as Elastic Common Schema documents
//! ([`logingest::parse_ecs_document`]): `@timestamp`, `log.level`,
//! `service.name` / `host.name`, `trace.id` and `span.id` fill the record's
//! own fields when it has none of its own, so Filebeat-style documents are
//! filed under their own time. An index the client names (in the action
//! line or the path) is kept as the field `_index`, so several shippers can
//! be told apart (`_index:filebeat-*`); it partitions nothing. Mapping and
//! examples: `docs/ingest-protocols.md`. Reading the body into items is
//! [`items`], which needs no HTTP types (the `bulk` fuzz target includes it).

#[cfg(test)]
mod check;
mod items;

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, Query as QueryString, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use logingest::{Error, Record, RecordError};
use serde_json::{json, Map, Value};

use self::items::{parse_bulk, Item};
use super::body;
use super::ingest::submit;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// Parameters Elasticsearch clients send that do not change what we store.
const IGNORED_PARAMS: &[&str] = &[
    "refresh",
    "filter_path",
    "timeout",
    "pipeline",
    "routing",
    "wait_for_active_shards",
    "require_alias",
    "require_data_stream",
    "_source",
    "pretty",
    "human",
    "error_trace",
];

/// `POST /_bulk`.
pub async fn bulk(
    state: State<Shared>,
    query: QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    handle(state, None, query, headers, payload).await
}

/// `POST /{index}/_bulk`.
pub async fn bulk_index(
    state: State<Shared>,
    Path(index): Path<String>,
    query: QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    handle(state, Some(index), query, headers, payload).await
}

async fn handle(
    State(state): State<Shared>,
    default_index: Option<String>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
    payload: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    state.authorize(&headers, Role::Ingest, "send records")?;
    let params = body::params(raw, IGNORED_PARAMS)?;
    let wait_visible = matches!(
        params.get("refresh").map(String::as_str),
        Some("true" | "wait_for" | "")
    );
    let limits = state.engine.limits();
    let parsed = body::parse_reserved(&state, &headers, payload, move |bytes, meter| {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| Error::from(RecordError::at(bytes, e.valid_up_to(), "invalid UTF-8")))?;
        parse_bulk(text, default_index.as_deref(), &limits, |bytes| {
            meter.add(bytes)
        })
    })
    .await;
    if let Err(e) = &parsed {
        state.metrics.ingest_outcome("bulk", Err(e.status()));
    }
    let ((items, records), reservation) = parsed?;
    let stored = records.len();
    let first_seq = if records.is_empty() {
        0
    } else {
        let submitted = submit_for_seq(&state, records, wait_visible).await;
        let outcome = submitted.as_ref().map(|_| &stored);
        state
            .metrics
            .ingest_outcome("bulk", outcome.map_err(ApiError::status));
        submitted?
    };
    drop(reservation);
    let mut errors = false;
    let answers: Vec<Value> = items
        .into_iter()
        .map(|item| {
            let (action, body) = match item {
                Item::Store {
                    action,
                    index,
                    id,
                    record,
                } => {
                    let seq = first_seq + record as u64;
                    let id = id.unwrap_or_else(|| seq.to_string());
                    let body = json!({
                        "_index": index, "_id": id, "_version": 1, "result": "created",
                        "_shards": {"total": 1, "successful": 1, "failed": 0},
                        "_seq_no": seq, "_primary_term": 1, "status": 201,
                    });
                    (action, body)
                }
                Item::Failed {
                    action,
                    index,
                    id,
                    status,
                    kind,
                    reason,
                } => {
                    errors = true;
                    let body = json!({
                        "_index": index, "_id": id, "status": status,
                        "error": {"type": kind, "reason": reason},
                    });
                    (action, body)
                }
            };
            let mut item = Map::new();
            item.insert(action, body);
            Value::Object(item)
        })
        .collect();
    let answer =
        json!({ "took": started.elapsed().as_millis() as u64, "errors": errors, "items": answers });
    let mut response = Json(answer).into_response();
    response.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    Ok(response)
}

/// Submits the valid records and returns the sequence number of the first.
async fn submit_for_seq(
    state: &Shared,
    records: Vec<Record>,
    wait_visible: bool,
) -> Result<u64, ApiError> {
    let (count, first_seq) = submit(state, records, wait_visible).await?;
    debug_assert!(count > 0);
    Ok(first_seq)
}
