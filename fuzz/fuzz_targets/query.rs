//! The query parser on arbitrary text. What is asserted (no panic, error
//! positions inside the text, print → parse round trip, conjuncts agree):
//! `logingest_core::testkit::fuzz::query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_core::testkit::fuzz::check_query(data));
