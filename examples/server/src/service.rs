//! [`Service`]: the HTTP API and the web UI as one axum [`Router`], for the
//! `logingest serve` binary and for any service that embeds an [`Engine`].
//!
//! Why a builder over the server's state: a Rust service that searches its
//! own logs wants the same search page and API the server has, mounted
//! under a path of its own router (`Router::nest("/logs", ...)`), without
//! running a second HTTP server. The binary builds its router the same
//! way, so the two cannot drift apart.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use logingest::Engine;
//! use logingest_server::Service;
//!
//! let engine = Engine::open("./data")?;
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "my service" }))
//!     .nest("/logs", Service::new(engine).router()?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Mounted under a path, the UI is served at that path (`/logs/`); its
//! page, scripts and API calls use URLs relative to it. What the embedded
//! router does not do: the binary's checks of request heads before hyper
//! parses them (`head`), which need its own listener.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use logingest::{Engine, TAIL_MEMORY_BYTES};

use crate::auth::Keys;
use crate::budget::{Budget, RecordRatio, Wait};
use crate::cpu::Cpu;
use crate::metrics::Metrics;
use crate::routes;
use crate::state::{AppState, Shared};
use crate::tail::TailHub;

/// Default of [`Service::ingest_memory_bytes`]: 512 MiB.
pub const INGEST_MEMORY_BYTES: usize = 512 << 20;

/// Default of [`Service::wait_when_full`]: 2 s.
pub const WAIT_WHEN_FULL: Duration = Duration::from_secs(2);

/// Why a [`Service`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(String);

impl From<String> for ServiceError {
    fn from(message: String) -> Self {
        ServiceError(message)
    }
}

/// The HTTP API and web UI of an [`Engine`], built into a [`Router`].
#[must_use]
pub struct Service {
    engine: Engine,
    keys: Option<Keys>,
    tail_memory_bytes: usize,
    ingest_memory_bytes: usize,
    wait: Wait,
    metrics: Arc<Metrics>,
    backend_memory: Vec<(&'static str, usize)>,
}

impl Service {
    /// The API and UI of `engine`, open to every caller (see
    /// [`Service::auth_file`]), with default budgets.
    pub fn new(engine: Engine) -> Service {
        Service {
            engine,
            keys: None,
            tail_memory_bytes: TAIL_MEMORY_BYTES,
            ingest_memory_bytes: INGEST_MEMORY_BYTES,
            wait: Wait::UpTo(WAIT_WHEN_FULL),
            metrics: Arc::new(Metrics::new()),
            backend_memory: Vec::new(),
        }
    }

    /// API keys and their roles from a TOML file (docs/http-api.md):
    /// requests without a known key are refused.
    pub fn auth_file(mut self, path: &Path) -> Result<Service, ServiceError> {
        self.keys = Some(Keys::load(path).map_err(ServiceError)?);
        Ok(self)
    }

    /// Memory for records kept for slow live-tail readers, in bytes
    /// (default: the engine's own default tail budget).
    pub fn tail_memory_bytes(mut self, bytes: usize) -> Service {
        self.tail_memory_bytes = bytes;
        self
    }

    /// Memory for ingest requests in flight, in bytes (default
    /// [`INGEST_MEMORY_BYTES`]); at least the engine's largest body.
    pub fn ingest_memory_bytes(mut self, bytes: usize) -> Service {
        self.ingest_memory_bytes = bytes;
        self
    }

    /// How long a request waits for room in a full budget before it is
    /// answered 503 (`None`: at once; default [`WAIT_WHEN_FULL`]).
    pub fn wait_when_full(mut self, wait: Option<Duration>) -> Service {
        self.wait = wait.map_or(Wait::No, Wait::UpTo);
        self
    }

    /// The metrics `/metrics` reports; the binary also gives them to the
    /// engine's ingester as its observer.
    pub(crate) fn metrics(mut self, metrics: Arc<Metrics>) -> Service {
        self.metrics = metrics;
        self
    }

    /// What the backend holds in memory at most, by part, for `/metrics`.
    pub(crate) fn backend_memory(mut self, memory: Vec<(&'static str, usize)>) -> Service {
        self.backend_memory = memory;
        self
    }

    /// The router: every endpoint of docs/http-api.md and the UI at `/`.
    /// Subscribes to the engine's live tail.
    pub fn router(self) -> Result<Router, ServiceError> {
        self.build().map(|(router, _)| router)
    }

    /// The router and the state its handlers share (the binary's syslog
    /// listeners submit through it too).
    pub(crate) fn build(self) -> Result<(Router, Shared), ServiceError> {
        let max_body = self.engine.limits().max_body_bytes;
        if self.ingest_memory_bytes < max_body {
            return Err(ServiceError(format!(
                "--ingest-memory-bytes ({}) must be at least --max-body-bytes ({max_body}): \
                 a body of the largest size could never be read",
                self.ingest_memory_bytes
            )));
        }
        let tail = TailHub::new(self.tail_memory_bytes);
        self.engine.subscribe(Arc::new(tail.clone()));
        let state = Arc::new(AppState {
            engine: self.engine,
            keys: self.keys,
            tail,
            metrics: self.metrics,
            cpu: Cpu::per_core().map_err(ServiceError)?,
            requests: Budget::new(
                "memory for ingest requests",
                "--ingest-memory-bytes",
                self.ingest_memory_bytes,
            ),
            record_ratio: RecordRatio::new(),
            wait: self.wait,
            backend_memory: self.backend_memory,
        });
        Ok((routes::router(Arc::clone(&state)), state))
    }
}
