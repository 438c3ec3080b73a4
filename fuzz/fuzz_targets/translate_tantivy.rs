//! The AST → tantivy translation: each fuzzed query is run on the embedded
//! backend holding a small fixed corpus (written once per process) and must
//! return exactly the records the reference evaluator selects. What is
//! asserted: `logingest_core::testkit::fuzz::translation`.
#![no_main]

use std::sync::OnceLock;

use logingest_core::testkit::fuzz::{check_translation, write_corpus, Written};
use logingest_tantivy::{TantivyBackend, TantivyConfig};

/// The backend, its directory (kept alive) and what was written to it.
static BACKEND: OnceLock<(TantivyBackend, tempfile::TempDir, Written)> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (backend, _dir, written) = BACKEND.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = TantivyConfig::default().refresh_interval(None);
        let backend = TantivyBackend::open(dir.path(), config).expect("open");
        let written = write_corpus(&backend);
        (backend, dir, written)
    });
    check_translation(backend, written, data);
});
