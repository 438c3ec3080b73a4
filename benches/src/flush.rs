//! The batches the flush-path benches write, shared so that every backend's
//! bench measures the same data: generator records (seed 1) in batches of a
//! given size, 40,000 records in all, and the Loghub samples as one batch.

use logingest_core::{parse_records, ParseOptions, Record};

use crate::generator::{Generator, GeneratorConfig};

/// One batch: its NDJSON body and the records parsed from it.
pub struct Batch {
    /// The request body.
    pub ndjson: Vec<u8>,
    /// Its records, parsed once up front.
    pub records: Vec<Record>,
}

impl Batch {
    /// A batch of `ndjson` (panics if it does not parse: it is bench data).
    pub fn new(ndjson: Vec<u8>) -> Self {
        let records = parse_records(&ndjson, &ParseOptions::default()).expect("bench data parses");
        Batch { ndjson, records }
    }
}

/// Distinct generator batches of `size` records, 40,000 records (about
/// 15 MB of NDJSON) for the sizes benched.
pub fn generator_batches(size: usize) -> Vec<Batch> {
    let count = (40_000 / size).clamp(2, 40);
    let mut generator = Generator::new(GeneratorConfig::default().seed(1));
    (0..count)
        .map(|_| Batch::new(generator.ndjson(size)))
        .collect()
}

/// Hands out its batches round robin.
pub struct Pool {
    batches: Vec<Batch>,
    next: usize,
}

impl Pool {
    /// A pool of `batches` (at least one).
    pub fn new(batches: Vec<Batch>) -> Self {
        Pool { batches, next: 0 }
    }

    /// The next batch.
    pub fn next_batch(&mut self) -> &Batch {
        let batch = &self.batches[self.next % self.batches.len()];
        self.next += 1;
        batch
    }
}
