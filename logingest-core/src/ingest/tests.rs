//! Tests of the ingest pipeline, deterministic by construction: the flusher
//! runs on a [`super::ManualClock`], and the test backend holds `write_batch`
//! at a gate so the queue is filled while the flusher is provably busy.
//! Every wait is bounded ([`support::WAIT`]); no test asserts on elapsed time.
//! Only `concurrency` runs on the real clock, and it checks invariants
//! (nothing lost, duplicated or split), never batch shapes.

mod acks;
mod backpressure;
mod batching;
mod concurrency;
mod futures;
mod support;
