//! The HTTP routes, one file per area.

mod body;
mod bulk;
mod form;
mod ingest;
mod loki;
mod ops;
mod otlp;
mod parse;
mod protocol;
mod query;
mod search;
mod tail;
pub mod ui;

pub(crate) use ingest::{enqueue, MaybeStored};

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::head;
use crate::state::Shared;

/// The whole HTTP API (see docs/http-api.md).
pub fn router(state: Shared) -> Router {
    // Ingest bodies are read by `body::parse_reserved` (byte budget, limit
    // after gzip decompression); this limit covers any other extractor.
    let raw_limit = state.engine.limits().max_body_bytes.saturating_add(1024);
    Router::new()
        .route("/", get(ops::root).post(ingest::ingest))
        .route("/logs", post(ingest::ingest))
        .route("/_bulk", post(bulk::bulk).put(bulk::bulk))
        .route(
            "/{index}/_bulk",
            post(bulk::bulk_index).put(bulk::bulk_index),
        )
        .route("/v1/logs", post(otlp::logs))
        .route("/loki/api/v1/push", post(loki::push))
        .route("/ui/{file}", get(ui::asset))
        .route("/api/parse", get(parse::parse))
        .route("/api/search", get(search::search).post(search::search_post))
        .route("/api/query", get(query::query).post(query::query_post))
        .route(
            "/api/histogram",
            get(search::histogram).post(search::histogram_post),
        )
        .route("/api/facets", get(search::facets).post(search::facets_post))
        .route("/api/tail", get(tail::tail))
        .route("/api/flush", post(ops::flush))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(raw_limit))
        // Outermost: the head limits come before anything reads the request.
        .layer(axum::middleware::from_fn(head::enforce))
        .with_state(state)
}

/// Unknown paths get a JSON error like every other failure.
async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no endpoint {method} {}; see docs/http-api.md", uri.path()),
    )
}

/// A known path with a method it does not take.
async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not take {method}", uri.path()),
    )
}
