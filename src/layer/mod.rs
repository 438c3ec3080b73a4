//! A program's own logs, into its engine: a [`tracing_subscriber::Layer`]
//! and a [`log`] bridge (features `tracing` and `log`).
//!
//! The most natural use of an embedded log engine is a service searching
//! its own logs. [`EngineLayer`] records every `tracing` event as one
//! record of an [`Engine`]; [`LogBridge`] does the same for the `log`
//! crate's macros (libraries that still use them).
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! use logingest::layer::EngineLayer;
//! use logingest::{Engine, MemoryBackend, SearchRequest};
//!
//! let engine = Engine::builder().backend(MemoryBackend::new()).open()?;
//! let layer = EngineLayer::builder(engine.clone()).resource_id("checkout").build()?;
//! let handle = layer.handle();
//! let subscriber = tracing_subscriber::registry().with(layer);
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", trace_id = "4bf92f3577b34da6a3ce929d0e0e4736");
//!     let _in = span.enter();
//!     tracing::warn!(user = "alice", http.status = 503, "payment failed");
//! });
//! handle.flush()?; // handed to the engine, durable and searchable
//! let page = engine.search(&SearchRequest::parse(
//!     r#"level:warn AND metadata.user:alice AND metadata.http.status:503 AND resourceId:checkout"#,
//! )?)?;
//! assert_eq!(page.total, 1);
//! assert!(page.hits[0].source.contains(r#""traceId":"4bf92f3577b34da6a3ce929d0e0e4736""#));
//! # Ok::<(), logingest::Error>(())
//! ```
//!
//! **Never blocking the caller.** A logging call formats the event (as
//! `tracing_subscriber::fmt` does) and appends one line to a buffer bounded
//! in bytes; a thread of the layer ingests what accumulated, as one
//! submission, every `linger`. When the buffer is full the event is
//! dropped (or the oldest ones are: [`Overflow`]) and counted
//! ([`LayerHandle::stats`]); the caller never waits for storage.
//!
//! **What a record holds**: see `json.rs`: time of the call, level, message,
//! `metadata.target`, the fields of the event and of its enclosing spans
//! (the innermost wins), `metadata.span` (the innermost span's name), and
//! `traceId`/`spanId` from fields of those names.
//!
//! **No feedback loop.** Events whose target starts with `logingest`,
//! `tantivy`, `tokio_postgres` or `postgres` (the engine's crates, its
//! index, its PostgreSQL client) are not recorded by default: an engine
//! whose commits were logged into itself would never be idle. Filter the
//! layer (`.with_filter(LevelFilter::INFO)`) so that other libraries' debug
//! events stay out too.

mod json;
#[cfg(feature = "log")]
mod log_bridge;
mod sink;

use std::sync::Arc;
use std::time::Duration;

use tracing::span::{Attributes, Id, Record as SpanValues};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::{Engine, OpenError, WriteError};
use json::{Fields, RecordJson};
#[cfg(feature = "log")]
pub use log_bridge::LogBridge;
use sink::Sink;
pub use sink::{Overflow, SinkStats};

/// Default of [`EngineLayerBuilder::buffer_bytes`]: 8 MiB of formatted events.
pub const BUFFER_BYTES: usize = 8 << 20;

/// Default of [`EngineLayerBuilder::linger`].
pub const LINGER: Duration = Duration::from_millis(100);

/// Targets not recorded by default: those starting with one of these (the
/// engine's crates, its index and its PostgreSQL client, each of which may
/// log while the engine commits what the layer handed it).
const OWN_TARGETS: &[&str] = &["logingest", "tantivy", "tokio_postgres", "postgres"];

/// A `tracing` layer that records events into an [`Engine`]
/// (see the [module docs](self)).
pub struct EngineLayer {
    shared: Arc<Shared>,
}

/// What the layer, its handles and the log bridge share.
struct Shared {
    sink: Arc<Sink>,
    engine: Engine,
    resource_id: Option<String>,
    ignored: Vec<String>,
}

impl Shared {
    fn ignores(&self, target: &str) -> bool {
        self.ignored
            .iter()
            .any(|prefix| target.starts_with(prefix.as_str()))
    }
}

impl Drop for Shared {
    /// The last of the layer, its handles and bridges hands on what is
    /// buffered and stops the layer's thread (which holds an engine clone).
    fn drop(&mut self) {
        self.sink.close();
    }
}

/// Options of an [`EngineLayer`].
#[must_use]
pub struct EngineLayerBuilder {
    engine: Engine,
    buffer_bytes: usize,
    overflow: Overflow,
    linger: Duration,
    resource_id: Option<String>,
    ignored: Vec<String>,
}

impl EngineLayer {
    /// A layer recording into `engine` with default options.
    pub fn new(engine: Engine) -> Result<EngineLayer, OpenError> {
        EngineLayer::builder(engine).build()
    }

    /// Options: buffer size, what to drop when full, resource id.
    pub fn builder(engine: Engine) -> EngineLayerBuilder {
        EngineLayerBuilder {
            engine,
            buffer_bytes: BUFFER_BYTES,
            overflow: Overflow::default(),
            linger: LINGER,
            resource_id: None,
            ignored: OWN_TARGETS.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    /// A handle to flush the layer and read its counters after the layer
    /// moved into a subscriber.
    pub fn handle(&self) -> LayerHandle {
        LayerHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// A `log` crate logger feeding the same buffer (feature `log`);
    /// install it with `log::set_boxed_logger`.
    #[cfg(feature = "log")]
    pub fn log_bridge(&self) -> LogBridge {
        LogBridge::new(Arc::clone(&self.shared))
    }

    fn record(&self, level: &Level, target: &str, fill: impl FnOnce(&mut RecordJson) -> String) {
        if self.shared.ignores(target) {
            return;
        }
        let mut record = RecordJson::new(
            level_name(*level),
            target,
            self.shared.resource_id.as_deref(),
        );
        let message = fill(&mut record);
        self.shared.sink.push(record.finish(message));
    }
}

impl EngineLayerBuilder {
    /// Most bytes of formatted events waiting for the engine (default
    /// [`BUFFER_BYTES`]).
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// What to drop when the buffer is full (default: the new event).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// How long the layer's thread lets events gather before ingesting
    /// them as one submission (default [`LINGER`]).
    pub fn linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// The `resourceId` of every record (the service's name, say).
    pub fn resource_id(mut self, id: impl Into<String>) -> Self {
        self.resource_id = Some(id.into());
        self
    }

    /// Records the engine's own events too (targets starting with
    /// `logingest`, `tantivy`, `tokio_postgres`, `postgres`). Only with a
    /// filter that keeps them rare: each commit may log.
    pub fn record_own_events(mut self) -> Self {
        self.ignored.clear();
        self
    }

    /// Starts the layer's thread.
    pub fn build(self) -> Result<EngineLayer, OpenError> {
        if self.buffer_bytes == 0 {
            return Err(OpenError::InvalidConfig(
                "the layer's buffer_bytes must be more than 0".into(),
            ));
        }
        let sink = Sink::start(
            self.engine.clone(),
            self.buffer_bytes,
            self.overflow,
            self.linger,
        )
        .map_err(|e| OpenError::Backend {
            retryable: false,
            source: Arc::new(e),
        })?;
        Ok(EngineLayer {
            shared: Arc::new(Shared {
                sink,
                engine: self.engine,
                resource_id: self.resource_id,
                ignored: self.ignored,
            }),
        })
    }
}

/// Flushes an [`EngineLayer`] and reads its counters.
#[derive(Clone)]
pub struct LayerHandle {
    shared: Arc<Shared>,
}

impl LayerHandle {
    /// Hands every event recorded before the call to the engine.
    pub fn drain(&self) {
        self.shared.sink.drain();
    }

    /// [`LayerHandle::drain`], then flushes the engine: every event
    /// recorded before the call is durable and searchable.
    pub fn flush(&self) -> Result<(), WriteError> {
        self.drain();
        self.shared.engine.flush()
    }

    /// Events ingested and dropped so far.
    pub fn stats(&self) -> SinkStats {
        self.shared.sink.stats()
    }
}

impl<S> Layer<S> for EngineLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &SpanValues<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        self.record(meta.level(), meta.target(), |record| {
            let mut innermost = None;
            if let Some(scope) = ctx.event_scope(event) {
                for span in scope.from_root() {
                    if let Some(fields) = span.extensions().get::<Fields>() {
                        record.add(fields);
                    }
                    innermost = Some(span.name());
                }
            }
            if let Some(name) = innermost {
                record.set("span", name.into());
            }
            let mut fields = Fields::default();
            event.record(&mut fields);
            record.add(&fields);
            fields.message.unwrap_or_default()
        });
    }
}

/// The record's `level` for a `tracing` level.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}
