//! Syslog over TCP as `--syslog-tcp` reads it: RFC 6587 framing of a
//! stream fed in pieces, then each message (RFC 5424 or 3164) read into a
//! record: no panic, frames independent of the pieces, records within the
//! limits and parsing back to themselves, errors with a reason.
//! What is asserted: `logingest_protocols::fuzz` (feature `fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_protocols::fuzz::check_syslog(data));
