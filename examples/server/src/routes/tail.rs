//! `GET /api/tail?q=`: live tail as Server-Sent Events.
//!
//! Ingest publishes each request's records once they are visible (after the
//! periodic refresh, without forcing one); each subscriber filters them
//! with the reference evaluator against its own query, restricted like any
//! other read. Each event's data is one record exactly as sent; its id is
//! the record's timestamp. A subscriber that falls so far behind that the
//! tail budget cannot keep what it has not read (`crate::tail`) gets a
//! `lagged` event saying how many records it missed. Filtering a batch is
//! CPU work in proportion to it, so it runs through [`crate::cpu`], off the
//! runtime's threads; should that fail, an `error` event ends the stream.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Query as QueryString, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use logingest::query::Query;
use logingest::{matches, Record, Timestamp};
use serde_json::json;

use super::body;
use super::search::{hit_json, selection, Selection};
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;
use crate::tail::{Batch, Next, Subscription};

/// Numbers of the records of `records` that match `query`.
fn matching(query: &Query, records: &[Record]) -> Vec<usize> {
    records
        .iter()
        .enumerate()
        .filter(|(_, r)| matches(query, r))
        .map(|(i, _)| i)
        .collect()
}

/// The event of a record: the record as sent, or the fields `| fields`
/// lists (as `/api/search` returns them; one record's work, like matching
/// it).
fn record_event(record: &Record, fields: Option<&[String]>) -> Event {
    let event = Event::default().id(record.timestamp().to_rfc3339());
    match fields {
        None => event.data(record.source()),
        Some(fields) => match hit_json(record.source().to_owned(), Some(fields)) {
            Ok(json) => event.data(json.get()),
            Err(_) => event.data(record.source()),
        },
    }
}

/// A subscriber's stream: where it is in the hub, and the batch whose
/// matching records it is sending.
struct Reader {
    subscription: Subscription,
    state: Shared,
    query: Arc<Query>,
    /// What `| fields` chose of each record, if anything.
    fields: Option<Arc<[String]>>,
    sending: Option<(Arc<Batch>, std::vec::IntoIter<usize>)>,
    /// An error event was sent: the stream ends.
    ended: bool,
}

impl Reader {
    /// The next event; `None` ends the stream. Events are made one at a
    /// time from the shared batch, so a client that reads slowly holds one
    /// batch (counted in the tail budget) and one event.
    async fn next_event(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        loop {
            if let Some((batch, numbers)) = &mut self.sending {
                if let Some(i) = numbers.next() {
                    return Some(record_event(&batch.records()[i], self.fields.as_deref()));
                }
                self.sending = None;
            }
            match self.subscription.next().await {
                Next::Batch(batch) => {
                    // Evaluating the query over a batch is CPU work
                    // proportional to it: off the runtime's threads.
                    let (query, records) = (Arc::clone(&self.query), Arc::clone(&batch));
                    let numbers = self
                        .state
                        .cpu
                        .run(move || matching(&query, records.records()))
                        .await;
                    match numbers {
                        Ok(numbers) => self.sending = Some((batch, numbers.into_iter())),
                        Err(e) => {
                            // The client learns why the stream ends.
                            self.ended = true;
                            let data = json!({ "error": e.message() }).to_string();
                            return Some(Event::default().event("error").data(data));
                        }
                    }
                }
                Next::Missed(records) => {
                    let data = json!({ "missed_records": records }).to_string();
                    return Some(Event::default().event("lagged").data(data));
                }
            }
        }
    }
}

/// Handles a tail subscription.
pub async fn tail(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "tail")?;
    let params = body::params(raw, &["q"])?;
    let Selection { query, fields, .. } = selection(&params, &principal, Timestamp::now())?;
    let ready = stream::once(async { Ok(Event::default().event("ready").data("{}")) });
    let reader = Reader {
        subscription: state.tail.subscribe(),
        query: Arc::new(query),
        fields: fields.map(Arc::from),
        state,
        sending: None,
        ended: false,
    };
    let events = stream::unfold(reader, |mut reader| async move {
        let event = reader.next_event().await?;
        Some((Ok(event), reader))
    });
    Ok(Sse::new(ready.chain(events)).keep_alive(KeepAlive::default()))
}
