//! Policy validation and how submissions are grouped into batches.

use std::time::Duration;

use super::support::{all_durable, config, durable, rec, recs, sized, start, TestBackend};
use crate::error::Error;
use crate::ingest::{BatchPolicy, IngestConfig, Ingester, Ticket, WhenFull};

#[test]
fn policy_rejects_zero_limits_and_long_linger() {
    let ms = Duration::from_millis;
    assert!(
        matches!(BatchPolicy::new(0, 10, ms(1)), Err(Error::InvalidRequest(m)) if m.contains("max_records"))
    );
    assert!(
        matches!(BatchPolicy::new(10, 0, ms(1)), Err(Error::InvalidRequest(m)) if m.contains("max_bytes"))
    );
    assert!(matches!(
        BatchPolicy::new(10, 10, Duration::from_secs(61)),
        Err(Error::InvalidRequest(m)) if m.contains("max_linger")
    ));
    let policy = BatchPolicy::new(10, 20, BatchPolicy::MAX_LINGER).unwrap();
    assert_eq!(
        (
            policy.max_records(),
            policy.max_bytes(),
            policy.max_linger()
        ),
        (10, 20, BatchPolicy::MAX_LINGER)
    );
    assert!(BatchPolicy::new(1, 1, Duration::ZERO).is_ok());
}

#[test]
fn presets_and_defaults() {
    let realtime = BatchPolicy::realtime();
    assert_eq!(
        (realtime.max_records(), realtime.max_bytes()),
        (1_000, 4 << 20)
    );
    assert_eq!(realtime.max_linger(), Duration::from_millis(5));
    let bulk = BatchPolicy::bulk();
    assert_eq!((bulk.max_records(), bulk.max_bytes()), (10_000, 32 << 20));
    assert_eq!(bulk.max_linger(), Duration::from_millis(200));
    assert_eq!(BatchPolicy::default(), realtime);

    let config = IngestConfig::default();
    assert_eq!(config.queue_capacity, 1024);
    assert_eq!(config.max_queued_bytes, 256 << 20);
    assert_eq!(config.refresh_interval, Duration::from_secs(1));
    assert_eq!(
        config.when_full,
        WhenFull::Block {
            timeout: Duration::from_secs(5)
        }
    );
    assert!(format!("{config:?}").contains("queue_capacity: 1024"));
}

#[test]
fn start_rejects_zero_queue_bounds() {
    let backend = TestBackend::new();
    for config in [
        IngestConfig::default().queue_capacity(0),
        IngestConfig::default().max_queued_bytes(0),
    ] {
        let result = Ingester::start(backend.clone(), config);
        assert!(matches!(result, Err(Error::InvalidRequest(_))));
    }
}

/// Blocks the backend on a first one-record submission, so everything
/// submitted afterwards queues up; returns the first ticket.
fn busy(backend: &TestBackend, ingester: &Ingester) -> Ticket {
    backend.block();
    let first = ingester.submit(vec![rec("first")]).unwrap();
    backend.wait_calls(1);
    first
}

#[test]
fn batches_stop_at_max_records() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(4, 1 << 20));
    let mut tickets = vec![busy(&backend, &ingester)];
    tickets.extend((0..10).map(|i| ingester.submit(recs(&format!("s{i}"), 1)).unwrap()));
    assert_eq!(ingester.stats().queued_submissions, 10);
    backend.release();
    all_durable(&tickets);
    assert_eq!(backend.attempted(), [1, 4, 4, 2]);
    assert_eq!(ingester.stats().last_batch_records, 2);
}

#[test]
fn batches_stop_at_max_bytes() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(1000, 100));
    let mut tickets = vec![busy(&backend, &ingester)];
    tickets.extend((0..5).map(|i| ingester.submit(vec![sized(&format!("s{i}"), 40)]).unwrap()));
    backend.release();
    all_durable(&tickets);
    // 40 + 40 fits in 100 bytes, a third record would not.
    assert_eq!(backend.attempted(), [1, 2, 2, 1]);
}

#[test]
fn linger_ends_collection_of_a_busy_queue() {
    let backend = TestBackend::new();
    let (ingester, clock) = start(&backend, config(1000, 1 << 20));
    let mut tickets = vec![busy(&backend, &ingester)];
    tickets.extend((0..5).map(|i| ingester.submit(recs(&format!("s{i}"), 1)).unwrap()));
    // Every clock reading now moves time by a full linger, so the deadline
    // has passed before a second submission can join any batch.
    clock.set_auto_advance(Duration::from_millis(5));
    backend.release();
    all_durable(&tickets);
    assert_eq!(backend.attempted(), [1, 1, 1, 1, 1, 1]);
}

#[test]
fn without_linger_passing_the_queued_submissions_form_one_batch() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(1000, 1 << 20));
    let mut tickets = vec![busy(&backend, &ingester)];
    tickets.extend((0..5).map(|i| ingester.submit(recs(&format!("s{i}"), 1)).unwrap()));
    backend.release();
    all_durable(&tickets);
    assert_eq!(backend.attempted(), [1, 5]);
}

#[test]
fn lone_submission_is_written_without_waiting_for_linger() {
    let backend = TestBackend::new();
    let policy = BatchPolicy::new(1000, 1 << 20, BatchPolicy::MAX_LINGER).unwrap();
    // The clock never moves: if the flusher waited for linger, this would hang.
    let (ingester, _clock) = start(&backend, config(1000, 1 << 20).policy(policy));
    let ticket = ingester.submit(recs("alone", 3)).unwrap();
    assert_eq!(durable(&ticket).len, 3);
    assert_eq!(backend.attempted(), [3]);
}

#[test]
fn a_submission_is_never_split() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(4, 1 << 20));
    let first = busy(&backend, &ingester);
    let a = ingester.submit(recs("a", 2)).unwrap();
    let b = ingester.submit(recs("b", 7)).unwrap();
    let c = ingester.submit(recs("c", 1)).unwrap();
    backend.release();
    durable(&first);
    let (a, b, c) = (durable(&a), durable(&b), durable(&c));
    // `b` does not fit behind `a`: held back, then alone although over the limit.
    assert_eq!(backend.attempted(), [1, 2, 7, 1]);
    assert_eq!((b.first_seq, b.len), (a.first_seq + 2, 7));
    assert_eq!(c.first_seq, b.first_seq + 7);

    let big = ingester.submit(recs("big", 9)).unwrap();
    assert_eq!(durable(&big).len, 9);
    assert_eq!(backend.attempted().last(), Some(&9));
}

#[test]
fn ticket_seq_ranges_are_contiguous_in_submission_order() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(5, 1 << 20));
    let sizes = [1, 3, 2, 4, 1, 5, 2, 6, 1];
    let first = busy(&backend, &ingester);
    let tickets: Vec<Ticket> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| ingester.submit(recs(&format!("s{i}"), n)).unwrap())
        .collect();
    backend.release();
    let mut next = durable(&first).first_seq + 1;
    let mut expected = vec!["first".to_owned()];
    for (i, (ticket, &n)) in tickets.iter().zip(&sizes).enumerate() {
        let ack = durable(ticket);
        assert_eq!((ack.first_seq, ack.len), (next, n as u64), "submission {i}");
        next += n as u64;
        expected.extend((0..n).map(|j| format!("s{i}-{j}")));
    }
    assert_eq!(backend.committed(), expected);
    assert!(backend.attempted().iter().skip(1).all(|&n| n <= 6));
}
