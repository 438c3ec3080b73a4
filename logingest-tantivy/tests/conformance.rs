//! The embedded backend through the whole test kit of core.

use logingest_core::testkit::differential::{self, Corpus, DiffConfig};
use logingest_core::testkit::Harness;
use logingest_tantivy::{TantivyBackend, TantivyConfig};

/// A backend in a temporary directory; `reopen` drops it and opens the
/// directory again, as a restarted process would.
struct Tantivy {
    backend: Option<TantivyBackend>,
    dir: tempfile::TempDir,
    config: TantivyConfig,
}

impl Tantivy {
    fn new() -> Self {
        Tantivy::with(config())
    }

    fn with(config: TantivyConfig) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = TantivyBackend::open(dir.path(), config.clone()).expect("open");
        Tantivy {
            backend: Some(backend),
            dir,
            config,
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
        let config = self.config.clone();
        self.backend = Some(TantivyBackend::open(self.dir.path(), config).expect("reopen"));
    }
}

logingest_core::conformance_tests!(Tantivy::new);

/// Keyword columns as a large index would have them after a while, on a
/// small corpus: at most `paths` paths with a column, and a path loses its
/// column once more than a quarter of `window` values are distinct. Facets
/// then come from columns for some paths and from postings for the others,
/// and the state is saved and restored across the kit's reopens.
fn few_columns(paths: usize, window: usize) -> TantivyConfig {
    config().column_paths(paths).column_window(window)
}

/// Seeds 1–2 with the default columns (on 400 records every path keeps its
/// column), 3–4 with few (most facets count postings).
#[test]
fn differential_random_corpora() {
    for seed in 1..=4 {
        let diff = DiffConfig::new(seed, 2_500, Corpus::Random(400)).from_env();
        let backend = match seed {
            1 | 2 => config(),
            _ => few_columns(4, 16),
        };
        differential::run(&mut Tantivy::with(backend), &diff);
    }
}

/// 6,000 queries (~110 s, the longest test of this file; more than half
/// carry a regex). Larger runs: docs/testing.md. Windows of 64 values: the
/// Loghub samples' ids and free-form values lose their columns, their
/// levels, components and hosts keep them.
#[test]
fn differential_loghub() {
    let config = DiffConfig::new(7, 6_000, Corpus::Loghub).from_env();
    differential::run(&mut Tantivy::with(few_columns(1_000, 64)), &config);
}

#[test]
fn a_second_process_cannot_open_the_directory() {
    let first = Tantivy::new();
    // Another open file description of the same lock file conflicts even in
    // one process, as a second process would.
    let err = TantivyBackend::open(first.dir.path(), config()).expect_err("second open must fail");
    assert!(err.to_string().contains("already open"), "{err}");
}
