//! Which keyword paths have a fast column of their own.
//!
//! Facets read the values of one path for every matching document. One
//! column per path makes that cheap: `level` takes 3 bits a record,
//! `resourceId` 9, and a facet reads only its own path. But a path of
//! unique ids (span ids, pod names, user ids) would cost its whole
//! dictionary plus ~20 bits a record, for facets whose counts are all 1 or
//! 2. Such a path keeps no column: its facets count its terms' postings in
//! the `kw` inverted index instead (`crate::facets`).
//!
//! The rule, per index:
//! - a path gets a column the first time a batch holds it, unless
//!   `max_paths` paths were given one already (as Elasticsearch caps the
//!   fields of a mapping, so that records with ids in their keys cannot
//!   make a column each). Once a path was refused for the cap, no new path
//!   gets a column again, even if a later open raises `max_paths`: the
//!   refused path's documents have no column;
//! - a path longer than [`MAX_PATH_BYTES`], or holding `\0`, never gets one
//!   (the first because every commit saves the paths; tantivy drops columns
//!   whose name holds `\0`);
//! - it loses its column for good when one window of `window` of its values
//!   holds more than a quarter distinct ones (counted approximately, by
//!   linear counting over a bitmap of four bits a value: 2 KiB a path at
//!   the default window).
//!
//! What readers rely on: **a path that has a column has every document
//! holding it in that column**, in every segment. So a path's state is
//! decided before any document holding it is built, a path never gains a
//! column after documents without one were built (a path first seen once
//! the cap is reached never gets one, the cap never frees, and a refusal is
//! saved), and a
//! document is built without a path's column only once the path has lost
//! it. The state is saved in each tantivy commit's payload, with the
//! documents it describes: after a crash, what was not committed is indexed
//! again under the saved state. Searches use the current state, which can
//! only be ahead of their segments' (a path lost its column: facets count
//! postings, correct for every segment).

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::FixedState;

use logingest_core::Record;
use serde::{Deserialize, Serialize};

/// The fraction of distinct values in a window past which a path loses its
/// column: fewer than four records share a value on average.
const DISTINCT_SHARE: f64 = 0.25;

/// Bits of the linear-counting bitmap per value of a window.
const BITS_PER_VALUE: usize = 4;

/// Longer paths get no column (they are saved in every commit's payload).
pub(crate) const MAX_PATH_BYTES: usize = 256;

/// The column state of every keyword path seen so far.
#[derive(Debug)]
pub(crate) struct KeywordColumns {
    max_paths: usize,
    window: usize,
    /// foldhash rather than SipHash: every keyword of every record is
    /// looked up here, and nothing about a path is secret.
    paths: HashMap<String, Path, FixedState>,
    /// Paths given a column, including those that lost it since: the cap
    /// counts both, so it never frees.
    given: usize,
    /// A new path was refused a column for the cap: no new path gets one
    /// again, whatever the cap of a later open.
    capped: bool,
}

#[derive(Debug)]
enum Path {
    /// Has a column; its current window of values.
    Column(Window),
    /// Lost its column.
    Terms,
}

/// Saved in the commit payload.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct SavedColumns {
    /// Paths with a column.
    pub column: Vec<String>,
    /// Paths given a column that lost it.
    pub terms: Vec<String>,
    /// A new path was refused a column for the cap.
    #[serde(default)]
    pub capped: bool,
}

impl KeywordColumns {
    /// The state saved in the last commit (`None`: an empty index).
    pub(crate) fn new(max_paths: usize, window: usize, saved: Option<SavedColumns>) -> Self {
        let window = window.max(1);
        let saved = saved.unwrap_or_default();
        let given = saved.column.len() + saved.terms.len();
        let capped = saved.capped;
        let mut paths = HashMap::with_capacity_and_hasher(given, FixedState::default());
        for path in saved.column {
            paths.insert(path, Path::Column(Window::new(window)));
        }
        for path in saved.terms {
            paths.insert(path, Path::Terms);
        }
        KeywordColumns {
            max_paths,
            window,
            paths,
            given,
            capped,
        }
    }

    /// Decides the state of every path of `records` before their documents
    /// are built: new paths get a column while the cap allows, and paths
    /// whose window fills with too many distinct values lose theirs.
    pub(crate) fn plan(&mut self, records: &[Record]) {
        for record in records {
            for (path, value) in record.keywords() {
                let state = match self.paths.get_mut(path.as_str()) {
                    Some(state) => state,
                    // Never a column (the module doc says why); not
                    // remembered either: records with ids in their keys
                    // would otherwise grow this map without bound.
                    None if path.len() > MAX_PATH_BYTES || path.contains('\0') => continue,
                    None if self.capped => continue,
                    None if self.given >= self.max_paths => {
                        self.capped = true;
                        continue;
                    }
                    None => {
                        self.given += 1;
                        let window = Window::new(self.window);
                        self.paths
                            .entry(path.clone())
                            .or_insert(Path::Column(window))
                    }
                };
                if let Path::Column(window) = state {
                    if window.add(value) {
                        *state = Path::Terms;
                    }
                }
            }
        }
    }

    /// Whether `path`'s values are in a column of their own.
    pub(crate) fn has_column(&self, path: &str) -> bool {
        matches!(self.paths.get(path), Some(Path::Column(_)))
    }

    /// The state to save with a commit.
    pub(crate) fn saved(&self) -> SavedColumns {
        let mut saved = SavedColumns::default();
        for (path, state) in &self.paths {
            match state {
                Path::Column(_) => saved.column.push(path.clone()),
                Path::Terms => saved.terms.push(path.clone()),
            }
        }
        saved.column.sort_unstable();
        saved.terms.sort_unstable();
        saved.capped = self.capped;
        saved
    }
}

/// One window of a path's values: how many were seen, and which bits of the
/// linear-counting bitmap they set.
#[derive(Debug)]
struct Window {
    seen: usize,
    size: usize,
    bits: Vec<u64>,
}

impl Window {
    fn new(size: usize) -> Self {
        Window {
            seen: 0,
            size,
            bits: vec![0; (size * BITS_PER_VALUE).div_ceil(64)],
        }
    }

    /// Counts `value`; at the end of a window, true if it held too many
    /// distinct values (the window then starts over).
    fn add(&mut self, value: &str) -> bool {
        let m = self.bits.len() * 64;
        let bit = (FixedState::default().hash_one(value) % m as u64) as usize;
        self.bits[bit / 64] |= 1 << (bit % 64);
        self.seen += 1;
        if self.seen < self.size {
            return false;
        }
        let zeros: u32 = self.bits.iter().map(|w| w.count_zeros()).sum();
        let distinct = if zeros == 0 {
            f64::INFINITY
        } else {
            m as f64 * (m as f64 / f64::from(zeros)).ln()
        };
        self.seen = 0;
        self.bits.fill(0);
        distinct > DISTINCT_SHARE * self.size as f64
    }
}

/// The name tantivy resolves to the column of `path` in the JSON field
/// `field`: documents hold each path as one key, so its dots (and the
/// escape character) are escaped to stay within one segment.
pub(crate) fn column_name(field: &str, path: &str) -> String {
    let mut name = String::with_capacity(field.len() + 1 + path.len() + 4);
    name.push_str(field);
    name.push('.');
    for c in path.chars() {
        if c == '.' || c == '\\' {
            name.push('\\');
        }
        name.push(c);
    }
    name
}

#[cfg(test)]
mod tests;
