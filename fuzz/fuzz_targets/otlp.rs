//! The OTLP logs decoder of `POST /v1/logs` (protobuf and JSON): no panic,
//! every record within the limits and parsing back to itself, errors with
//! a reason and a place that exists. What is asserted:
//! `logingest_protocols::fuzz` (feature `fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_protocols::fuzz::check_otlp(data));
