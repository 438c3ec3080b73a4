//! Operations: `/healthz`, `/metrics`, `POST /api/flush`, and `GET /`
//! (the web UI for browsers, an Elasticsearch-style info document for
//! clients that ask for JSON, as shippers probe it before `_bulk`).

use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use logingest::Error;
use serde_json::{json, Value};

use crate::auth::Role;
use crate::error::{degraded_reason, ApiError};
use crate::metrics::MemoryBudget;
use crate::state::Shared;

/// Version of Elasticsearch whose API subset `/_bulk` follows.
pub const ES_COMPAT_VERSION: &str = "8.11.0";

/// `GET /healthz`: 200 while the backend answers and is healthy; 503
/// `{"status": "degraded", "reason": ...}` (with `Retry-After`) while it
/// answers but is degraded, e.g. refuses writes because its disk is full
/// (the backend re-checks on each call, so the answer turns back to ok by
/// itself once space is freed). Needs no key, for load balancers; the
/// record count is included only when the server has no auth file (it
/// would tell anyone how much data every resource has).
pub async fn healthz(State(state): State<Shared>) -> Result<Response, ApiError> {
    let open = state.keys.is_none();
    let (stats, health) = tokio::task::spawn_blocking(move || {
        let health = state.engine.health();
        state.engine.stats().map(|stats| (stats, health))
    })
    .await
    .map_err(|e| ApiError::from(Error::backend_msg(false, e.to_string())))??;
    let mut body = match &health {
        Ok(()) => json!({ "status": "ok" }),
        Err(e) => json!({ "status": "degraded", "reason": degraded_reason(e) }),
    };
    if open {
        body["records"] = json!(stats.records);
    }
    Ok(match health {
        Ok(()) => Json(body).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(body),
        )
            .into_response(),
    })
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.authorize(&headers, Role::Admin, "read metrics")?;
    let stats = state.engine.ingest_stats();
    let mut memory = vec![
        MemoryBudget {
            name: "ingest_requests",
            limit: state.requests.limit(),
            used: Some(state.requests.used()),
        },
        MemoryBudget {
            name: "tail",
            limit: state.tail.budget().limit(),
            used: Some(state.tail.budget().used()),
        },
        {
            // Copies the engine holds until they are searchable.
            let (used, limit) = state.engine.tail_memory();
            MemoryBudget {
                name: "tail_pending",
                limit,
                used: Some(used),
            }
        },
    ];
    memory.extend(
        state
            .backend_memory
            .iter()
            .map(|&(name, limit)| MemoryBudget {
                name,
                limit,
                used: None,
            }),
    );
    let text = state.metrics.render(stats, &memory);
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// `POST /api/flush`: everything accepted so far is durable and searchable when this answers.
pub async fn flush(
    State(state): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    state.authorize(&headers, Role::Ingest, "flush")?;
    let started = std::time::Instant::now();
    state.engine.flush_async().await?;
    Ok(Json(
        json!({ "flushed": true, "took_ms": started.elapsed().as_millis() as u64 }),
    ))
}

/// `GET /`: the UI, or server info for clients that want JSON.
pub async fn root(
    State(state): State<Shared>,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("json") && !accept.contains("text/html"));
    if !wants_json {
        return Ok(Html(super::ui::index_page(original.path(), uri.path())).into_response());
    }
    state
        .authorize(&headers, Role::Ingest, "read server info")
        .or_else(|_| state.authorize(&headers, Role::Read, "read server info"))?;
    let info = json!({
        "name": "logingest",
        "cluster_name": "logingest",
        "cluster_uuid": "logingest",
        "version": {
            "number": ES_COMPAT_VERSION,
            "build_flavor": "default",
            "build_type": "logingest",
            "lucene_version": "9.8.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
            "logingest": env!("CARGO_PKG_VERSION"),
        },
        "tagline": "You Know, for Search",
    });
    // Elasticsearch clients (e.g. elasticsearch-py 8.x) refuse a server whose
    // successful answers lack this header.
    Ok((
        StatusCode::OK,
        [("x-elastic-product", "Elasticsearch")],
        Json(info),
    )
        .into_response())
}
