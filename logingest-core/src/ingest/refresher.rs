//! The refresher thread: makes written batches visible.
//!
//! Why a thread of its own rather than a step of the flusher loop: a refresh
//! can take far longer than a batch write (tantivy serialises a segment, a
//! search cluster refreshes its shards: 100 ms and more under load), and
//! while the flusher refreshed, no batch was written and no acknowledgement
//! given. Measured on the embedded backend at a fixed 25 k records/s, those
//! stalls were the whole ack-latency tail (`docs/performance.md`). Backends
//! take `refresh` concurrently with `write_batch`: it makes visible every
//! batch acknowledged before it started ([`crate::Backend::refresh`]).
//!
//! The loop refreshes when a visibility waiter asked for it (`wake`), or
//! when something was committed since the last refresh and
//! `refresh_interval` has passed since that refresh. It sleeps otherwise,
//! woken by the flusher (`written`) after each batch. When the flusher stops
//! (its end of `written` is dropped), a last refresh makes everything
//! committed visible, then the thread marks the pipeline exited.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{after, never, select, Receiver};

use crate::backend::Backend;

use super::clock::Clock;
use super::flusher::guard;
use super::state::Shared;
use super::stats::FlushObserver;

/// The refresher's state; [`Refresher::run`] consumes it on its own thread.
pub(super) struct Refresher {
    /// Visibility waiters asking for a prompt refresh.
    pub(super) wake: Receiver<()>,
    /// A batch was written; disconnected when the flusher stops.
    pub(super) written: Receiver<()>,
    pub(super) backend: Arc<dyn Backend>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) refresh_interval: Duration,
    pub(super) observer: Option<Arc<dyn FlushObserver>>,
    pub(super) shared: Arc<Shared>,
    /// Clock time of the last refresh attempt (or of the start).
    pub(super) last_refresh: Instant,
}

impl Refresher {
    /// The refresher loop; returns after the flusher stopped and the last
    /// refresh.
    pub(super) fn run(mut self) {
        loop {
            let (unrefreshed, wanted) = {
                let progress = self.shared.progress.lock();
                (progress.unrefreshed, progress.refresh_wanted)
            };
            let due = self.last_refresh.checked_add(self.refresh_interval);
            let now = self.clock.now();
            if wanted || (unrefreshed && due.is_some_and(|due| now >= due)) {
                self.refresh();
                continue;
            }
            let tick = match due {
                Some(due) if unrefreshed => after(due.saturating_duration_since(now)),
                _ => never(),
            };
            select! {
                recv(self.wake) -> _ => {}
                recv(self.written) -> msg => if msg.is_err() { break },
                recv(tick) -> _ => {}
            }
        }
        let last = {
            let progress = self.shared.progress.lock();
            progress.unrefreshed || progress.refresh_wanted
        };
        if last {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        let (covers, number, had_unrefreshed) = {
            let mut progress = self.shared.progress.lock();
            progress.refresh_wanted = false;
            progress.refreshes_started += 1;
            let had = std::mem::take(&mut progress.unrefreshed);
            (progress.written_through, progress.refreshes_started, had)
        };
        let started = Instant::now();
        let outcome = guard("refresh", || self.backend.refresh());
        let took = started.elapsed();
        self.last_refresh = self.clock.now();
        if let Some(observer) = &self.observer {
            let ok = outcome.is_ok();
            let _ = catch_unwind(AssertUnwindSafe(|| observer.on_refresh(took, ok)));
        }
        let mut progress = self.shared.progress.lock();
        progress.last_completed_refresh = number;
        progress.stats.refreshes += 1;
        match outcome {
            Ok(()) => {
                progress.visible_through = progress.visible_through.max(covers);
                progress.last_refresh_error = None;
            }
            Err(error) => {
                // Retried at the next interval (or the next waiter's ask).
                progress.unrefreshed |= had_unrefreshed;
                progress.stats.failed_refreshes += 1;
                progress.note_error(&error);
                progress.last_refresh_error = Some(error);
            }
        }
        self.shared.notify_progress(&mut progress);
    }
}

impl Drop for Refresher {
    /// Runs on normal exit and if the thread panics: wake every waiter.
    fn drop(&mut self) {
        let mut progress = self.shared.progress.lock();
        progress.exited = true;
        self.shared.notify_progress(&mut progress);
    }
}
