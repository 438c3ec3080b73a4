//! Acknowledgements: durability, visibility, failures, close and stats.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

use super::support::{config, durable, rec, recs, start, wait_until, TestBackend, FIRST_SEQ, WAIT};
use crate::error::{IngestError, WriteError};
use crate::ingest::{FlushObserver, Ingester, Ticket};

#[test]
fn ingester_and_ticket_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Ingester>();
    assert_send_sync::<Ticket>();
}

#[test]
fn empty_submission_is_immediately_durable_and_visible() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    let ticket = ingester.submit(Vec::new()).unwrap();
    assert!(ticket.is_durable());
    assert_eq!(ticket.wait_durable().unwrap().len, 0);
    ticket.wait_visible().unwrap();
    ingester.close().unwrap();
    assert!(backend.attempted().is_empty());
    assert_eq!(backend.refreshes(), 0);
}

#[test]
fn backend_error_fails_exactly_the_tickets_of_its_batch() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(2, 1 << 20));
    backend.block();
    let t1 = ingester.submit(vec![rec("t1")]).unwrap();
    backend.wait_calls(1);
    let t2 = ingester.submit(vec![rec("t2")]).unwrap();
    let t3 = ingester.submit(vec![rec("t3")]).unwrap();
    let t4 = ingester.submit(recs("t4", 2)).unwrap();
    backend.fail_call(2);
    backend.release();

    assert_eq!(durable(&t1).first_seq, FIRST_SEQ);
    for failed in [&t2, &t3] {
        let error = failed.wait_durable_timeout(WAIT).unwrap_err();
        assert!(
            matches!(
                error,
                WriteError::Backend {
                    retryable: true,
                    ..
                }
            ),
            "{error}"
        );
        assert!(!failed.is_durable());
        assert!(failed.wait_visible_timeout(WAIT).is_err());
    }
    let t4 = durable(&t4);
    assert_eq!((t4.first_seq, t4.len), (FIRST_SEQ + 1, 2));
    assert_eq!(backend.attempted(), [1, 2, 2]);
    assert_eq!(backend.committed(), ["t1", "t4-0", "t4-1"]);

    let stats = ingester.stats();
    assert_eq!((stats.committed_records, stats.failed_records), (3, 2));
    assert_eq!((stats.batches, stats.failed_batches), (3, 1));
    // Failures were reported to their tickets; close has nothing left to report.
    ingester.close().unwrap();
}

#[test]
fn backend_panic_fails_its_batch_and_the_ingester_carries_on() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.panic_call(1);
    let t1 = ingester.submit(vec![rec("t1")]).unwrap();
    let error = t1.wait_durable_timeout(WAIT).unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::Backend {
                retryable: false,
                ..
            }
        ),
        "{error}"
    );
    let t2 = ingester.submit(vec![rec("t2")]).unwrap();
    assert_eq!(durable(&t2).first_seq, FIRST_SEQ);
}

#[test]
fn wait_durable_times_out_while_the_backend_is_busy() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.block();
    let ticket = ingester.submit(vec![rec("t")]).unwrap();
    backend.wait_calls(1);
    let short = Duration::from_millis(10);
    assert!(matches!(
        ticket.wait_durable_timeout(short),
        Err(WriteError::Timeout("durability"))
    ));
    assert!(matches!(
        ticket.wait_visible_timeout(short),
        Err(WriteError::Timeout("durability"))
    ));
    backend.release();
    durable(&ticket);
}

#[test]
fn wait_visible_asks_for_a_prompt_refresh() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    let ticket = ingester.submit(recs("t", 3)).unwrap();
    durable(&ticket);
    // The clock stands still and the interval is an hour: no refresh on its own.
    assert_eq!(backend.refreshes(), 0);
    ticket.wait_visible_timeout(WAIT).unwrap();
    assert_eq!((backend.refreshes(), backend.visible()), (1, 3));
    // Already visible: no second refresh.
    ticket.wait_visible_timeout(WAIT).unwrap();
    assert_eq!(backend.refreshes(), 1);
    assert_eq!(ingester.stats().refreshes, 1);
}

#[test]
fn a_slow_refresh_does_not_hold_up_acknowledgements() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.block_refreshes();
    let first = ingester.submit(vec![rec("first")]).unwrap();
    durable(&first);
    let waiter = {
        let first = first.clone();
        thread::spawn(move || first.wait_visible_timeout(WAIT))
    };
    wait_until("the refresh started", || backend.refreshes() == 1);
    // The refresh is stuck in the backend; the next batch is still written
    // and acknowledged meanwhile.
    let second = ingester.submit(vec![rec("second")]).unwrap();
    assert_eq!(durable(&second).first_seq, FIRST_SEQ + 1);
    assert_eq!(backend.visible(), 0);
    backend.release_refreshes();
    waiter.join().unwrap().unwrap();
    second.wait_visible_timeout(WAIT).unwrap();
    assert_eq!(backend.visible(), 2);
    ingester.close().unwrap();
}

#[test]
fn periodic_refresh_happens_after_the_interval() {
    let backend = TestBackend::new();
    let config = config(10, 1 << 20).refresh_interval(Duration::from_millis(20));
    let (ingester, clock) = start(&backend, config);
    let ticket = ingester.submit(recs("t", 2)).unwrap();
    durable(&ticket);
    assert_eq!(backend.refreshes(), 0);
    clock.advance(Duration::from_millis(20));
    wait_until("the periodic refresh", || backend.refreshes() == 1);
    assert_eq!(backend.visible(), 2);
    // Nothing new committed: no further refresh however much time passes.
    clock.advance(Duration::from_secs(60));
    ingester.close().unwrap();
    assert_eq!(backend.refreshes(), 1);
}

#[test]
fn passive_visibility_waits_for_the_periodic_refresh() {
    let backend = TestBackend::new();
    let config = config(10, 1 << 20).refresh_interval(Duration::from_millis(20));
    let (ingester, clock) = start(&backend, config);
    let ticket = ingester.submit(recs("p", 2)).unwrap();
    durable(&ticket);
    let waiter = {
        let ticket = ticket.clone();
        std::thread::spawn(move || ticket.wait_visible_passive())
    };
    // The passive waiter must not cause a refresh of its own.
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(backend.refreshes(), 0);
    assert!(!waiter.is_finished());
    clock.advance(Duration::from_millis(20));
    waiter.join().unwrap().unwrap();
    assert_eq!((backend.refreshes(), backend.visible()), (1, 2));
    ingester.close().unwrap();
}

#[test]
fn refresh_error_fails_visibility_not_durability() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.fail_next_refreshes(1);
    let ticket = ingester.submit(vec![rec("t")]).unwrap();
    let error = ticket.wait_visible_timeout(WAIT).unwrap_err();
    assert!(
        matches!(
            error,
            WriteError::Backend {
                retryable: true,
                ..
            }
        ),
        "{error}"
    );
    assert!(ticket.is_durable());
    // A later wait asks for a new refresh, which succeeds.
    ticket.wait_visible_timeout(WAIT).unwrap();
    let stats = ingester.stats();
    assert_eq!((stats.refreshes, stats.failed_refreshes), (2, 1));
}

#[test]
fn flush_makes_everything_submitted_durable_and_visible() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(4, 1 << 20));
    ingester.flush().unwrap();
    assert_eq!(
        backend.refreshes(),
        0,
        "nothing submitted, nothing to refresh"
    );
    let tickets: Vec<Ticket> = (0..10)
        .map(|i| ingester.submit(recs(&format!("s{i}"), 2)).unwrap())
        .collect();
    ingester.flush().unwrap();
    assert!(tickets.iter().all(Ticket::is_durable));
    assert_eq!(backend.visible(), 20);
    let refreshes = backend.refreshes();
    ingester.flush().unwrap();
    assert_eq!(backend.refreshes(), refreshes, "already visible");
}

#[test]
fn close_writes_everything_still_queued() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(4, 1 << 20));
    let ingester = Arc::new(ingester);
    backend.block();
    let mut tickets = vec![ingester.submit(vec![rec("first")]).unwrap()];
    backend.wait_calls(1);
    tickets.extend((0..20).map(|i| ingester.submit(recs(&format!("s{i}"), 3)).unwrap()));
    let closer = {
        let ingester = Arc::clone(&ingester);
        thread::spawn(move || ingester.shutdown())
    };
    wait_until("the queue is closed", || {
        matches!(ingester.submit(Vec::new()), Err(IngestError::Closed))
    });
    assert_eq!(ingester.stats().queued_submissions, 20);
    backend.release();
    closer.join().unwrap().unwrap();
    assert!(tickets.iter().all(Ticket::is_durable));
    assert_eq!(backend.committed().len(), 61);
    assert_eq!(backend.visible(), 61, "close ends with a refresh");
    assert!(matches!(
        ingester.submit(vec![rec("late")]),
        Err(IngestError::Closed)
    ));
    ingester.shutdown().unwrap();
    ingester.flush().unwrap();
}

#[test]
fn close_reports_a_failure_of_the_final_work() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.fail_next_refreshes(1);
    let ticket = ingester.submit(vec![rec("t")]).unwrap();
    durable(&ticket);
    assert!(matches!(ingester.close(), Err(WriteError::Backend { .. })));
}

#[test]
fn drop_closes_and_writes_everything() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(4, 1 << 20));
    let tickets: Vec<Ticket> = (0..10)
        .map(|i| ingester.submit(recs(&format!("s{i}"), 1)).unwrap())
        .collect();
    drop(ingester);
    assert!(tickets.iter().all(Ticket::is_durable));
    assert_eq!(backend.visible(), 10);
}

#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<(usize, usize, bool)>>,
    refreshes: Mutex<Vec<bool>>,
}

impl FlushObserver for Recorder {
    fn on_batch(&self, records: usize, bytes: usize, _took: Duration, ok: bool) {
        self.batches.lock().push((records, bytes, ok));
    }

    fn on_refresh(&self, _took: Duration, ok: bool) {
        self.refreshes.lock().push(ok);
    }
}

#[test]
fn stats_and_observer_see_every_batch_and_refresh() {
    let backend = TestBackend::new();
    let recorder = Arc::new(Recorder::default());
    let (ingester, _clock) = start(&backend, config(10, 1 << 20).observer(recorder.clone()));
    backend.fail_call(2);
    let ok = ingester.submit(recs("ok", 3)).unwrap(); // sources "ok-0".. are 4 bytes
    durable(&ok);
    let failed = ingester.submit(recs("no", 2)).unwrap();
    assert!(failed.wait_durable_timeout(WAIT).is_err());
    ingester.flush().unwrap();

    assert_eq!(*recorder.batches.lock(), [(3, 12, true), (2, 8, false)]);
    assert_eq!(*recorder.refreshes.lock(), [true]);
    let stats = ingester.stats();
    assert_eq!((stats.committed_records, stats.committed_bytes), (3, 12));
    assert_eq!(
        (stats.failed_records, stats.batches, stats.failed_batches),
        (2, 2, 1)
    );
    assert_eq!((stats.refreshes, stats.last_batch_records), (1, 2));
    assert_eq!(
        (
            stats.queued_submissions,
            stats.queued_bytes,
            stats.waiting_submitters
        ),
        (0, 0, 0)
    );
}
