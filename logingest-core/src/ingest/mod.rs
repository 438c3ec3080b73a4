//! The ingest pipeline: bounded queue, batch-flush policy, group commit and
//! acknowledgements.
//!
//! The data path of one request:
//!
//! ```text
//! caller ──submit(records)──▶ [bounded queue] ──▶ flusher thread ──write_batch──▶ Backend
//!    │                         (submissions     (groups whole            ▲
//!    │                          and bytes)       submissions)            │
//!    │                                                refresher thread ──refresh──▶ visible
//!    └──Ticket::wait_durable / wait_visible ◀── resolved per batch / after refresh
//! ```
//!
//! Why this shape:
//! - **Group commit.** A backend commit costs about the same for 1 record as
//!   for 1,000 (an fsync, a transaction). One flusher thread merges whatever
//!   requests are queued into one `write_batch`, up to [`BatchPolicy`]
//!   limits, and writes immediately when the queue runs dry: low latency at
//!   low load, large batches at high load, without tuning a sleep.
//! - **Whole-request atomicity.** A submission (one caller request) is never
//!   split across batches, so a request is stored entirely or not at all,
//!   which is what lets the server answer one status per request.
//! - **Explicit back-pressure.** The queue is bounded in submissions and in
//!   bytes; when full, [`WhenFull`] either waits with a timeout or rejects
//!   with a retryable [`crate::Error::QueueFull`]. Nothing is dropped silently.
//! - **Acknowledgements by strength.** A [`Ticket`] resolves when its batch is
//!   durable (with the submission's own sequence numbers) and, on demand, when
//!   it is visible to search; waiting for visibility asks for a prompt
//!   refresh instead of waiting for the periodic one. Refreshes run on a
//!   thread of their own, so a slow one never holds up the next batch.
//! - **Deterministic tests.** Policy time comes from a [`Clock`];
//!   [`ManualClock`] drives linger and refresh timing by hand.
//!
//! ```
//! use std::sync::Arc;
//! use logingest_core::ingest::{IngestConfig, Ingester};
//! use logingest_core::MemoryBackend;
//!
//! let ingester = Ingester::start(Arc::new(MemoryBackend::new()), IngestConfig::default())?;
//! let ticket = ingester.submit(Vec::new())?; // records from `parse_records`
//! ticket.wait_visible()?;
//! ingester.close()?;
//! # Ok::<(), logingest_core::Error>(())
//! ```

mod clock;
mod flusher;
mod handoff;
mod ingester;
mod policy;
mod refresher;
mod state;
mod stats;
mod ticket;

#[cfg(test)]
mod tests;

pub use clock::{Clock, ManualClock, SystemClock};
pub use handoff::{Handoff, Waited};
pub use ingester::Ingester;
pub use policy::{BatchPolicy, IngestConfig, WhenFull};
pub use stats::{FlushObserver, IngestStats};
pub use ticket::Ticket;
