//! Which codec for the record store's `message` column: message regexes
//! verify their candidates on it, so it is decompressed for every block a
//! regex's candidates lie in, while its size is most of the store's.
//!
//! The same 100,000 generator records in blocks of 512, their `message`
//! columns compressed three ways: zstd level 3 with a dictionary trained
//! as the store trains one (samples of 64 records' column, 16 KiB), lz4,
//! and lz4 with that dictionary as its prefix. The bench times
//! decompressing every block; the sizes are printed before it runs.
//!
//! Run: `cargo bench -p logingest-benches --bench block_codec`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logingest_benches::generator::{Generator, GeneratorConfig};
use logingest_core::{parse_records, ParseOptions, Timestamp};
use logingest_tantivy::bench;

const RECORDS: usize = 100_000;
const BLOCK_RECORDS: usize = 512;

fn columns() -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut generator = Generator::new(GeneratorConfig::default().records(RECORDS as u64));
    let mut body = Vec::new();
    for _ in 0..RECORDS {
        generator.write_line(&mut body);
    }
    let options = ParseOptions::default().receive_time(Timestamp::now());
    let records = parse_records(&body, &options).expect("generator records parse");
    let columns = bench::message_columns(&records, BLOCK_RECORDS);
    let samples = bench::message_columns(&records[..16_384], 64);
    let dictionary = zstd::dict::from_samples(&samples, 16 << 10).expect("a dictionary");
    (columns, dictionary)
}

fn codecs(c: &mut Criterion) {
    let (columns, dictionary) = columns();
    let raw: usize = columns.iter().map(Vec::len).sum();
    let zstd: Vec<Vec<u8>> = columns
        .iter()
        .map(|column| {
            let mut compressor =
                zstd::bulk::Compressor::with_dictionary(3, &dictionary).expect("a context");
            compressor.compress(column).expect("compresses")
        })
        .collect();
    let lz4: Vec<Vec<u8>> = columns
        .iter()
        .map(|c| lz4_flex::block::compress(c))
        .collect();
    let lz4_dict: Vec<Vec<u8>> = columns
        .iter()
        .map(|c| lz4_flex::block::compress_with_dict(c, &dictionary))
        .collect();
    let per_record =
        |parts: &[Vec<u8>]| parts.iter().map(Vec::len).sum::<usize>() as f64 / RECORDS as f64;
    eprintln!(
        "message column, bytes/record: raw {:.1}, zstd+dictionary {:.1}, lz4 {:.1}, lz4+dictionary {:.1}",
        raw as f64 / RECORDS as f64,
        per_record(&zstd),
        per_record(&lz4),
        per_record(&lz4_dict)
    );

    let mut group = c.benchmark_group("message_column_decompress");
    group.throughput(Throughput::Elements(columns.len() as u64));
    let decoder = zstd::dict::DecoderDictionary::copy(&dictionary);
    group.bench_function("zstd+dictionary", |b| {
        let mut decompressor =
            zstd::bulk::Decompressor::with_prepared_dictionary(&decoder).expect("a context");
        b.iter(|| {
            for (compressed, column) in zstd.iter().zip(&columns) {
                let out = decompressor
                    .decompress(compressed, column.len())
                    .expect("decompresses");
                assert_eq!(out.len(), column.len());
            }
        })
    });
    group.bench_function("lz4", |b| {
        b.iter(|| {
            for (compressed, column) in lz4.iter().zip(&columns) {
                let out =
                    lz4_flex::block::decompress(compressed, column.len()).expect("decompresses");
                assert_eq!(out.len(), column.len());
            }
        })
    });
    group.bench_function("lz4+dictionary", |b| {
        b.iter(|| {
            for (compressed, column) in lz4_dict.iter().zip(&columns) {
                let out =
                    lz4_flex::block::decompress_with_dict(compressed, column.len(), &dictionary)
                        .expect("decompresses");
                assert_eq!(out.len(), column.len());
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = codecs
}
criterion_main!(benches);
