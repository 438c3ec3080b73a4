//! The `_bulk` body parser of the server, on arbitrary bodies. The parser
//! lives in the server binary, so its file (which needs nothing of the
//! server) and its check are included here by path. What is asserted:
//! `examples/server/src/routes/bulk/check.rs`.
#![no_main]

#[path = "../../examples/server/src/routes/bulk/items.rs"]
mod items;

#[path = "../../examples/server/src/routes/bulk/check.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check_bulk(data));
