//! [`EngineBuilder`]: every option of an [`Engine`] in one place, with the
//! defaults the server uses.

use std::sync::Arc;
use std::time::Duration;

use logingest_core::ingest::{BatchPolicy, IngestConfig, WhenFull};
use logingest_core::{Backend, Limits, OpenError};

use super::Engine;

/// Options of an [`Engine`]; [`Engine::builder`] makes one.
///
/// The backend is either given ([`EngineBuilder::backend`]) or, with the
/// `tantivy` feature, the embedded one in a directory
/// ([`EngineBuilder::dir`], [`EngineBuilder::tantivy`]).
///
/// ```
/// use std::time::Duration;
/// use logingest::ingest::BatchPolicy;
/// use logingest::{Engine, MemoryBackend};
///
/// let engine = Engine::builder()
///     .backend(MemoryBackend::new())
///     .batch_policy(BatchPolicy::new(10_000, 16 << 20, Duration::from_millis(20))?)
///     .refresh_interval(Duration::from_millis(500))
///     .open()?;
/// # engine.close()?;
/// # Ok::<(), logingest::Error>(())
/// ```
#[must_use]
pub struct EngineBuilder {
    backend: Option<Source>,
    ingest: IngestConfig,
    limits: Limits,
    tail_memory_bytes: usize,
}

/// Default of [`EngineBuilder::tail_memory_bytes`]: 64 MiB.
pub const TAIL_MEMORY_BYTES: usize = 64 << 20;

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            backend: None,
            ingest: IngestConfig::default(),
            limits: Limits::default(),
            tail_memory_bytes: TAIL_MEMORY_BYTES,
        }
    }
}

enum Source {
    Backend(Arc<dyn Backend>),
    #[cfg(feature = "tantivy")]
    Tantivy(std::path::PathBuf, logingest_tantivy::TantivyConfig),
}

impl EngineBuilder {
    /// Uses `backend` (any [`Backend`]: the pg backend, the memory backend,
    /// one of your own).
    pub fn backend(self, backend: impl Backend + 'static) -> Self {
        self.shared_backend(Arc::new(backend))
    }

    /// Uses a backend already shared in an `Arc`.
    pub fn shared_backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = Some(Source::Backend(backend));
        self
    }

    /// Uses the embedded backend in `dir` (created if missing), with
    /// default options.
    #[cfg(feature = "tantivy")]
    pub fn dir(self, dir: impl AsRef<std::path::Path>) -> Self {
        self.tantivy(dir, logingest_tantivy::TantivyConfig::default())
    }

    /// Uses the embedded backend in `dir` with `config`. Its own refresh
    /// thread is turned off: the engine's pipeline refreshes.
    #[cfg(feature = "tantivy")]
    pub fn tantivy(
        mut self,
        dir: impl AsRef<std::path::Path>,
        config: logingest_tantivy::TantivyConfig,
    ) -> Self {
        self.backend = Some(Source::Tantivy(dir.as_ref().to_owned(), config));
        self
    }

    /// When a batch is cut: most records, most bytes, longest wait.
    pub fn batch_policy(mut self, policy: BatchPolicy) -> Self {
        self.ingest.policy = policy;
        self
    }

    /// Most submissions and most bytes of records queued for the flusher.
    pub fn queue(mut self, submissions: usize, bytes: usize) -> Self {
        self.ingest.queue_capacity = submissions;
        self.ingest.max_queued_bytes = bytes;
        self
    }

    /// What `ingest` does when the queue is full: wait up to a timeout
    /// (the default, 5 s) or refuse at once.
    pub fn when_full(mut self, when_full: WhenFull) -> Self {
        self.ingest.when_full = when_full;
        self
    }

    /// How soon ingested records become searchable without an explicit
    /// wait (a periodic refresh). Default 1 s.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.ingest.refresh_interval = interval;
        self
    }

    /// The whole pipeline configuration at once (with an observer, say).
    pub fn ingest_config(mut self, config: IngestConfig) -> Self {
        self.ingest = config;
        self
    }

    /// Limits of bodies parsed by [`Engine::ingest_json`].
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Most memory of records copied for tails ([`Engine::tail`],
    /// [`Engine::subscribe`]) while they wait to become searchable;
    /// past it a submission is not copied and tails are told they missed
    /// it. Default [`TAIL_MEMORY_BYTES`]. Nothing is copied while nobody
    /// tails.
    pub fn tail_memory_bytes(mut self, bytes: usize) -> Self {
        self.tail_memory_bytes = bytes;
        self
    }

    /// Opens the backend (for the embedded one: creating or recovering its
    /// directory) and starts the pipeline.
    ///
    /// Errors: [`OpenError::InvalidConfig`] without a backend or for
    /// invalid options; the backend's error if it cannot open.
    pub fn open(self) -> Result<Engine, OpenError> {
        self.ingest.validate()?;
        let backend: Arc<dyn Backend> =
            match self.backend {
                Some(Source::Backend(backend)) => backend,
                #[cfg(feature = "tantivy")]
                Some(Source::Tantivy(dir, config)) => Arc::new(
                    logingest_tantivy::TantivyBackend::open(&dir, config.refresh_interval(None))?,
                ),
                None => return Err(OpenError::InvalidConfig(
                    "no backend: call `backend(...)` (or `dir(...)` with the `tantivy` feature)"
                        .into(),
                )),
            };
        Engine::start(backend, self.ingest, self.limits, self.tail_memory_bytes)
    }
}
