//! Shared workload of the benches: the Loghub samples as request bodies, a
//! backend that does nothing, the ingest path driven end to end, and a
//! seeded generator of realistic records ([`generator`]), which the query
//! bench (`src/bin/query_bench.rs`) and the load generator use too.
//!
//! Keeping the workload here, apart from the bench files, lets every backend
//! bench run the same requests and compare with the same baselines.
#![deny(missing_docs)]

pub mod flush;
pub mod generator;
pub mod load;

use std::path::PathBuf;
use std::sync::Arc;

use logingest_core::ingest::{IngestConfig, Ingester};
use logingest_core::{
    parse_records, Backend, Capabilities, FacetRequest, Facets, Histogram, HistogramRequest,
    ParseOptions, Record, Result, SearchPage, SearchRequest, Stats, Timestamp, WriteAck,
};

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Both Loghub samples as one NDJSON body (4,000 records, about 1.6 MB).
pub fn loghub_ndjson() -> Vec<u8> {
    let mut body = Vec::new();
    for name in ["hdfs_2k.ndjson", "openstack_2k.ndjson"] {
        let path = testdata().join("loghub").join(name);
        body.extend(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())));
    }
    body
}

/// Splits an NDJSON body into request bodies of `lines` lines each.
pub fn requests(body: &[u8], lines: usize) -> Vec<Vec<u8>> {
    let all: Vec<&[u8]> = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    all.chunks(lines).map(|chunk| chunk.join(&b'\n')).collect()
}

/// Counts the records and bytes of NDJSON request bodies.
pub fn totals(requests: &[Vec<u8>]) -> (u64, u64) {
    let records = requests
        .iter()
        .map(|r| r.split(|&b| b == b'\n').count() as u64)
        .sum();
    let bytes = requests.iter().map(|r| r.len() as u64).sum();
    (records, bytes)
}

/// Parses every request body, as the server does per request.
pub fn parse_all(requests: &[Vec<u8>]) -> Vec<Vec<Record>> {
    let options = ParseOptions::default();
    requests
        .iter()
        .map(|body| parse_records(body, &options).expect("bench data parses"))
        .collect()
}

/// Parses each request, submits it to a fresh ingester over `backend`, waits
/// until every submission is durable, and closes. Returns records committed.
pub fn ingest_all(backend: Arc<dyn Backend>, requests: &[Vec<u8>], config: IngestConfig) -> u64 {
    let ingester = Ingester::start(backend, config).expect("start ingester");
    let options = ParseOptions::default();
    let tickets: Vec<_> = requests
        .iter()
        .map(|body| {
            let records = parse_records(body, &options).expect("bench data parses");
            ingester.submit(records).expect("submit")
        })
        .collect();
    let committed = tickets
        .iter()
        .map(|t| t.wait_durable().expect("durable").len)
        .sum();
    ingester.close().expect("close");
    committed
}

/// A backend that accepts every batch at once and stores nothing: the
/// ceiling of the ingest path, so its cost is parse + queue + batching only.
#[derive(Debug, Default)]
pub struct NoopBackend {
    next: std::sync::atomic::AtomicU64,
}

impl Backend for NoopBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::new("noop")
    }

    fn write_batch(&self, records: &[Record]) -> Result<WriteAck> {
        let n = records.len() as u64;
        let first = self.next.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + 1;
        Ok(WriteAck::new(first, n))
    }

    fn refresh(&self) -> Result<()> {
        Ok(())
    }

    fn search(&self, _: &SearchRequest) -> Result<SearchPage> {
        Ok(SearchPage::default())
    }

    fn histogram(&self, r: &HistogramRequest) -> Result<Histogram> {
        Ok(Histogram::new(
            r.start,
            r.bucket_width(),
            vec![0; r.bucket_count()],
        ))
    }

    fn facets(&self, _: &FacetRequest) -> Result<Facets> {
        Ok(Vec::new())
    }

    fn delete_older_than(&self, _: Timestamp) -> Result<u64> {
        Ok(0)
    }

    fn stats(&self) -> Result<Stats> {
        Ok(Stats::default())
    }
}
