//! The checks of the fuzz targets, callable from stable tests too.
//!
//! Each coverage-guided fuzz target in `fuzz/` (cargo-fuzz, nightly) is a
//! three-line wrapper around one function here, and each crate's stable
//! tests replay the seed corpus in `fuzz/corpus/<target>/` through the same
//! function with [`replay`]. Keeping the properties in one place means CI
//! exercises exactly what the fuzzer checks, without a nightly toolchain,
//! and a minimized crash found by the fuzzer becomes a regression test by
//! copying it into the corpus.
//!
//! Every check panics when a property does not hold; a panic is what the
//! fuzzer reports as a finding. The properties are in the submodules:
//! [`records`] (the record parser), [`query`] (the query parser and its
//! printer), [`translation`] (a backend's translation of the AST against
//! the reference evaluator).

pub mod query;
pub mod records;
pub mod translation;

use std::path::Path;

pub use query::check_query;
pub use records::check_records;
pub use translation::{check_translation, translation_corpus, write_corpus, Written};

/// Runs `check` on every file of `dir` (a seed corpus), each under
/// `catch_unwind`, and panics naming every file whose check failed. An empty
/// or missing directory is a failure too: a replay that checks nothing
/// must not pass.
pub fn replay(dir: impl AsRef<Path>, check: impl Fn(&[u8])) {
    let dir = dir.as_ref();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "seed corpus {} is empty", dir.display());
    let failed: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let data = std::fs::read(path).expect("read seed");
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&data)))
                .err()
                .map(|_| path.display().to_string())
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} seeds failed (their panics are printed above): {failed:?}",
        failed.len(),
        files.len()
    );
}

#[cfg(test)]
mod tests {
    use super::replay;

    fn seeds(name: &str, files: &[&[u8]]) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("logingest-replay-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (i, data) in files.iter().enumerate() {
            std::fs::write(dir.join(i.to_string()), data).expect("write seed");
        }
        dir
    }

    #[test]
    fn replay_fails_when_a_seed_fails() {
        let dir = seeds("fails", &[b"good", b"bad"]);
        let outcome = std::panic::catch_unwind(|| replay(&dir, |d| assert_ne!(d, b"bad")));
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(outcome.is_err());
    }

    #[test]
    fn replay_fails_on_an_empty_corpus() {
        let dir = seeds("empty", &[]);
        let outcome = std::panic::catch_unwind(|| replay(&dir, |_| {}));
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(outcome.is_err());
    }
}
