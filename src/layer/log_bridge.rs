//! [`LogBridge`]: the `log` crate's macros into the same buffer as the
//! `tracing` layer, for libraries that log through `log`.

use std::sync::Arc;

use super::json::RecordJson;
use super::Shared;

/// A [`log::Log`] that records into the engine of the
/// [`EngineLayer`](super::EngineLayer) it came from
/// ([`EngineLayer::log_bridge`](super::EngineLayer::log_bridge)).
///
/// ```
/// # use logingest::{layer::EngineLayer, Engine, MemoryBackend};
/// let engine = Engine::builder().backend(MemoryBackend::new()).open()?;
/// let layer = EngineLayer::new(engine)?;
/// // Once per process; the level filter is `log`'s own.
/// log::set_boxed_logger(Box::new(layer.log_bridge())).expect("no other logger");
/// log::set_max_level(log::LevelFilter::Info);
/// log::warn!(target: "billing", "invoice {} is late", 42);
/// # Ok::<(), logingest::Error>(())
/// ```
pub struct LogBridge {
    shared: Arc<Shared>,
}

impl LogBridge {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
        LogBridge { shared }
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        !self.shared.ignores(metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warn",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        let mut line = RecordJson::new(level, record.target(), self.shared.resource_id.as_deref());
        if let Some(module) = record.module_path() {
            line.set("module", module.into());
        }
        self.shared
            .sink
            .push(line.finish(record.args().to_string()));
    }

    fn flush(&self) {
        self.shared.sink.drain();
    }
}
