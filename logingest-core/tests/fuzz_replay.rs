//! The seed corpora of the fuzz targets (`fuzz/corpus/`), replayed on
//! stable through the same checks the fuzzer runs, so CI exercises them
//! without nightly (docs/testing.md, "Fuzzing"). The translation seeds also
//! run against the memory backend here (the embedded backend replays them
//! in its own tests).

use logingest_core::testkit::fuzz::{
    check_query, check_records, check_translation, replay, write_corpus,
};
use logingest_core::MemoryBackend;

fn corpus(target: &str) -> String {
    format!("{}/../fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn records_seeds() {
    replay(corpus("records"), check_records);
}

#[test]
fn query_seeds() {
    replay(corpus("query"), check_query);
}

#[test]
fn translation_seeds_on_the_memory_backend() {
    let backend = MemoryBackend::new();
    let written = write_corpus(&backend);
    replay(corpus("translate_tantivy"), |data| {
        check_translation(&backend, &written, data)
    });
}
