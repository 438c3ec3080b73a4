//! CPU-bound request work (decompressing, parsing) off the async runtime.
//!
//! Why: the runtime has one worker thread per core, and every connection's
//! I/O is driven by them. A handler that parses a large or adversarial body
//! on a worker holds every task queued behind it: with two such requests on
//! a 2-core machine, `/healthz` once took 17 s. So handlers hand such work
//! to [`Cpu::run`]: it waits (asynchronously) for one of as many permits as
//! the machine has cores, then runs the work on tokio's blocking pool. The
//! permits keep CPU work from growing the blocking pool to hundreds of busy
//! threads, and the runtime's workers stay free to serve everything else.

use std::sync::Arc;

use logingest_core::Error;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Runs CPU-bound closures on the blocking pool, at most `permits` at once.
pub struct Cpu {
    permits: Arc<Semaphore>,
}

impl Cpu {
    /// A runner for `permits` concurrent jobs (at least one).
    pub fn new(permits: usize) -> Self {
        Cpu {
            permits: Arc::new(Semaphore::new(permits.max(1))),
        }
    }

    /// One permit per available core.
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `work` on the blocking pool once a permit is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        // The semaphore is never closed; a failure here or a panic in the
        // work is logged, and the client gets a message of our own.
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "{what}");
            ApiError::from(Error::backend_msg(
                false,
                "the request could not be processed",
            ))
        };
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| failed("no CPU permit", &e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| failed("request work failed", &e))
    }
}
