//! `GET /api/parse?q=`: what a query means, clause by clause, and whether
//! its pipes make rows (`| stats ...`: the UI then asks `/api/query`).
//!
//! The web UI keeps its structured filters and the query text in step. Rather
//! than a second parser in JavaScript (which would drift from the real one),
//! it asks the server: the answer lists the clauses of the query's top-level
//! `AND` with their place in the text and their meaning as a small JSON tree.
//! Syntax errors are the search endpoint's 400 with the byte position.

use std::collections::HashMap;
use std::ops::Bound;

use axum::extract::{Query as QueryString, State};
use axum::http::HeaderMap;
use axum::Json;
use logingest::number::Number;
use logingest::query::{parse_conjuncts, parse_filter_at, parse_pipeline_at, Query, WildcardPart};
use logingest::{Error, Timestamp};
use serde_json::{json, Value};

use super::body;
use crate::auth::Role;
use crate::error::ApiError;
use crate::state::Shared;

/// `GET /api/parse`.
pub async fn parse(
    State(state): State<Shared>,
    QueryString(raw): QueryString<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers, Role::Read, "parse queries")?;
    let params = body::params(raw, &["q"])?;
    let text = params.get("q").map(String::as_str).unwrap_or("");
    let now = Timestamp::now();
    // The whole pipeline, so that an error in its pipes is reported too.
    let pipeline = parse_pipeline_at(text, now).map_err(Error::from)?;
    let (_, pipes_at) = parse_filter_at(text, now).map_err(Error::from)?;
    let clauses: Vec<Value> = parse_conjuncts(text, now)
        .map_err(Error::from)?
        .into_iter()
        .map(|c| {
            json!({
                "text": &text[c.span.clone()],
                "start": c.span.start,
                "end": c.span.end,
                "query": tree(&c.query),
            })
        })
        .collect();
    Ok(Json(json!({
        "query": pipeline.to_string(),
        "clauses": clauses,
        "rows": pipeline.makes_rows(),
        "pipes_at": pipes_at,
    })))
}

/// A query as JSON: `{"type": ..., ...}`, one shape per AST node.
fn tree(query: &Query) -> Value {
    match query {
        Query::All => json!({ "type": "all" }),
        Query::Keyword { field, value } => {
            json!({ "type": "keyword", "field": field, "value": value })
        }
        Query::Phrase { tokens } => {
            json!({ "type": "phrase", "field": "message", "tokens": tokens })
        }
        Query::Wildcard { field, pattern } => {
            let parts: Vec<Value> = pattern
                .parts
                .iter()
                .map(|p| match p {
                    WildcardPart::Literal(s) => json!(s),
                    WildcardPart::AnyChar => json!({ "any": "char" }),
                    WildcardPart::AnyString => json!({ "any": "string" }),
                })
                .collect();
            json!({ "type": "wildcard", "field": field.name(), "parts": parts })
        }
        Query::Regex { field, pattern } => {
            json!({ "type": "regex", "field": field.name(), "pattern": pattern.as_str() })
        }
        Query::Range { start, end } => json!({
            "type": "range",
            "field": "timestamp",
            "start": bound(start),
            "end": bound(end),
        }),
        Query::NumberRange { field, start, end } => json!({
            "type": "number_range",
            "field": field,
            "start": number_bound(start),
            "end": number_bound(end),
        }),
        Query::Exists { field } => json!({ "type": "exists", "field": field }),
        Query::And(children) => {
            json!({ "type": "and", "children": children.iter().map(tree).collect::<Vec<_>>() })
        }
        Query::Or(children) => {
            json!({ "type": "or", "children": children.iter().map(tree).collect::<Vec<_>>() })
        }
        Query::Not(child) => json!({ "type": "not", "child": tree(child) }),
        // A node of a newer language version: its text, which the UI
        // shows as an "other" clause.
        other => json!({ "type": "other", "text": other.to_string() }),
    }
}

/// `{"time": ..., "inclusive": ...}`, or null when open.
fn bound(b: &Bound<Timestamp>) -> Value {
    match b {
        Bound::Included(t) => json!({ "time": t.to_rfc3339(), "inclusive": true }),
        Bound::Excluded(t) => json!({ "time": t.to_rfc3339(), "inclusive": false }),
        Bound::Unbounded => Value::Null,
    }
}

/// `{"number": ..., "inclusive": ...}`, or null when open.
fn number_bound(b: &Bound<Number>) -> Value {
    match b {
        Bound::Included(n) => json!({ "number": n.get(), "inclusive": true }),
        Bound::Excluded(n) => json!({ "number": n.get(), "inclusive": false }),
        Bound::Unbounded => Value::Null,
    }
}
