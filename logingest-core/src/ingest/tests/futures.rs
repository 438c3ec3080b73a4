//! The tickets' futures: pending until the flusher or refresher resolves
//! them, then woken (no thread waits meanwhile), and resolved with what the
//! blocking waits return.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::support::{config, rec, start, wait_until, TestBackend, FIRST_SEQ};
use crate::error::WriteError;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counter {
    /// A counter and a waker counting into it.
    fn waker() -> (Arc<Counter>, Waker) {
        let counter = Arc::new(Counter::default());
        (Arc::clone(&counter), Waker::from(counter))
    }

    fn woken(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn durable_is_pending_until_the_commit_then_wakes_and_resolves() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.block();
    let ticket = ingester.submit(vec![rec("a")]).unwrap();
    backend.wait_calls(1);

    let (counter, waker) = Counter::waker();
    let mut cx = Context::from_waker(&waker);
    let mut durable = pin!(ticket.durable());
    assert!(durable.as_mut().poll(&mut cx).is_pending());
    assert!(durable.as_mut().poll(&mut cx).is_pending(), "polled again");
    assert_eq!(counter.woken(), 0);

    backend.release();
    wait_until("the commit wakes the task", || counter.woken() == 1);
    match durable.as_mut().poll(&mut cx) {
        Poll::Ready(Ok(ack)) => assert_eq!((ack.first_seq, ack.len), (FIRST_SEQ, 1)),
        other => panic!("{other:?}"),
    }
    ingester.close().unwrap();
}

#[test]
fn visible_asks_for_a_refresh_and_wakes_when_it_completed() {
    let backend = TestBackend::new();
    // The periodic refresh is an hour away: only the future's ask refreshes.
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.block_refreshes();
    let ticket = ingester.submit(vec![rec("a")]).unwrap();
    pollster::block_on(ticket.durable()).unwrap();

    let (counter, waker) = Counter::waker();
    let mut cx = Context::from_waker(&waker);
    let mut visible = pin!(ticket.visible());
    assert!(visible.as_mut().poll(&mut cx).is_pending());
    assert_eq!(backend.visible(), 0);

    backend.release_refreshes();
    wait_until("the refresh wakes the task", || counter.woken() >= 1);
    assert!(matches!(
        visible.as_mut().poll(&mut cx),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(backend.visible(), 1);
    ingester.close().unwrap();
}

#[test]
fn futures_report_failures_as_the_blocking_waits_do() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    backend.fail_call(1);
    let failed = ingester.submit(vec![rec("a")]).unwrap();
    let error = pollster::block_on(failed.durable()).unwrap_err();
    assert!(matches!(error, WriteError::Backend { .. }), "{error}");
    assert!(pollster::block_on(failed.visible()).is_err());

    backend.fail_next_refreshes(1);
    let ticket = ingester.submit(vec![rec("b")]).unwrap();
    let error = pollster::block_on(ticket.visible()).unwrap_err();
    assert!(
        matches!(error, WriteError::Backend { .. }),
        "the refresh's error: {error}"
    );
    // The records are durable; a later wait asks for a new refresh.
    pollster::block_on(ticket.visible()).unwrap();

    let empty = ingester.submit(Vec::new()).unwrap();
    assert_eq!(pollster::block_on(empty.durable()).unwrap().len, 0);
    pollster::block_on(empty.visible()).unwrap();
    ingester.close().unwrap();
}

#[test]
fn a_passive_wait_is_woken_by_close_when_no_refresh_comes() {
    let backend = TestBackend::new();
    let (ingester, _clock) = start(&backend, config(10, 1 << 20));
    let ticket = ingester.submit(vec![rec("a")]).unwrap();
    pollster::block_on(ticket.durable()).unwrap();

    let (counter, waker) = Counter::waker();
    let mut cx = Context::from_waker(&waker);
    let mut passive = pin!(ticket.visible_passive());
    assert!(
        passive.as_mut().poll(&mut cx).is_pending(),
        "no periodic refresh yet"
    );
    // Closing refreshes once more (everything accepted becomes visible) and
    // stops the pipeline: either way the task is woken and resolved.
    ingester.close().unwrap();
    assert!(counter.woken() >= 1);
    assert!(passive.as_mut().poll(&mut cx).is_ready());
}
