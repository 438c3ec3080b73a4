//! Byte budgets: memory reserved before it is used, refused past a limit.
//!
//! Why: the server holds many clients' data at once (bodies being read,
//! records being parsed, queued and written, batches waiting for live-tail
//! subscribers), and each client decides how much it sends and how fast it
//! reads. Without a budget, 64 clients sending 4 MiB bodies once raised
//! peak RSS to 1.5 GB. A [`Budget`] is a count of bytes that callers
//! reserve *before* allocating: a reservation that does not fit waits for
//! a while or is refused at once, and the caller answers 503 (or 413 when
//! the request alone is larger than the whole budget) instead of growing.
//!
//! Reservations are permits of a fair (first come, first served) tokio
//! semaphore, one permit per byte, so a large request waiting for room is
//! not overtaken forever by small ones.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

use crate::error::ApiError;

/// A number of bytes shared by everyone who reserves from it.
pub struct Budget {
    /// What the budget is for, in the words of error messages.
    what: &'static str,
    /// The flag that sets it, for error messages.
    flag: &'static str,
    limit: usize,
    bytes: Arc<Semaphore>,
}

/// Bytes reserved from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
}

/// How long a reservation may wait for room.
#[derive(Debug, Clone, Copy)]
pub enum Wait {
    /// Refuse at once (`--when-full reject`).
    No,
    /// Wait up to this long (`--when-full block`).
    UpTo(Duration),
}

impl Budget {
    /// A budget of `limit` bytes (at least 1).
    pub fn new(what: &'static str, flag: &'static str, limit: usize) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Budget {
            what,
            flag,
            limit,
            bytes: Arc::new(Semaphore::new(limit)),
        }
    }

    /// The configured limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes reserved right now.
    pub fn used(&self) -> usize {
        self.limit - self.bytes.available_permits()
    }

    /// An empty reservation, to grow as data arrives.
    pub fn none(&self) -> Reservation {
        Reservation { permit: None }
    }

    /// Adds `bytes` to `reservation`, waiting as `wait` allows.
    pub async fn grow(
        &self,
        reservation: &mut Reservation,
        bytes: usize,
        wait: Wait,
    ) -> Result<(), ApiError> {
        let count = self.count(reservation, bytes)?;
        if count == 0 {
            return Ok(());
        }
        let permit = match wait {
            Wait::No => self.try_acquire(count)?,
            Wait::UpTo(timeout) => {
                let acquire = Arc::clone(&self.bytes).acquire_many_owned(count);
                match tokio::time::timeout(timeout, acquire).await {
                    Ok(Ok(permit)) => permit,
                    // The semaphore is never closed.
                    Ok(Err(_)) | Err(_) => return Err(self.busy()),
                }
            }
        };
        reservation.add(permit);
        Ok(())
    }

    /// Adds `bytes` to `reservation` if they are free now (for code that
    /// runs off the async runtime and cannot wait).
    pub fn try_grow(&self, reservation: &mut Reservation, bytes: usize) -> Result<(), ApiError> {
        let count = self.count(reservation, bytes)?;
        if count > 0 {
            let permit = self.try_acquire(count)?;
            reservation.add(permit);
        }
        Ok(())
    }

    /// `bytes` as a permit count, refusing a reservation that could never
    /// fit (413: retrying cannot help).
    fn count(&self, reservation: &Reservation, bytes: usize) -> Result<u32, ApiError> {
        let total = reservation.bytes().saturating_add(bytes);
        if total > self.limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "this request needs more than the server's {} of {} bytes ({}); send less at once",
                    self.what, self.limit, self.flag
                ),
            ));
        }
        // Within the limit, which a permit count can hold in practice;
        // a larger one is refused like an exhausted budget.
        u32::try_from(bytes).map_err(|_| self.busy())
    }

    fn try_acquire(&self, count: u32) -> Result<OwnedSemaphorePermit, ApiError> {
        Arc::clone(&self.bytes)
            .try_acquire_many_owned(count)
            .map_err(|e| match e {
                TryAcquireError::NoPermits | TryAcquireError::Closed => self.busy(),
            })
    }

    /// 503: the budget is in use by other requests; retrying later helps.
    fn busy(&self) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "server busy: the {} ({} bytes, {}) is in use; retry later",
                self.what, self.limit, self.flag
            ),
        )
        .retry_after(1)
    }
}

impl Reservation {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.permit.as_ref().map_or(0, |p| p.num_permits())
    }

    /// Gives back all but `bytes` of the reservation (no-op if it holds
    /// no more than that).
    pub fn shrink_to(&mut self, bytes: usize) {
        if let Some(permit) = &mut self.permit {
            let extra = permit.num_permits().saturating_sub(bytes);
            if extra > 0 {
                drop(permit.split(extra));
            }
        }
    }

    fn add(&mut self, permit: OwnedSemaphorePermit) {
        match &mut self.permit {
            Some(held) => held.merge(permit),
            None => self.permit = Some(permit),
        }
    }
}

/// How much memory records take per byte of the body they were parsed
/// from, as recently seen: what a request reserves for its records before
/// it knows.
///
/// Why learned and not fixed: real logs parse to about 3.6 times their
/// JSON (`Record::memory`), but bodies of many short fields take far more
/// (18 times, `logingest-core/tests/record_memory.rs`). A request that
/// guessed short must take the rest from what is free mid-parse, and when
/// every request in flight guessed short, none could: each would be
/// refused, again and again. So the guess follows the highest ratio seen
/// lately (a refused request counts with twice what it had reached) and
/// falls back by a sixteenth per request towards the ratios since.
pub struct RecordRatio {
    /// The ratio in sixteenths.
    sixteenths: AtomicUsize,
}

impl RecordRatio {
    /// Lowest guess: four bytes of records per byte of body.
    const FLOOR: usize = 4 * 16;
    /// Highest guess: 64 per byte (a body can always reserve more as it
    /// parses, if free).
    const CEILING: usize = 64 * 16;

    /// Starts at the floor.
    pub fn new() -> Self {
        RecordRatio {
            sixteenths: AtomicUsize::new(Self::FLOOR),
        }
    }

    /// Bytes to reserve for the records of a body of `body` bytes.
    pub fn estimate(&self, body: usize) -> usize {
        body.saturating_mul(self.sixteenths.load(Ordering::Relaxed)) / 16
    }

    /// Learns from a body of `body` bytes whose records took `records`.
    pub fn observe(&self, body: usize, records: usize) {
        if body == 0 {
            return;
        }
        // A sixteenth of margin over what was seen.
        let seen = (records.saturating_mul(16) / body + 1).clamp(Self::FLOOR, Self::CEILING);
        let _ = self
            .sixteenths
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                Some(if seen >= current {
                    seen
                } else {
                    (current - 1).max(seen)
                })
            });
    }
}

impl Default for RecordRatio {
    fn default() -> Self {
        Self::new()
    }
}

/// Reserves memory as parsing makes records: from bytes reserved in
/// advance first, then from what the budget has free at the moment (it
/// runs off the async runtime, so it cannot wait).
pub struct Meter<'a> {
    budget: &'a Budget,
    reservation: &'a mut Reservation,
    /// Bytes of the reservation set aside for records.
    covered: usize,
    used: usize,
}

impl<'a> Meter<'a> {
    /// A meter drawing on `prepaid` bytes of `reservation` first.
    pub fn new(budget: &'a Budget, reservation: &'a mut Reservation, prepaid: usize) -> Self {
        Meter {
            budget,
            reservation,
            covered: prepaid,
            used: 0,
        }
    }

    /// Accounts for `bytes` more of memory, before they are allocated.
    pub fn add(&mut self, bytes: usize) -> Result<(), ApiError> {
        self.used += bytes;
        if self.used > self.covered {
            self.budget
                .try_grow(self.reservation, self.used - self.covered)?;
            self.covered = self.used;
        }
        Ok(())
    }

    /// Gives back `bytes` accounted for by [`Meter::add`] whose memory is
    /// free again (a decoded request once its records are made). The room
    /// stays in the reservation until the caller shrinks it to
    /// [`Meter::used`].
    pub fn release(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Bytes accounted for so far.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Budget {
        async fn reserve(&self, bytes: usize, wait: Wait) -> Result<Reservation, ApiError> {
            let mut reservation = self.none();
            self.grow(&mut reservation, bytes, wait).await?;
            Ok(reservation)
        }
    }

    #[tokio::test]
    async fn reservations_are_given_back_when_dropped() {
        let budget = Budget::new("test budget", "--test", 100);
        let mut first = budget.reserve(60, Wait::No).await.unwrap();
        assert_eq!(budget.used(), 60);
        let refused = budget.reserve(50, Wait::No).await.unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(refused.message().contains("server busy"), "{refused:?}");
        first.shrink_to(10);
        assert_eq!(budget.used(), 10);
        let second = budget.reserve(50, Wait::No).await.unwrap();
        budget.try_grow(&mut first, 40).unwrap();
        assert_eq!((first.bytes(), budget.used()), (50, 100));
        assert!(budget.try_grow(&mut first, 1).is_err());
        drop((first, second));
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn the_record_ratio_follows_the_highest_seen_and_falls_back_slowly() {
        let ratio = RecordRatio::new();
        assert_eq!(ratio.estimate(1000), 4000);
        ratio.observe(1000, 3000);
        assert_eq!(ratio.estimate(1000), 4000, "never below the floor");
        ratio.observe(1000, 18_000);
        assert_eq!(ratio.estimate(1600), 18_000 * 16 / 10 + 100);
        ratio.observe(1000, 3000);
        assert_eq!(ratio.estimate(16), 18 * 16, "one sixteenth down");
        for _ in 0..1000 {
            ratio.observe(1000, 3000);
        }
        assert_eq!(ratio.estimate(1000), 4000);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_budget_is_413() {
        let budget = Budget::new("test budget", "--test", 100);
        let mut held = budget.reserve(70, Wait::No).await.unwrap();
        let error = budget.try_grow(&mut held, 31).unwrap_err();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.message().contains("--test"), "{error:?}");
        assert_eq!(budget.used(), 70);
    }

    #[tokio::test]
    async fn a_waiting_reservation_gets_room_once_it_is_freed() {
        let budget = Arc::new(Budget::new("test budget", "--test", 100));
        let held = budget.reserve(80, Wait::No).await.unwrap();
        let waiter = {
            let budget = Arc::clone(&budget);
            tokio::spawn(async move {
                budget
                    .reserve(50, Wait::UpTo(Duration::from_secs(30)))
                    .await
                    .map(|r| r.bytes())
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(held);
        assert_eq!(waiter.await.unwrap().unwrap(), 50);
        let timed_out = budget
            .reserve(101 - 1, Wait::UpTo(Duration::from_millis(1)))
            .await;
        assert!(timed_out.is_ok(), "the whole budget is free again");
    }
}
