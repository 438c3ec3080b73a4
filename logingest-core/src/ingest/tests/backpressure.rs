//! Back-pressure: both queue bounds, both `WhenFull` behaviours, and that
//! nothing accepted is ever dropped.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::support::{config, durable, rec, sized, start, wait_until, TestBackend, WAIT};
use crate::error::IngestError;
use crate::ingest::{Ingester, Ticket, WhenFull};

/// Blocks the backend inside the write of a first submission `first`.
fn busy(backend: &TestBackend, ingester: &Ingester) -> Ticket {
    backend.block();
    let first = ingester.submit(vec![rec("s0")]).unwrap();
    backend.wait_calls(1);
    first
}

#[test]
fn reject_when_queue_is_full_and_drop_nothing_accepted() {
    let backend = TestBackend::new();
    let config = config(100, 1 << 20)
        .queue_capacity(2)
        .when_full(WhenFull::Reject);
    let (ingester, _clock) = start(&backend, config);
    let s0 = busy(&backend, &ingester);
    let s1 = ingester.submit(vec![rec("s1")]).unwrap();
    let s2 = ingester.submit(vec![rec("s2")]).unwrap();
    let full = ingester.submit(vec![rec("s3")]);
    assert!(matches!(full, Err(IngestError::QueueFull)));
    assert!(full.unwrap_err().is_retryable());
    let stats = ingester.stats();
    assert_eq!((stats.queued_submissions, stats.queued_records), (2, 2));
    backend.release();
    for ticket in [&s0, &s1, &s2] {
        durable(ticket);
    }
    assert_eq!(backend.committed(), ["s0", "s1", "s2"]);
}

#[test]
fn block_times_out_when_the_queue_stays_full() {
    let backend = TestBackend::new();
    let when_full = WhenFull::Block {
        timeout: Duration::from_millis(20),
    };
    let (ingester, _clock) = start(
        &backend,
        config(100, 1 << 20).queue_capacity(1).when_full(when_full),
    );
    let s0 = busy(&backend, &ingester);
    let s1 = ingester.submit(vec![rec("s1")]).unwrap();
    assert!(matches!(
        ingester.submit(vec![rec("s2")]),
        Err(IngestError::Timeout)
    ));
    assert_eq!(ingester.stats().waiting_submitters, 0);
    backend.release();
    durable(&s0);
    durable(&s1);
    assert_eq!(backend.committed(), ["s0", "s1"]);
}

#[test]
fn blocked_submit_proceeds_when_room_frees() {
    let backend = TestBackend::new();
    let when_full = WhenFull::Block { timeout: WAIT };
    let (ingester, _clock) = start(
        &backend,
        config(100, 1 << 20).queue_capacity(1).when_full(when_full),
    );
    let ingester = Arc::new(ingester);
    let s0 = busy(&backend, &ingester);
    let s1 = ingester.submit(vec![rec("s1")]).unwrap();
    let submitter = {
        let ingester = Arc::clone(&ingester);
        thread::spawn(move || ingester.submit(vec![rec("s2")]))
    };
    wait_until("the submitter blocks", || {
        ingester.stats().waiting_submitters == 1
    });
    backend.release();
    let s2 = submitter
        .join()
        .unwrap()
        .expect("admitted once s1 was taken");
    for ticket in [&s0, &s1, &s2] {
        durable(ticket);
    }
    assert_eq!(backend.committed(), ["s0", "s1", "s2"]);
}

#[test]
fn byte_budget_applies_back_pressure() {
    let backend = TestBackend::new();
    let config = config(100, 1 << 20)
        .max_queued_bytes(100)
        .when_full(WhenFull::Reject);
    let (ingester, _clock) = start(&backend, config);
    backend.block();
    let s0 = ingester.submit(vec![sized("s0", 60)]).unwrap();
    // Taken into a batch: its bytes no longer count against the queue.
    backend.wait_calls(1);
    assert_eq!(ingester.stats().queued_bytes, 0);
    let s1 = ingester.submit(vec![sized("s1", 60)]).unwrap();
    assert!(matches!(
        ingester.submit(vec![sized("s2", 60)]),
        Err(IngestError::QueueFull)
    ));
    let s3 = ingester.submit(vec![sized("s3", 40)]).unwrap();
    assert_eq!(ingester.stats().queued_bytes, 100);
    backend.release();
    for ticket in [&s0, &s1, &s3] {
        durable(ticket);
    }
    assert_eq!(backend.committed().len(), 3);
}

#[test]
fn oversized_submission_is_admitted_into_an_empty_queue() {
    let backend = TestBackend::new();
    let config = config(100, 1 << 20)
        .max_queued_bytes(100)
        .when_full(WhenFull::Reject);
    let (ingester, _clock) = start(&backend, config);
    let big = ingester.submit(vec![sized("big", 500)]).unwrap();
    assert_eq!(durable(&big).len, 1);
}

#[test]
fn oversized_submission_waits_for_the_queue_to_empty() {
    let backend = TestBackend::new();
    let when_full = WhenFull::Block { timeout: WAIT };
    let config = config(100, 1 << 20)
        .max_queued_bytes(100)
        .when_full(when_full);
    let (ingester, _clock) = start(&backend, config);
    let ingester = Arc::new(ingester);
    let s0 = busy(&backend, &ingester);
    let s1 = ingester.submit(vec![sized("s1", 10)]).unwrap();
    let submitter = {
        let ingester = Arc::clone(&ingester);
        thread::spawn(move || ingester.submit(vec![sized("big", 500)]))
    };
    wait_until("the big submission blocks", || {
        ingester.stats().waiting_submitters == 1
    });
    backend.release();
    let big = submitter
        .join()
        .unwrap()
        .expect("admitted once the queue emptied");
    for ticket in [&s0, &s1, &big] {
        durable(ticket);
    }
    assert_eq!(backend.attempted(), [1, 1, 1]);
}

#[test]
fn blocked_submitter_gets_closed_on_shutdown() {
    let backend = TestBackend::new();
    let when_full = WhenFull::Block { timeout: WAIT };
    let (ingester, _clock) = start(
        &backend,
        config(100, 1 << 20).queue_capacity(1).when_full(when_full),
    );
    let ingester = Arc::new(ingester);
    let s0 = busy(&backend, &ingester);
    let s1 = ingester.submit(vec![rec("s1")]).unwrap();
    let submitter = {
        let ingester = Arc::clone(&ingester);
        thread::spawn(move || ingester.submit(vec![rec("s2")]))
    };
    wait_until("the submitter blocks", || {
        ingester.stats().waiting_submitters == 1
    });
    let closer = {
        let ingester = Arc::clone(&ingester);
        thread::spawn(move || ingester.shutdown())
    };
    // The backend is still blocked, so no room can free: only closing ends the wait.
    assert!(matches!(
        submitter.join().unwrap(),
        Err(IngestError::Closed)
    ));
    backend.release();
    closer.join().unwrap().expect("close drains cleanly");
    assert!(s0.is_durable() && s1.is_durable());
    assert_eq!(backend.committed(), ["s0", "s1"]);
}
