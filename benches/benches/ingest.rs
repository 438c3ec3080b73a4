//! Parsing alone, and the whole ingest path into a backend that does nothing
//! (parse → queue → batch → acknowledge), on the shared Loghub samples.
//!
//! Run: `cargo bench -p logingest-benches --bench ingest`.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use logingest_benches::{ingest_all, loghub_ndjson, parse_all, requests, totals, NoopBackend};
use logingest_core::ingest::IngestConfig;
use logingest_core::{parse_records, ParseOptions};

fn parse(c: &mut Criterion) {
    let body = loghub_ndjson();
    let mut group = c.benchmark_group("parse");
    let records = parse_records(&body, &ParseOptions::default())
        .expect("parses")
        .len() as u64;
    group.throughput(Throughput::ElementsAndBytes {
        elements: records,
        bytes: body.len() as u64,
    });
    group.bench_function("one_body_4000_records", |b| {
        b.iter(|| parse_records(&body, &ParseOptions::default()).expect("parses"))
    });
    let per_request = requests(&body, 100);
    group.bench_function("requests_of_100", |b| b.iter(|| parse_all(&per_request)));
    group.finish();
}

fn ingest_noop(c: &mut Criterion) {
    let body = loghub_ndjson();
    let mut group = c.benchmark_group("ingest_noop");
    for lines in [1usize, 100, 1000] {
        let reqs = requests(&body, lines);
        let (records, bytes) = totals(&reqs);
        group.throughput(Throughput::ElementsAndBytes {
            elements: records,
            bytes,
        });
        group.bench_function(format!("requests_of_{lines}"), |b| {
            b.iter_batched(
                || Arc::new(NoopBackend::default()),
                |backend| ingest_all(backend, &reqs, IngestConfig::default()),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = parse, ingest_noop
}
criterion_main!(benches);
