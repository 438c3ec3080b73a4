//! The embedded backend through the whole test kit of core.

use logingest_core::testkit::differential::{self, Corpus, DiffConfig};
use logingest_core::testkit::Harness;
use logingest_tantivy::{TantivyBackend, TantivyConfig};

/// A backend in a temporary directory; `reopen` drops it and opens the
/// directory again, as a restarted process would.
struct Tantivy {
    backend: Option<TantivyBackend>,
    dir: tempfile::TempDir,
}

impl Tantivy {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = TantivyBackend::open(dir.path(), config()).expect("open");
        Tantivy {
            backend: Some(backend),
            dir,
        }
    }
}

/// No background refresh: the kit calls `refresh` itself, and visibility must
/// come from that call alone.
fn config() -> TantivyConfig {
    TantivyConfig::default().refresh_interval(None)
}

impl Harness for Tantivy {
    type Backend = TantivyBackend;

    fn backend(&self) -> &TantivyBackend {
        self.backend.as_ref().expect("open backend")
    }

    fn reopen(&mut self) {
        drop(self.backend.take());
        self.backend = Some(TantivyBackend::open(self.dir.path(), config()).expect("reopen"));
    }
}

logingest_core::conformance_tests!(Tantivy::new);

#[test]
fn differential_random_corpora() {
    for seed in 1..=4 {
        let config = DiffConfig::new(seed, 2_500, Corpus::Random(400)).from_env();
        differential::run(&mut Tantivy::new(), &config);
    }
}

/// 6,000 queries (~110 s, the longest test of this file; more than half
/// carry a regex). Larger runs: docs/testing.md.
#[test]
fn differential_loghub() {
    let config = DiffConfig::new(7, 6_000, Corpus::Loghub).from_env();
    differential::run(&mut Tantivy::new(), &config);
}

#[test]
fn a_second_process_cannot_open_the_directory() {
    let first = Tantivy::new();
    // Another open file description of the same lock file conflicts even in
    // one process, as a second process would.
    let err = TantivyBackend::open(first.dir.path(), config()).expect_err("second open must fail");
    assert!(err.to_string().contains("already open"), "{err}");
}
