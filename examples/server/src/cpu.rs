//! CPU-bound request work (decompressing, parsing, live-tail filtering and
//! copying) off the async runtime, on threads of its own.
//!
//! Why off the runtime: it has one worker thread per core, and every
//! connection's I/O is driven by them. A handler that parses a large or
//! adversarial body on a worker holds every task queued behind it: with two
//! such requests on a 2-core machine, `/healthz` once took 17 s. So
//! handlers hand such work to [`Cpu::run`], and the workers stay free to
//! serve everything else.
//!
//! Why threads of its own (one per core) rather than tokio's blocking pool:
//! the records a request parses are most of the memory the server holds,
//! and the allocator keeps freed memory with the thread that allocated it
//! (glibc gives threads up to eight arenas per core; a record freed by the
//! flusher goes back to the arena of the thread that parsed it, which keeps
//! it for that thread's next allocation). Parsed on whichever of the
//! blocking pool's many threads was free, every arena grew to hold a whole
//! request: under a flood of 4 MiB bodies, peak RSS was 2.7–3.0 times the
//! configured budgets. Parsed on the same few threads, freed memory is
//! reused by the next request instead (the figures: docs/hardening.md,
//! class 6). A permit per thread, taken asynchronously and in order, keeps
//! jobs from queueing inside the pool where nobody waits for them.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use logingest::Error;
use tokio::sync::{oneshot, Semaphore};

use crate::error::ApiError;

/// Runs CPU-bound closures on a pool of its own, one job per thread.
pub struct Cpu {
    permits: Arc<Semaphore>,
    pool: rayon::ThreadPool,
}

impl Cpu {
    /// A runner with `threads` threads (at least one).
    pub fn new(threads: usize) -> Result<Self, String> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("logingest-cpu-{i}"))
            .build()
            .map_err(|e| format!("cannot start the threads for request work: {e}"))?;
        Ok(Cpu {
            permits: Arc::new(Semaphore::new(threads)),
            pool,
        })
    }

    /// One thread per available core.
    pub fn per_core() -> Result<Self, String> {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Runs `work` on the pool once a thread is free. A panic in `work` is
    /// logged and answered with a message of our own.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let failed = |what: &str, e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "{what}");
            ApiError::from(Error::backend_msg(
                false,
                "the request could not be processed",
            ))
        };
        // The semaphore is never closed.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| failed("no CPU permit", &e))?;
        let (done, result) = oneshot::channel();
        self.pool.spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(work));
            drop(permit);
            // The request may have gone (the client hung up): nobody waits.
            let _ = done.send(outcome);
        });
        match result.await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(panic)) => Err(failed("request work panicked", &panic_message(&panic))),
            Err(e) => Err(failed("request work was lost", &e)),
        }
    }
}

/// The message of a panic's payload, when it has one.
fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_work_on_its_own_threads_and_reports_panics() {
        let cpu = Cpu::new(2).unwrap();
        let name = cpu
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(
            name.as_deref()
                .is_some_and(|n| n.starts_with("logingest-cpu-")),
            "{name:?}"
        );
        let panicked = cpu.run(|| -> u8 { panic!("boom") }).await;
        let answer = panicked.expect_err("a panic is an error");
        assert_eq!(answer.status().as_u16(), 500, "{answer:?}");
        // The pool and its permits survive a panicking job.
        let jobs: Vec<_> = (0..8u64).map(|i| cpu.run(move || i * 2)).collect();
        let results: Vec<u64> = futures_util::future::join_all(jobs)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(results, (0..8).map(|i| i * 2).collect::<Vec<_>>());
    }
}
