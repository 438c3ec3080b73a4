//! The memory backend passes the whole conformance suite and differential kit.

use logingest_core::testkit::differential::{self, Corpus, DiffConfig};
use logingest_core::testkit::Harness;
use logingest_core::MemoryBackend;

/// A memory backend; "reopening" makes a new handle on the same storage.
struct Memory(MemoryBackend);

impl Harness for Memory {
    type Backend = MemoryBackend;

    fn backend(&self) -> &MemoryBackend {
        &self.0
    }

    fn reopen(&mut self) {
        self.0 = self.0.clone();
    }
}

logingest_core::conformance_tests!(|| Memory(MemoryBackend::new()));

#[test]
fn differential_random_corpora() {
    for seed in 1..=4 {
        let config = DiffConfig::new(seed, 2_500, Corpus::Random(300)).from_env();
        differential::run(&mut Memory(MemoryBackend::new()), &config);
    }
}

#[test]
fn differential_loghub() {
    let config = DiffConfig::new(7, 500, Corpus::Loghub).from_env();
    differential::run(&mut Memory(MemoryBackend::new()), &config);
}
