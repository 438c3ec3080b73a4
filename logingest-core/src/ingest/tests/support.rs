//! A scriptable backend and helpers for the ingest tests.
//!
//! The backend records every `write_batch` call, can hold calls at a gate
//! until the test releases it (so the test fills the queue while the flusher
//! is provably busy), fails or panics on chosen calls, and counts refreshes,
//! which it can hold at a gate of their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::backend::{
    Backend, Capabilities, FacetRequest, Facets, Histogram, HistogramRequest, SearchPage,
    SearchRequest, Stats, WriteAck,
};
use crate::error::{Error, Result};
use crate::ingest::{BatchPolicy, IngestConfig, Ingester, ManualClock, Ticket};
use crate::record::Record;
use crate::timestamp::Timestamp;

/// Upper bound of every wait in the tests; reaching it is a failure, not a timing assertion.
pub(super) const WAIT: Duration = Duration::from_secs(10);

/// First sequence number the test backend hands out.
pub(super) const FIRST_SEQ: u64 = 100;

#[derive(Default)]
struct State {
    /// Write calls started.
    calls: usize,
    /// Record count of every write call, failed ones included.
    attempted: Vec<usize>,
    /// Sources of committed records, in sequence order.
    committed: Vec<String>,
    gate_closed: bool,
    fail_calls: Vec<usize>,
    panic_calls: Vec<usize>,
    failing_refreshes: usize,
    refresh_gate_closed: bool,
    refreshes: usize,
    /// Committed records visible after the last successful refresh.
    visible: usize,
}

/// See the module doc.
#[derive(Default)]
pub(super) struct TestBackend {
    state: Mutex<State>,
    changed: Condvar,
}

impl TestBackend {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Later write calls wait inside `write_batch` until [`TestBackend::release`].
    pub(super) fn block(&self) {
        self.state.lock().gate_closed = true;
    }

    pub(super) fn release(&self) {
        self.state.lock().gate_closed = false;
        self.changed.notify_all();
    }

    /// Waits until `n` write calls have started.
    pub(super) fn wait_calls(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        let mut state = self.state.lock();
        while state.calls < n {
            assert!(
                !self.changed.wait_until(&mut state, deadline).timed_out(),
                "write call {n} never started"
            );
        }
    }

    /// Later refreshes wait inside `refresh` until [`TestBackend::release_refreshes`].
    pub(super) fn block_refreshes(&self) {
        self.state.lock().refresh_gate_closed = true;
    }

    pub(super) fn release_refreshes(&self) {
        self.state.lock().refresh_gate_closed = false;
        self.changed.notify_all();
    }

    /// Write call number `n` (1-based) fails with a retryable error.
    pub(super) fn fail_call(&self, n: usize) {
        self.state.lock().fail_calls.push(n);
    }

    /// Write call number `n` (1-based) panics.
    pub(super) fn panic_call(&self, n: usize) {
        self.state.lock().panic_calls.push(n);
    }

    /// The next `n` refreshes fail with a retryable error.
    pub(super) fn fail_next_refreshes(&self, n: usize) {
        self.state.lock().failing_refreshes = n;
    }

    pub(super) fn attempted(&self) -> Vec<usize> {
        self.state.lock().attempted.clone()
    }

    pub(super) fn committed(&self) -> Vec<String> {
        self.state.lock().committed.clone()
    }

    pub(super) fn refreshes(&self) -> usize {
        self.state.lock().refreshes
    }

    pub(super) fn visible(&self) -> usize {
        self.state.lock().visible
    }
}

impl Backend for TestBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("ingest-test")
    }

    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        let mut state = self.state.lock();
        state.calls += 1;
        let call = state.calls;
        self.changed.notify_all();
        let deadline = Instant::now() + WAIT;
        while state.gate_closed {
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return Err(Error::backend_msg(false, "test never released the gate"));
            }
        }
        state.attempted.push(records.len());
        if state.panic_calls.contains(&call) {
            drop(state);
            panic!("injected panic in write call {call}");
        }
        if state.fail_calls.contains(&call) {
            return Err(Error::backend_msg(
                true,
                format!("injected failure of write call {call}"),
            ));
        }
        let first_seq = FIRST_SEQ + state.committed.len() as u64;
        state
            .committed
            .extend(records.iter().map(|r| r.source().to_owned()));
        Ok(WriteAck::new(first_seq, records.len() as u64))
    }

    fn refresh(&self) -> Result<()> {
        let mut state = self.state.lock();
        state.refreshes += 1;
        self.changed.notify_all();
        let deadline = Instant::now() + WAIT;
        while state.refresh_gate_closed {
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return Err(Error::backend_msg(
                    false,
                    "test never released the refresh gate",
                ));
            }
        }
        if state.failing_refreshes > 0 {
            state.failing_refreshes -= 1;
            return Err(Error::backend_msg(true, "injected refresh failure"));
        }
        state.visible = state.committed.len();
        Ok(())
    }

    fn search(&self, _: &SearchRequest) -> Result<SearchPage> {
        Err(Error::InvalidRequest("test backend cannot search".into()))
    }

    fn histogram(&self, _: &HistogramRequest) -> Result<Histogram> {
        Err(Error::InvalidRequest("test backend cannot search".into()))
    }

    fn facets(&self, _: &FacetRequest) -> Result<Facets> {
        Err(Error::InvalidRequest("test backend cannot search".into()))
    }

    fn delete_older_than(&self, _: Timestamp) -> Result<u64> {
        Ok(0)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(Stats::default())
    }
}

/// A record whose source is `label`.
pub(super) fn rec(label: &str) -> Record {
    sized(label, label.len())
}

/// A record whose source is `label` padded with dots to exactly `bytes` bytes.
pub(super) fn sized(label: &str, bytes: usize) -> Record {
    assert!(bytes >= label.len());
    let source = format!("{label}{}", ".".repeat(bytes - label.len()));
    Record::from_parts(
        source,
        Timestamp::from_nanos(0),
        label.to_owned(),
        Vec::new(),
    )
}

/// `n` records labelled `prefix-0`, `prefix-1`, ...
pub(super) fn recs(prefix: &str, n: usize) -> Vec<Record> {
    (0..n).map(|i| rec(&format!("{prefix}-{i}"))).collect()
}

/// A config with the given batch limits, 5 ms linger, and no periodic refresh
/// within any test's lifetime.
pub(super) fn config(max_records: usize, max_bytes: usize) -> IngestConfig {
    IngestConfig::default()
        .policy(BatchPolicy::new(max_records, max_bytes, Duration::from_millis(5)).unwrap())
        .refresh_interval(Duration::from_secs(3600))
}

/// An ingester on a clock that stands still unless the test moves it, so
/// `max_linger` never cuts a batch short and no periodic refresh happens.
pub(super) fn start(
    backend: &Arc<TestBackend>,
    config: IngestConfig,
) -> (Ingester, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let ingester = Ingester::start_with_clock(backend.clone(), config, clock.clone()).unwrap();
    (ingester, clock)
}

/// Waits (bounded) for the ticket to be durable.
pub(super) fn durable(ticket: &Ticket) -> WriteAck {
    ticket
        .wait_durable_timeout(WAIT)
        .expect("submission should be durable")
}

/// Waits (bounded) for every ticket to be durable.
pub(super) fn all_durable(tickets: &[Ticket]) {
    for ticket in tickets {
        durable(ticket);
    }
}

/// Polls `condition` until it holds; panics after [`WAIT`].
pub(super) fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}
