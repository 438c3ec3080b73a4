//! What every handler shares: the engine, keys, live tail and metrics.

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use logingest::Engine;

use crate::auth::{Keys, Principal, Role};
use crate::budget::{Budget, RecordRatio, Wait};
use crate::cpu::Cpu;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::tail::TailHub;

/// Shared state of the server.
pub struct AppState {
    /// The backend and the ingest pipeline in front of it; its limits are
    /// the record parsing limits.
    pub engine: Engine,
    /// API keys; `None` = no auth (every caller is admin).
    pub keys: Option<Keys>,
    /// Live tail: records published once visible.
    pub tail: TailHub,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Where CPU-bound request work runs.
    pub cpu: Cpu,
    /// Memory of ingest requests in flight, from the first byte read until
    /// their records are acknowledged (`--ingest-memory-bytes`).
    pub requests: Budget,
    /// What ingest requests reserve for their records before parsing.
    pub record_ratio: RecordRatio,
    /// How long a request waits for room in a budget (`--when-full`).
    pub wait: Wait,
    /// Memory the embedded backend is configured to use, by part, for
    /// `/metrics` (empty on the pg backend).
    pub backend_memory: Vec<(&'static str, usize)>,
}

/// Shared state as handlers receive it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// The caller of a request, if it may act with `needed`: 401 without a
    /// known key, 403 when its role lacks the right.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        needed: Role,
        action: &str,
    ) -> Result<Principal, ApiError> {
        let Some(keys) = &self.keys else {
            return Ok(Principal::anonymous());
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme name is case-insensitive (RFC 9110, section 11.1).
                let (scheme, key) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then_some(key)
            })
            .map(str::trim);
        let principal = presented
            .and_then(|key| keys.find(key))
            .ok_or_else(ApiError::unauthorized)?;
        if !principal.allows(needed) {
            let role = format!("{:?}", principal.role).to_lowercase();
            return Err(ApiError::forbidden(&role, action));
        }
        Ok(principal.clone())
    }
}
