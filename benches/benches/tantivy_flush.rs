//! The flush path of the embedded backend (`logingest-tantivy`) and its
//! baselines, measured in the same run on the same batches:
//!
//! - `parse`: `parse_records` of the batch's NDJSON body, nothing else;
//! - `raw_tantivy`: the batch's documents (same schema, tokenizer and writer
//!   settings as the backend, from `logingest_tantivy::bench`) added to a
//!   tantivy writer, then `commit`;
//! - `raw_sqlite`: the batch's records encoded as the store's compressed
//!   blocks and inserted into the backend's tables in one transaction, WAL,
//!   `synchronous = FULL`, then `COMMIT`;
//! - `full`: parse + `TantivyBackend::write_batch` (SQLite commit, then the
//!   documents to the writer) + `refresh` (tantivy commit with payload,
//!   reader reload), the backend opened with `refresh_interval(None)` and
//!   otherwise default options.
//!
//! Data: generator records (`logingest_benches::generator`, seed 1) in
//! batches of 1,000 and 10,000, and the 4,000 real Loghub records as one
//! batch. Each iteration takes the next batch of a pool of 40,000 distinct
//! generator records (40 batches of 1,000 or 4 of 10,000), round robin; the
//! Loghub batch repeats.
//!
//! State: every variant writes into one long-lived directory per bench that
//! grows for the whole measurement, as a running server's does. A fresh
//! directory per iteration would time the first commit of an empty index
//! (no segments to merge, nothing to fsync but new files) and hide the
//! merge work that a growing index pays; both sides of the ratio grow alike.
//!
//! After the criterion groups, the same variants run once more
//! *interleaved* (each round writes one batch through all of them, in
//! rotating order), plus `backend` (`write_batch` + `refresh` of parsed
//! records), and the bench prints their records/s and the ratios to raw
//! tantivy: on a shared machine whose load changes by the minute, ratios
//! from the same moments are the ones to trust.
//!
//! Run: `cargo bench -p logingest-benches --bench tantivy_flush`
//! (one filter argument limits the criterion groups, as usual).

use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use logingest_benches::flush::{generator_batches, Batch, Pool};
use logingest_benches::loghub_ndjson;
use logingest_core::{parse_records, Backend, ParseOptions, Record};
use logingest_tantivy::{bench, TantivyBackend, TantivyConfig};
use rusqlite::Connection;

/// Raw tantivy: the backend's schema and writer settings, no SQLite.
struct RawTantivy {
    _dir: tempfile::TempDir,
    writer: tantivy::IndexWriter,
    seq: u64,
}

impl RawTantivy {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = bench::create_index(dir.path()).expect("index");
        let writer = bench::writer(&index, &TantivyConfig::default()).expect("writer");
        RawTantivy {
            _dir: dir,
            writer,
            seq: 0,
        }
    }

    fn write(&mut self, records: &[Record]) {
        for record in records {
            self.seq += 1;
            self.writer
                .add_document(bench::document(self.seq, record))
                .expect("add");
        }
        self.writer.commit().expect("commit");
    }
}

/// Raw SQLite: the backend's table and PRAGMAs, no index.
struct RawSqlite {
    _dir: tempfile::TempDir,
    conn: Connection,
    seq: i64,
}

impl RawSqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join("records.sqlite")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("WAL");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("synchronous");
        conn.execute_batch(bench::SQLITE_SCHEMA).expect("schema");
        RawSqlite {
            _dir: dir,
            conn,
            seq: 0,
        }
    }

    fn write(&mut self, records: &[Record]) {
        // What the store does per batch: encode its blocks, insert them in
        // one transaction, commit.
        let tx = self.conn.transaction().expect("begin");
        for chunk in records.chunks(TantivyConfig::default().block_records) {
            let first = self.seq + 1;
            self.seq += chunk.len() as i64;
            let data = bench::encode_block(first as u64, chunk, 3);
            tx.execute(
                "INSERT INTO blocks (first_seq, last_seq, count, min_ts, max_ts, bytes, checksum, dict) VALUES (?1, ?2, ?3, 0, 0, 0, ?4, 0)",
                rusqlite::params![first, self.seq, chunk.len() as i64, i64::from(crc32fast::hash(&data))],
            )
            .expect("insert block");
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO block_data (id, data) VALUES (?1, ?2)",
                rusqlite::params![id, data],
            )
            .expect("insert data");
        }
        tx.commit().expect("commit");
    }
}

/// The backend, refreshed by hand only.
struct Full {
    _dir: tempfile::TempDir,
    backend: TantivyBackend,
}

impl Full {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = TantivyConfig::default().refresh_interval(None);
        let backend = TantivyBackend::open(dir.path(), config).expect("open");
        Full { _dir: dir, backend }
    }

    fn write(&self, ndjson: &[u8]) {
        let records = parse_records(ndjson, &ParseOptions::default()).expect("parses");
        self.write_parsed(&records);
    }

    fn write_parsed(&self, records: &[Record]) {
        self.backend.write_batch(records).expect("write");
        self.backend.refresh().expect("refresh");
    }
}

/// Times `work` on the pool's next batch, `iters` times.
fn timed(pool: &mut Pool, iters: u64, mut work: impl FnMut(&Batch)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let batch = pool.next_batch();
        let start = Instant::now();
        work(batch);
        total += start.elapsed();
    }
    total
}

fn flush_group(c: &mut Criterion, name: &str, batches: Vec<Batch>) {
    let records = batches[0].records.len() as u64;
    let bytes = batches.iter().map(|b| b.ndjson.len() as u64).sum::<u64>() / batches.len() as u64;
    let mut pool = Pool::new(batches);
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::ElementsAndBytes {
        elements: records,
        bytes,
    });

    group.bench_function("parse", |b| {
        b.iter_custom(|iters| {
            timed(&mut pool, iters, |batch| {
                let records = parse_records(&batch.ndjson, &ParseOptions::default());
                std::hint::black_box(records.expect("parses"));
            })
        })
    });

    let mut raw = RawTantivy::new();
    group.bench_function("raw_tantivy", |b| {
        b.iter_custom(|iters| timed(&mut pool, iters, |batch| raw.write(&batch.records)))
    });
    drop(raw);

    let mut sqlite = RawSqlite::new();
    group.bench_function("raw_sqlite", |b| {
        b.iter_custom(|iters| timed(&mut pool, iters, |batch| sqlite.write(&batch.records)))
    });
    drop(sqlite);

    let full = Full::new();
    group.bench_function("full", |b| {
        b.iter_custom(|iters| timed(&mut pool, iters, |batch| full.write(&batch.ndjson)))
    });
    drop(full);

    group.finish();
}

fn flush(c: &mut Criterion) {
    flush_group(c, "flush_1k", generator_batches(1_000));
    flush_group(c, "flush_10k", generator_batches(10_000));
    flush_group(c, "flush_loghub_4k", vec![Batch::new(loghub_ndjson())]);
}

/// The variants of one batch size measured interleaved: round `i` writes
/// the pool's next batch through each variant in turn (the order rotating
/// every round), so all see the same moments of a shared, noisy machine.
/// Besides the four criterion variants, `backend` is `write_batch` +
/// `refresh` of the already parsed records (the part the flusher thread
/// runs; a server parses on its request threads). Prints records/s of each
/// and the ratios to raw tantivy.
fn interleaved(name: &str, batches: Vec<Batch>, rounds: usize) {
    const VARIANTS: [&str; 5] = ["parse", "raw_tantivy", "raw_sqlite", "full", "backend"];
    let records = batches[0].records.len();
    let bytes = batches.iter().map(|b| b.ndjson.len()).sum::<usize>() / batches.len();
    let mut pool = Pool::new(batches);
    let mut raw = RawTantivy::new();
    let mut sqlite = RawSqlite::new();
    let full = Full::new();
    let backend = Full::new();
    let mut spent = [Duration::ZERO; VARIANTS.len()];
    for round in 0..rounds {
        let batch = pool.next_batch();
        for k in 0..VARIANTS.len() {
            let variant = (round + k) % VARIANTS.len();
            let start = Instant::now();
            match variant {
                0 => {
                    let parsed = parse_records(&batch.ndjson, &ParseOptions::default());
                    std::hint::black_box(parsed.expect("parses"));
                }
                1 => raw.write(&batch.records),
                2 => sqlite.write(&batch.records),
                3 => full.write(&batch.ndjson),
                _ => backend.write_parsed(&batch.records),
            }
            spent[variant] += start.elapsed();
        }
    }
    let n = (records * rounds) as f64;
    let mib = (bytes * rounds) as f64 / f64::from(1 << 20);
    println!("{name} interleaved, {rounds} batches of {records} records:");
    for (variant, time) in VARIANTS.iter().zip(spent) {
        let secs = time.as_secs_f64();
        println!(
            "  {variant:<12} {:>9.0} records/s {:>7.1} MiB/s {:>8.1} ms/batch",
            n / secs,
            mib / secs,
            secs * 1e3 / rounds as f64,
        );
    }
    let raw = spent[1].as_secs_f64();
    println!(
        "  throughput ratio full / raw_tantivy: {:.2}; backend / raw_tantivy: {:.2}",
        raw / spent[3].as_secs_f64(),
        raw / spent[4].as_secs_f64(),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = flush
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (test
    // mode, where criterion runs each bench once), so keep that quick.
    let rounds = |n: usize| {
        if std::env::args().any(|a| a == "--bench") {
            n
        } else {
            1
        }
    };
    interleaved("flush_1k", generator_batches(1_000), rounds(200));
    interleaved("flush_10k", generator_batches(10_000), rounds(40));
    interleaved(
        "flush_loghub_4k",
        vec![Batch::new(loghub_ndjson())],
        rounds(60),
    );
}
