//! The flusher's notion of time.
//!
//! Why a trait: the batch policy's linger and the periodic refresh are about
//! time, and tests that sleep to exercise them are slow and flaky. The flusher
//! reads time only through [`Clock`], so tests drive it by hand with
//! [`ManualClock`] (as Vector's batcher tests pause tokio's clock).
//!
//! Only policy decisions use the clock. Timeouts a *caller* asks for
//! (`WhenFull::Block`, `Ticket::wait_*_timeout`) and the durations reported to
//! a [`super::FlushObserver`] are wall time.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A source of monotonic time for the flusher.
pub trait Clock: Send + Sync {
    /// The current instant. Must never go backwards.
    fn now(&self) -> Instant;
}

/// The real monotonic clock ([`Instant::now`]). The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for deterministic tests.
///
/// It starts at the instant it was created and moves forward by
/// [`ManualClock::advance`], and optionally by a fixed step after every
/// reading ([`ManualClock::set_auto_advance`]), which lets a test make time
/// pass "while the flusher is collecting a batch".
#[derive(Debug)]
pub struct ManualClock {
    origin: Instant,
    state: Mutex<ManualState>,
}

#[derive(Debug, Default)]
struct ManualState {
    /// Time elapsed since `origin`.
    offset: Duration,
    /// Added to `offset` after every `now()`.
    step: Duration,
}

impl ManualClock {
    /// A clock standing still at the current instant.
    pub fn new() -> Self {
        ManualClock {
            origin: Instant::now(),
            state: Mutex::new(ManualState::default()),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.state.lock().offset += by;
    }

    /// After every later `now()`, moves the clock forward by `step` (zero
    /// turns this off). The reading itself returns the time before the step.
    pub fn set_auto_advance(&self, step: Duration) {
        self.state.lock().step = step;
    }

    /// How far the clock has moved since it was created.
    pub fn elapsed(&self) -> Duration {
        self.state.lock().offset
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let mut state = self.state.lock();
        let state = &mut *state;
        let now = self.origin + state.offset;
        state.offset += state.step;
        now
    }
}
