//! The record parser on arbitrary bodies: the first byte picks the framing
//! (Auto, Ndjson) and small limits. What is asserted (no panic, limits,
//! error locations, stored text parsing back, Auto = Ndjson off arrays):
//! `logingest_core::testkit::fuzz::records`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_core::testkit::fuzz::check_records(data));
