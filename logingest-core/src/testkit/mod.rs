//! The test kit every backend runs (feature `testkit`).
//!
//! Two suites, both generic over a [`Harness`] that opens a backend:
//!
//! - [`conformance`]: named cases for each contract of [`crate::Backend`]
//!   (round trip exactly as sent, durability across reopen, visibility,
//!   every query form, time-range edges, ordering ties, cursor pages under
//!   concurrent ingest, Unicode, large messages, empty batches, retention,
//!   histogram, facets, stats). One macro call,
//!   [`conformance_tests!`](crate::conformance_tests), makes a `#[test]` of
//!   each.
//! - [`differential`]: seeded random records (and the Loghub samples) and
//!   seeded random queries over every operator; the backend must return
//!   exactly what the reference evaluator [`crate::matches`] selects, in the
//!   same order, with the same total.
//!
//! - [`small_disk`]: a small tmpfs to fill up, for disk-full tests.
//! - [`crash`]: the child side of a crash test (a child process ingesting
//!   until SIGKILL, reporting what was acknowledged) and its plumbing.
//!
//! The kit is public so that backends outside this repository can prove
//! themselves the same way (as `object_store`'s integration module does).

pub mod conformance;
pub mod corpus;
pub mod crash;
pub mod differential;
pub mod fuzz;
mod harness;
pub mod querygen;
pub mod services;
pub mod small_disk;

pub use harness::{reference_facets, reference_histogram, write_all, Harness};
