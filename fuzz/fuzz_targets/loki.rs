//! The Loki push decoder of `POST /loki/api/v1/push` (snappy-compressed
//! protobuf and JSON): no panic, every record within the limits and
//! parsing back to itself, errors with a reason and a place that exists.
//! What is asserted: `logingest_protocols::fuzz` (feature `fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_protocols::fuzz::check_loki(data));
