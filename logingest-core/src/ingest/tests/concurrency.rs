//! Many submitters on the real clock: nothing lost, duplicated or split, and
//! every ticket's sequence range is exactly where its records were stored.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::support::{durable, recs, TestBackend, FIRST_SEQ};
use crate::ingest::{BatchPolicy, Clock, IngestConfig, Ingester, ManualClock, WhenFull};

#[test]
fn concurrent_submitters_get_exact_disjoint_ranges() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 100;
    let backend = TestBackend::new();
    let config = IngestConfig::default()
        .policy(BatchPolicy::new(16, 1 << 20, Duration::from_millis(1)).unwrap())
        .queue_capacity(8)
        .when_full(WhenFull::Block {
            timeout: super::support::WAIT,
        });
    let ingester = Arc::new(Ingester::start(backend.clone(), config).unwrap());
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let ingester = Arc::clone(&ingester);
            thread::spawn(move || {
                (0..PER_THREAD)
                    .map(|i| {
                        let n = 1 + (t + i) % 5;
                        let ticket = ingester.submit(recs(&format!("t{t}s{i}"), n)).unwrap();
                        (format!("t{t}s{i}"), n, ticket)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let submitted: Vec<_> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    Arc::into_inner(ingester).unwrap().close().unwrap();

    let committed = backend.committed();
    let total: usize = submitted.iter().map(|(_, n, _)| n).sum();
    assert_eq!(committed.len(), total);
    for (label, n, ticket) in &submitted {
        let ack = durable(ticket);
        assert_eq!(ack.len, *n as u64);
        let start = usize::try_from(ack.first_seq - FIRST_SEQ).unwrap();
        let expected: Vec<String> = (0..*n).map(|j| format!("{label}-{j}")).collect();
        assert_eq!(committed[start..start + n], expected[..], "{label}");
    }
    assert_eq!(backend.visible(), total);
    assert!(backend.attempted().iter().all(|&n| n <= 16));
}

#[test]
fn manual_clock_moves_only_when_told() {
    let clock = ManualClock::new();
    let t0 = clock.now();
    assert_eq!(clock.now(), t0);
    clock.advance(Duration::from_millis(3));
    assert_eq!(clock.now(), t0 + Duration::from_millis(3));
    clock.set_auto_advance(Duration::from_millis(2));
    assert_eq!(clock.now(), t0 + Duration::from_millis(3));
    assert_eq!(clock.now(), t0 + Duration::from_millis(5));
    assert_eq!(clock.elapsed(), Duration::from_millis(7));
}
