//! What a record costs by the protocol it came in, apart from the network:
//! the same generator records decoded from each protocol's body, and the
//! records each decoding made indexed into the embedded backend's schema.
//!
//! - `decode/<protocol>`: one body of 5,000 records to records, as the
//!   server's route does it (`parse_records` for NDJSON; OTLP protobuf,
//!   Loki snappy protobuf, octet-counted RFC 5424 syslog framed and read
//!   with `decode_all`);
//! - `index/<protocol>`: those records' tantivy documents (the backend's
//!   schema and writer, one thread) added and committed into an index that
//!   grows for the whole measurement, as a server's does.
//!
//! The load generator's "Ingest by protocol" (docs/performance.md) measures
//! the whole server; this bench says which part of a protocol's extra cost
//! per record is decoding and which is the wider record it stores.
//!
//! Run: `cargo bench -p logingest-benches --bench protocols`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use logingest_benches::generator::{Generator, GeneratorConfig};
use logingest_benches::load::Protocol;
use logingest_core::{parse_records, ParseOptions, Record, Timestamp};
use logingest_protocols::syslog::{self, Framer, Origin};
use logingest_protocols::{loki, otlp, Encoding};
use logingest_tantivy::{bench, TantivyConfig};

const RECORDS: usize = 5_000;

const PROTOCOLS: [(&str, Protocol); 4] = [
    ("ndjson", Protocol::Ndjson),
    ("otlp", Protocol::Otlp),
    ("loki", Protocol::Loki),
    ("syslog", Protocol::Syslog),
];

/// The records of `body` as the server makes them for `protocol`.
fn decode(protocol: Protocol, body: &[u8], options: &ParseOptions) -> Vec<Record> {
    let unmetered = |_| Ok::<(), logingest_protocols::ProtocolError>(());
    match protocol {
        Protocol::Otlp => otlp::decode(body, Encoding::Protobuf, options, unmetered),
        Protocol::Loki => loki::decode(body, Encoding::Protobuf, options, unmetered),
        Protocol::Syslog => {
            let origin = Origin {
                received: options.receive_time.unwrap_or_else(Timestamp::now),
                peer: Some([127, 0, 0, 1].into()),
            };
            let mut frames = Vec::with_capacity(RECORDS);
            Framer::new(options.limits.max_record_bytes)
                .push(body, |frame| frames.push(frame.expect("a frame").to_vec()));
            let messages: Vec<(&[u8], Origin)> =
                frames.iter().map(|f| (f.as_slice(), origin)).collect();
            let decoded = syslog::decode_all(&messages, options, unmetered).expect("decodes");
            assert!(decoded.refused.is_empty(), "{:?}", decoded.refused);
            Ok(decoded.records)
        }
        _ => parse_records(body, options).map_err(Into::into),
    }
    .expect("the generator's records decode")
}

fn bodies() -> Vec<(&'static str, Protocol, Vec<u8>)> {
    let mut generator = Generator::new(GeneratorConfig::default().records(RECORDS as u64));
    let lines: Vec<Vec<u8>> = (0..RECORDS)
        .map(|_| {
            let mut line = Vec::new();
            generator.write_line(&mut line);
            line
        })
        .collect();
    PROTOCOLS
        .iter()
        .map(|&(name, protocol)| (name, protocol, protocol.body(&lines)))
        .collect()
}

fn decoding(c: &mut Criterion) {
    let options = ParseOptions::default().receive_time(Timestamp::now());
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (name, protocol, body) in bodies() {
        group.bench_function(name, |b| b.iter(|| decode(protocol, &body, &options)));
    }
    group.finish();
}

fn indexing(c: &mut Criterion) {
    let options = ParseOptions::default().receive_time(Timestamp::now());
    let mut group = c.benchmark_group("index");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let mut config = TantivyConfig::default();
    config.indexing_threads = 1;
    for (name, protocol, body) in bodies() {
        let records = decode(protocol, &body, &options);
        let dir = tempfile::tempdir().expect("tempdir");
        let index = bench::create_index(dir.path()).expect("index");
        let mut writer = bench::writer(&index, &config).expect("writer");
        let mut seq = 0u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || records.clone(),
                |records| {
                    for record in &records {
                        seq += 1;
                        writer
                            .add_document(bench::document(seq, record))
                            .expect("add");
                    }
                    writer.commit().expect("commit");
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = decoding, indexing
}
criterion_main!(benches);
