//! `GET /api/search`, `/api/histogram`, `/api/facets`, and their POST
//! form (`form`): each endpoint's work takes the caller and the name/value
//! parameters, wherever they came from.
//!
//! Every query is parsed once, restricted to what the caller may see (a
//! scoped read key ANDs its `resourceId` patterns into the query), and run
//! on the backend off the async runtime. Records are returned as raw JSON,
//! exactly as they were sent.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query as QueryString, Request, State};
use axum::http::HeaderMap;
use axum::Json;
use logingest::query::{parse_search_at, parse_time, Query};
use logingest::{
    project, Cursor, Error, FacetRequest, HistogramRequest, Order, SearchError, SearchRequest,
    TimeRange, Timestamp,
};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{body, form};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::state::Shared;

/// The parsed `q`, `from`, `to` of a request, with the caller's restriction applied.
pub struct Selection {
    /// The query, restricted.
    pub query: Query,
    /// `from` (inclusive) and `to` (exclusive).
    pub time: TimeRange,
    /// The fields each record returns (`| fields a, b`), when `q` lists
    /// them; only searches and the live tail use them.
    pub fields: Option<Vec<String>>,
}

/// Parses `q`, `from` and `to` for `principal` at time `now`.
pub fn selection(
    params: &HashMap<String, String>,
    principal: &Principal,
    now: Timestamp,
) -> Result<Selection, ApiError> {
    let text = params.get("q").map(String::as_str).unwrap_or("");
    let (query, fields) = parse_search_at(text, now).map_err(Error::from)?;
    Ok(Selection {
        query: principal.restrict(query),
        time: time_range(params, now)?,
        fields,
    })
}

/// `from` (inclusive) and `to` (exclusive) of a request, at time `now`.
pub fn time_range(params: &HashMap<String, String>, now: Timestamp) -> Result<TimeRange, ApiError> {
    let time_param = |name: &str| -> Result<Option<Timestamp>, ApiError> {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| {
                parse_time(v, now).map_err(|e| {
                    ApiError::bad_request(format!(
                        "`{name}` must be a time: RFC 3339 (`2023-09-15T08:00:00Z`), a date \
                         (`2023-09-15`) or a relative time (`now-1h`); {e}"
                    ))
                })
            })
            .transpose()
    };
    Ok(TimeRange {
        start: time_param("from")?,
        end: time_param("to")?,
    })
}

/// Runs blocking backend work off the async runtime, timing it.
pub(crate) async fn run<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    state: &Shared,
    endpoint: &'static str,
    work: impl FnOnce(&Shared) -> Result<T, E> + Send + 'static,
) -> Result<(T, u64), ApiError> {
    let state = Arc::clone(state);
    let started = Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let out = work(&state);
        state
            .metrics
            .query_seconds
            .with_label_values(&[endpoint])
            .observe(started.elapsed().as_secs_f64());
        out
    })
    .await
    .map_err(|e| ApiError::from(Error::backend_msg(false, e.to_string())))?
    .map_err(Into::into)?;
    Ok((result, started.elapsed().as_millis() as u64))
}

/// The answer of `/api/search`.
#[derive(Serialize)]
pub struct SearchAnswer {
    hits: Vec<Box<RawValue>>,
    total: u64,
    next_cursor: Option<String>,
    took_ms: u64,
}

/// `GET /api/search`.
pub async fn search(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<SearchAnswer>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "search")?;
    search_with(state, principal, raw).await
}

/// `POST /api/search`.
pub async fn search_post(
    State(state): State<Shared>,
    request: Request,
) -> Result<Json<SearchAnswer>, ApiError> {
    let (principal, raw) = form::posted(&state, request).await?;
    search_with(state, principal, raw).await
}

async fn search_with(
    state: Shared,
    principal: Principal,
    raw: HashMap<String, String>,
) -> Result<Json<SearchAnswer>, ApiError> {
    let params = body::params(raw, &["q", "from", "to", "limit", "cursor", "order"])?;
    let Selection {
        query,
        time,
        fields,
    } = selection(&params, &principal, Timestamp::now())?;
    let limit = body::number(
        &params,
        "limit",
        SearchRequest::DEFAULT_LIMIT,
        1,
        SearchRequest::MAX_LIMIT,
    )?;
    let order = match params.get("order").map(String::as_str) {
        None | Some("desc") => Order::Desc,
        Some("asc") => Order::Asc,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`order` must be `desc` or `asc`, not `{other}`"
            )))
        }
    };
    let cursor = params
        .get("cursor")
        .filter(|c| !c.is_empty())
        .map(|c| c.parse::<Cursor>())
        .transpose()?;
    let request = SearchRequest::new(query)
        .time(time)
        .order(order)
        .limit(limit)
        .cursor(cursor);
    let (page, took_ms) = run(&state, "search", move |state| {
        let page = state.engine.search(&request)?;
        let hits = page
            .hits
            .into_iter()
            .map(|hit| hit_json(hit.source, fields.as_deref()))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok::<_, Error>(JsonPage {
            hits,
            total: page.total,
            next_cursor: page.next_cursor,
        })
    })
    .await?;
    // `Json` serialises the raw hits verbatim: records go out exactly as
    // sent, or as the fields `| fields` chose.
    Ok(Json(SearchAnswer {
        hits: page.hits,
        total: page.total,
        next_cursor: page.next_cursor.map(|c| c.to_string()),
        took_ms,
    }))
}

/// A page of hits as JSON text.
struct JsonPage {
    hits: Vec<Box<RawValue>>,
    total: u64,
    next_cursor: Option<Cursor>,
}

/// A hit as it goes out: the record as sent, or the `fields` it lists
/// (an object of dotted paths in the order listed; see
/// `logingest::project`).
pub(crate) fn hit_json(source: String, fields: Option<&[String]>) -> Result<Box<RawValue>, Error> {
    let text = match fields {
        None => source,
        Some(fields) => {
            // `serde_json::Map` keeps keys sorted unless told otherwise: write the
            // object by hand to keep the order listed.
            let mut text = String::from("{");
            for (i, (name, value)) in project(&source, fields)?.into_iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                text.push_str(&Value::String(name).to_string());
                text.push(':');
                text.push_str(&value.to_string());
            }
            text.push('}');
            text
        }
    };
    RawValue::from_string(text)
        .map_err(|e| Error::backend_msg(false, format!("stored record is not JSON: {e}")))
}

/// `GET /api/histogram`: counts per time bucket. Without `from`/`to`, the
/// buckets span the first to the last matching record.
pub async fn histogram(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "search")?;
    histogram_with(state, principal, raw).await
}

/// `POST /api/histogram`.
pub async fn histogram_post(
    State(state): State<Shared>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (principal, raw) = form::posted(&state, request).await?;
    histogram_with(state, principal, raw).await
}

async fn histogram_with(
    state: Shared,
    principal: Principal,
    raw: HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let params = body::params(raw, &["q", "from", "to", "buckets"])?;
    let Selection { query, time, .. } = selection(&params, &principal, Timestamp::now())?;
    let buckets = body::number(&params, "buckets", 60, 1, HistogramRequest::MAX_BUCKETS)?;
    let (histogram, took_ms) = run(&state, "histogram", move |state| {
        let (start, end) = match (time.start, time.end) {
            (Some(s), Some(e)) => (s, e),
            (s, e) => {
                // An open end is the time of the first or last *matching*
                // record (so a scoped key learns nothing about other data,
                // and the buckets span what the query found).
                let edge = |order: Order| -> Result<Option<Timestamp>, SearchError> {
                    let request = SearchRequest::new(query.clone())
                        .time(time)
                        .order(order)
                        .limit(1);
                    Ok(state
                        .engine
                        .search(&request)?
                        .hits
                        .first()
                        .map(|h| h.timestamp))
                };
                let start = match s {
                    Some(s) => s,
                    None => edge(Order::Asc)?.unwrap_or(Timestamp::now()),
                };
                let end = match e {
                    Some(e) => e,
                    None => edge(Order::Desc)?.map_or(start, |t| Timestamp(t.0.saturating_add(1))),
                };
                (start, end.max(Timestamp(start.0.saturating_add(1))))
            }
        };
        if end <= start {
            return Err(SearchError::InvalidRequest(
                "`to` must be after `from`".into(),
            ));
        }
        state
            .engine
            .histogram(&HistogramRequest::new(query, start, end, buckets))
    })
    .await?;
    let width = histogram.bucket_width;
    let rows: Vec<Value> = histogram
        .counts
        .iter()
        .enumerate()
        .map(|(i, count)| {
            let start = Timestamp(
                histogram
                    .start
                    .0
                    .saturating_add(width.saturating_mul(i as i64)),
            );
            json!({ "start": start.to_rfc3339(), "count": count })
        })
        .collect();
    Ok(Json(json!({
        "start": histogram.start.to_rfc3339(),
        "interval_ms": width as f64 / 1e6,
        "buckets": rows,
        "total": histogram.counts.iter().sum::<u64>(),
        "took_ms": took_ms,
    })))
}

/// `GET /api/facets`: top values of a keyword field.
pub async fn facets(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "search")?;
    facets_with(state, principal, raw).await
}

/// `POST /api/facets`.
pub async fn facets_post(
    State(state): State<Shared>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (principal, raw) = form::posted(&state, request).await?;
    facets_with(state, principal, raw).await
}

async fn facets_with(
    state: Shared,
    principal: Principal,
    raw: HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let params = body::params(raw, &["q", "from", "to", "field", "size"])?;
    let Selection { query, time, .. } = selection(&params, &principal, Timestamp::now())?;
    let field = params
        .get("field")
        .cloned()
        .unwrap_or_else(|| "level".to_owned());
    let size = body::number(&params, "size", 10, 1, 1000)?;
    let request = FacetRequest::new(query, field.clone(), size).time(time);
    let (facets, took_ms) =
        run(&state, "facets", move |state| state.engine.facets(&request)).await?;
    let values: Vec<Value> = facets
        .into_iter()
        .map(|f| json!({ "value": f.value, "count": f.count }))
        .collect();
    Ok(Json(
        json!({ "field": field, "values": values, "took_ms": took_ms }),
    ))
}
