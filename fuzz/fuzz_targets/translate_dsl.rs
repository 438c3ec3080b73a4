//! The AST → Elasticsearch/OpenSearch DSL translation of `logingest-pg`,
//! without a live OpenSearch: no panic, only regexes refused, well-formed
//! JSON of the clauses the backend uses. What is asserted:
//! `logingest_pg::fuzz` (feature `fuzzing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| logingest_pg::fuzz::check_dsl(data));
