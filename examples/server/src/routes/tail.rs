//! `GET /api/tail?q=`: live tail as Server-Sent Events.
//!
//! Ingest publishes each request's records once they are visible (after the
//! periodic refresh, without forcing one); each subscriber filters them
//! with the reference evaluator against its own query, restricted like any
//! other read. Each event's data is one record exactly as sent; its id is
//! the record's timestamp. A subscriber that falls more than the backlog
//! behind gets a `lagged` event saying how many batches it missed.
//! Filtering a batch is CPU work in proportion to it, so it runs through
//! [`crate::cpu`], off the runtime's threads.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query as QueryString, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use logingest_core::query::Query;
use logingest_core::{matches, Record, Timestamp};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

use super::body;
use super::search::{selection, Selection};
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// The events of the records of `records` that match `query`.
fn matching_events(query: &Query, records: &[Record]) -> Vec<Result<Event, Infallible>> {
    records
        .iter()
        .filter(|r| matches(query, r))
        .map(|r| {
            Ok(Event::default()
                .id(r.timestamp().to_rfc3339())
                .data(r.source()))
        })
        .collect()
}

/// Handles a tail subscription.
pub async fn tail(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "tail")?;
    let params = body::params(raw, &["q"])?;
    let Selection { query, .. } = selection(&params, &principal, Timestamp::now())?;
    let ready = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let query = Arc::new(query);
    let subscription = state.tail.subscribe();
    let events = BroadcastStream::new(subscription)
        .then(move |batch| {
            let (query, state) = (Arc::clone(&query), Arc::clone(&state));
            async move {
                match batch {
                    // Evaluating the query over a batch is CPU work
                    // proportional to the batch: off the runtime's threads.
                    Ok(records) => state
                        .cpu
                        .run(move || matching_events(&query, &records))
                        .await
                        .unwrap_or_default(),
                    Err(BroadcastStreamRecvError::Lagged(missed)) => {
                        vec![Ok(Event::default()
                            .event("lagged")
                            .data(format!("{{\"missed_batches\":{missed}}}")))]
                    }
                }
            }
        })
        .flat_map(stream::iter);
    Ok(Sse::new(ready.chain(events)).keep_alive(KeepAlive::default()))
}
