//! `GET /api/query` and `POST /api/query`: the rows of a query with a
//! `stats` or `top` pipe (`level:error | stats count() by (resourceId)`).
//!
//! The filter is restricted to what the caller may see exactly as a search
//! is (a scoped key ANDs its patterns in), so a scoped key's rows count
//! only its own records; the rows are computed off the async runtime. A
//! query without such a pipe is refused with a pointer to `/api/search`,
//! as `/api/search` refuses pipes with a pointer here.

use std::collections::HashMap;

use axum::extract::{Query as QueryString, Request, State};
use axum::http::HeaderMap;
use axum::Json;
use logingest::query::parse_pipeline_at;
use logingest::{Cell, Error, RowsRequest, Timestamp};
use serde_json::{json, Value};

use super::search::{run, time_range};
use super::{body, form};
use crate::auth::{Principal, Role};
use crate::error::ApiError;
use crate::state::Shared;

/// `GET /api/query`.
pub async fn query(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let principal = state.authorize(&headers, Role::Read, "search")?;
    query_with(state, principal, raw).await
}

/// `POST /api/query`.
pub async fn query_post(
    State(state): State<Shared>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let (principal, raw) = form::posted(&state, request).await?;
    query_with(state, principal, raw).await
}

async fn query_with(
    state: Shared,
    principal: Principal,
    raw: HashMap<String, String>,
) -> Result<Json<Value>, ApiError> {
    let params = body::params(raw, &["q", "from", "to"])?;
    let now = Timestamp::now();
    let text = params.get("q").map(String::as_str).unwrap_or("");
    let mut pipeline = parse_pipeline_at(text, now).map_err(Error::from)?;
    if !pipeline.makes_rows() {
        return Err(ApiError::bad_request(
            "/api/query answers queries with a `stats` or `top` pipe \
             (`level:error | stats count() by (resourceId)`); for records, use /api/search",
        ));
    }
    pipeline.filter = principal.restrict(pipeline.filter);
    let request = RowsRequest::new(pipeline).time(time_range(&params, now)?);
    let (rows, took_ms) = run(&state, "query", move |state| state.engine.rows(&request)).await?;
    let cells: Vec<Value> = rows
        .rows
        .iter()
        .map(|row| Value::Array(row.iter().map(cell).collect()))
        .collect();
    Ok(Json(json!({
        "columns": rows.columns,
        "rows": cells,
        "took_ms": took_ms,
    })))
}

/// A cell as JSON: counts and numbers as numbers, times as RFC 3339, null.
fn cell(cell: &Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Text(text) => json!(text),
        Cell::Number(n) => json!(n.get()),
        Cell::Count(n) => json!(n),
        Cell::Time(t) => json!(t.to_rfc3339()),
    }
}
