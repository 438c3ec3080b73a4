//! The seeds of the `translate_tantivy` fuzz target (`fuzz/corpus/`),
//! replayed on stable through the same check the fuzzer runs: each query on
//! the embedded backend holding the small fixed corpus must return exactly
//! what the reference evaluator selects (docs/testing.md, "Fuzzing").

use logingest_core::testkit::fuzz::{check_translation, replay, write_corpus};
use logingest_tantivy::{TantivyBackend, TantivyConfig};

#[test]
fn translate_tantivy_seeds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = TantivyConfig::default().refresh_interval(None);
    let backend = TantivyBackend::open(dir.path(), config).expect("open");
    let written = write_corpus(&backend);
    replay(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fuzz/corpus/translate_tantivy"
        ),
        |data| check_translation(&backend, &written, data),
    );
}
