//! The flush path of the scale-out backend (`logingest-pg`: PostgreSQL +
//! Elasticsearch/OpenSearch) and its baselines, on the same batches as the
//! embedded backend's bench (`tantivy_flush.rs`):
//!
//! - `parse`: `parse_records` of the batch's NDJSON body, nothing else;
//! - `raw_pg`: one transaction binary-`COPY`ing `(seq, ts, source)` rows
//!   into a plain table (the backend's columns and keys, `PRIMARY KEY (ts,
//!   seq)` and an index on `seq`, but not partitioned, no sequence-counter
//!   row, no outbox row), `synchronous_commit = on`, then `COMMIT`: the
//!   least the durable part of a batch costs;
//! - `raw_es`: the batch's documents in the backend's shape (`seq`, `ts`,
//!   `ts_us`, core's tokens of the message, the raw message, `path\0value`
//!   keywords; `docs/backends.md`), into daily indices made from a copy of
//!   the index template the backend itself installed (read back from the
//!   cluster, so the mapping and analyzers are the backend's), sent as one
//!   `_bulk` (`application/x-ndjson`), then `_refresh`;
//! - `full`: parse + `PgBackend::write_batch` (the PG commit: the durable
//!   acknowledgement) + `refresh` (delivery to the index, `_refresh`:
//!   visible), default options.
//!
//! Data: generator records (`logingest_benches::generator`, seed 1) in
//! batches of 1,000 and 10,000, round robin from a pool of 40,000 distinct
//! records, and the 4,000 real Loghub records as one batch, repeated.
//!
//! Services: `LOGINGEST_PG_URL` and `LOGINGEST_ES_URL` (`source
//! scripts/services.sh; services_start` starts throwaway ones). Without
//! them the bench prints why it skipped and succeeds, unless
//! `LOGINGEST_REQUIRE_SERVICES=1` (the test command), where it fails.
//!
//! State: each variant writes into its own PG schema / index prefix, fresh
//! for this run (named after the process and the time), which grows for the
//! whole run, criterion groups and interleaved rounds alike, as a server's
//! does; all are destroyed at the end (and on a panic, when unwinding).
//!
//! Before anything is measured, 10 s of untimed writes through every
//! storing variant warm up the services (outside test mode). After the
//! criterion groups, the variants run once more *interleaved*
//! (each round writes one batch through all of them, in rotating order),
//! plus `backend` (`write_batch` + `refresh` of parsed records, the
//! flusher thread's share), and the bench prints their records/s, where
//! the time of `raw_es` and `backend` goes, and the ratios to the raw
//! baselines: on a shared machine, ratios from the same moments are the
//! ones to trust.
//!
//! Run: `cargo bench -p logingest-benches --bench pg_flush` (one filter
//! argument limits the criterion groups; `only-interleaved` skips them).

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use logingest_benches::flush::{generator_batches, Batch, Pool};
use logingest_benches::loghub_ndjson;
use logingest_core::{parse_records, tokenize, Backend, ParseOptions, Record, Timestamp};
use logingest_pg::{PgBackend, PgConfig};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, NoTls};
use serde_json::{json, Value};

/// The two services, and names for this run's schemas and index prefixes.
struct Services {
    pg_url: String,
    es_url: String,
    http: ureq::Agent,
}

impl Services {
    /// The services named by the environment, or `None` after printing
    /// why the bench is skipped. Panics when they are required but missing.
    fn from_env() -> Option<Self> {
        let urls = logingest_core::testkit::services::services()?;
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Some(Services {
            pg_url: urls.pg,
            es_url: urls.es,
            http,
        })
    }

    /// A schema / index-prefix name used by nothing else.
    fn fresh_name(&self) -> String {
        logingest_core::testkit::services::unique_name("lgbench")
    }

    /// One request to the cluster; the status and the JSON answer.
    fn es(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> (u16, Value) {
        let url = format!("{}{path}", self.es_url);
        let response = match (method, body) {
            ("GET", None) => self.http.get(&url).call(),
            ("DELETE", None) => self.http.delete(&url).call(),
            ("POST", None) => self.http.post(&url).send_empty(),
            ("PUT", Some((ct, b))) => self.http.put(&url).header("Content-Type", ct).send(b),
            ("POST", Some((ct, b))) => self.http.post(&url).header("Content-Type", ct).send(b),
            _ => unreachable!("{method} {path}"),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .with_config()
            .limit(256 << 20)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// [`Services::es`] with a JSON body (or none); panics unless 2xx.
    fn es_ok(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let text = body.map(Value::to_string);
        let body = text.as_deref().map(|t| ("application/json", t.as_bytes()));
        let (status, answer) = self.es(method, path, body);
        assert!(status < 300, "{method} {path}: {status} {answer}");
        answer
    }

    /// Deletes the indices of `prefix` (by name, as clusters may refuse
    /// wildcard deletes) and its index template.
    fn es_destroy(&self, prefix: &str) {
        let (_, indices) = self.es(
            "GET",
            &format!("/_cat/indices/{prefix}-*?format=json&h=index&expand_wildcards=all"),
            None,
        );
        for index in indices.as_array().into_iter().flatten() {
            if let Some(name) = index["index"].as_str() {
                self.es("DELETE", &format!("/{name}"), None);
            }
        }
        self.es("DELETE", &format!("/_index_template/{prefix}"), None);
    }
}

/// Raw PostgreSQL: one COPY transaction a batch into a plain table.
struct RawPg<'s> {
    services: &'s Services,
    client: Client,
    schema: String,
    seq: i64,
}

impl<'s> RawPg<'s> {
    fn new(services: &'s Services) -> Self {
        let schema = services.fresh_name();
        let mut client = Client::connect(&services.pg_url, NoTls).expect("connect to PostgreSQL");
        client
            .batch_execute(&format!(
                "SET synchronous_commit = on;
                 CREATE SCHEMA {schema};
                 CREATE TABLE {schema}.records (
                     seq    bigint NOT NULL,
                     ts     bigint NOT NULL,
                     source text   NOT NULL,
                     PRIMARY KEY (ts, seq)
                 );
                 CREATE INDEX ON {schema}.records (seq);"
            ))
            .expect("raw PG table");
        RawPg {
            services,
            client,
            schema,
            seq: 0,
        }
    }

    fn write(&mut self, records: &[Record]) {
        let mut tx = self.client.transaction().expect("begin");
        let copy = format!(
            "COPY {}.records (seq, ts, source) FROM STDIN (FORMAT binary)",
            self.schema
        );
        let mut writer = BinaryCopyInWriter::new(
            tx.copy_in(&copy).expect("copy"),
            &[Type::INT8, Type::INT8, Type::TEXT],
        );
        for record in records {
            self.seq += 1;
            let ts = record.timestamp().0;
            writer
                .write(&[&self.seq, &ts, &record.source()])
                .expect("copy row");
        }
        writer.finish().expect("copy end");
        tx.commit().expect("commit");
    }
}

impl Drop for RawPg<'_> {
    fn drop(&mut self) {
        let drop = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        if let Err(e) = self.client.batch_execute(&drop) {
            eprintln!("warning: {drop}: {e} ({})", self.services.pg_url);
        }
    }
}

/// Raw Elasticsearch/OpenSearch: one `_bulk` of the backend's documents,
/// then `_refresh`.
struct RawEs<'s> {
    services: &'s Services,
    prefix: String,
    seq: u64,
    /// Time in `_bulk` (building the body included) and in `_refresh`.
    bulk: Duration,
    refresh: Duration,
}

impl<'s> RawEs<'s> {
    /// Installs a copy of the index template of the backend with prefix
    /// `backend_prefix` (which must be open) for this run's own indices.
    fn new(services: &'s Services, backend_prefix: &str) -> Self {
        let prefix = services.fresh_name();
        let answer = services.es_ok("GET", &format!("/_index_template/{backend_prefix}"), None);
        let mut template = answer["index_templates"][0]["index_template"].clone();
        assert!(
            template["template"]["mappings"].is_object(),
            "no index template of the backend: {answer}"
        );
        template["index_patterns"] = json!([format!("{prefix}-*")]);
        services.es_ok(
            "PUT",
            &format!("/_index_template/{prefix}"),
            Some(&template),
        );
        RawEs {
            services,
            prefix,
            seq: 0,
            bulk: Duration::ZERO,
            refresh: Duration::ZERO,
        }
    }

    fn write(&mut self, records: &[Record]) {
        let start = Instant::now();
        let mut body = Vec::new();
        for record in records {
            self.seq += 1;
            let ts = record.timestamp().0;
            let day = &Timestamp(ts).to_rfc3339()[..10];
            let index = format!("{}-{}", self.prefix, day.replace('-', "."));
            let action = json!({"index": {"_index": index, "_id": self.seq.to_string()}});
            let kw: Vec<String> = record
                .keywords()
                .iter()
                .map(|(path, value)| format!("{path}\0{value}"))
                .collect();
            // As `docs/backends.md` describes the backend's documents, but
            // `raw` without the backend's leading `\u{1}` byte (one byte a
            // document; the figures in `docs/performance.md` were taken so).
            let doc = json!({
                "seq": self.seq,
                "ts": ts,
                "ts_us": ts.div_euclid(1000),
                "message": tokenize(record.message()).join(" "),
                "raw": record.message(),
                "kw": kw,
            });
            serde_json::to_writer(&mut body, &action).expect("JSON to memory");
            body.push(b'\n');
            serde_json::to_writer(&mut body, &doc).expect("JSON to memory");
            body.push(b'\n');
        }
        let (status, answer) =
            self.services
                .es("POST", "/_bulk", Some(("application/x-ndjson", &body)));
        assert!(
            status < 300 && answer["errors"] == json!(false),
            "_bulk: {status} {:.2000}",
            answer.to_string()
        );
        let middle = Instant::now();
        self.services
            .es_ok("POST", &format!("/{}-*/_refresh", self.prefix), None);
        self.bulk += middle - start;
        self.refresh += middle.elapsed();
    }
}

impl Drop for RawEs<'_> {
    fn drop(&mut self) {
        self.services.es_destroy(&self.prefix);
    }
}

/// The backend, with its own schema and index prefix.
struct Full {
    config: PgConfig,
    backend: Option<PgBackend>,
}

impl Full {
    fn new(services: &Services) -> Self {
        let name = services.fresh_name();
        let config = PgConfig::new(&services.pg_url, &services.es_url)
            .schema(&name)
            .index_prefix(&name);
        let backend = PgBackend::open(config.clone()).expect("open the pg backend");
        Full {
            config,
            backend: Some(backend),
        }
    }

    fn backend(&self) -> &PgBackend {
        self.backend.as_ref().expect("open")
    }

    fn write(&self, ndjson: &[u8]) {
        let records = parse_records(ndjson, &ParseOptions::default()).expect("parses");
        self.write_parsed(&records);
    }

    fn write_parsed(&self, records: &[Record]) {
        self.backend().write_batch(records).expect("write");
        self.backend().refresh().expect("refresh");
    }
}

impl Drop for Full {
    fn drop(&mut self) {
        drop(self.backend.take()); // stops its indexer thread
        if let Err(e) = PgBackend::destroy(&self.config) {
            eprintln!("warning: destroying {}: {e}", self.config.schema);
        }
    }
}

/// The long-lived state of the variants that store something.
struct Targets<'s> {
    full: Full,
    raw_pg: RawPg<'s>,
    raw_es: RawEs<'s>,
}

impl<'s> Targets<'s> {
    fn new(services: &'s Services) -> Self {
        let full = Full::new(services);
        let raw_es = RawEs::new(services, &full.config.index_prefix);
        Targets {
            raw_pg: RawPg::new(services),
            raw_es,
            full,
        }
    }
}

/// Writes 1,000-record batches through every variant that stores, untimed,
/// for `time`: a freshly started search node runs its first seconds of
/// indexing at a fraction of its later speed (its JVM is still compiling
/// the hot paths), which would otherwise land in the first group measured.
fn warm_up(targets: &mut Targets, time: Duration) {
    let mut pool = Pool::new(generator_batches(1_000));
    let start = Instant::now();
    while start.elapsed() < time {
        let batch = pool.next_batch();
        targets.raw_pg.write(&batch.records);
        targets.raw_es.write(&batch.records);
        targets.full.write(&batch.ndjson);
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

fn flush_group(c: &mut Criterion, targets: &mut Targets, name: &str, batches: Vec<Batch>) {
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
    group.bench_function("raw_pg", |b| {
        b.iter_custom(|iters| {
            timed(&mut pool, iters, |batch| {
                targets.raw_pg.write(&batch.records)
            })
        })
    });
    group.bench_function("raw_es", |b| {
        b.iter_custom(|iters| {
            timed(&mut pool, iters, |batch| {
                targets.raw_es.write(&batch.records)
            })
        })
    });
    group.bench_function("full", |b| {
        b.iter_custom(|iters| timed(&mut pool, iters, |batch| targets.full.write(&batch.ndjson)))
    });
    group.finish();
}

/// The variants of one batch size measured interleaved: round `i` writes
/// the pool's next batch through each variant in turn (the order rotating
/// every round), after one untimed round (outside test mode: it creates
/// the day's indices of a fresh prefix). `backend` is `write_batch` +
/// `refresh` of the parsed records in its own schema and prefix. Prints
/// records/s of each, how `raw_es` and `backend` split, and the ratios
/// to the raw baselines.
fn interleaved(
    targets: &mut Targets,
    backend: &Full,
    name: &str,
    batches: Vec<Batch>,
    rounds: usize,
) {
    const VARIANTS: [&str; 5] = ["parse", "raw_pg", "raw_es", "full", "backend"];
    let records = batches[0].records.len();
    let bytes = batches.iter().map(|b| b.ndjson.len()).sum::<usize>() / batches.len();
    let mut pool = Pool::new(batches);
    if rounds > 1 {
        let warm_up = pool.next_batch();
        targets.raw_pg.write(&warm_up.records);
        targets.raw_es.write(&warm_up.records);
        targets.full.write(&warm_up.ndjson);
        backend.write_parsed(&warm_up.records);
    }
    let (es_bulk, es_refresh) = (targets.raw_es.bulk, targets.raw_es.refresh);
    let mut ack = Duration::ZERO;
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
                1 => targets.raw_pg.write(&batch.records),
                2 => targets.raw_es.write(&batch.records),
                3 => targets.full.write(&batch.ndjson),
                _ => {
                    backend
                        .backend()
                        .write_batch(&batch.records)
                        .expect("write");
                    ack += start.elapsed();
                    backend.backend().refresh().expect("refresh");
                }
            }
            spent[variant] += start.elapsed();
        }
    }
    let per_batch = |time: Duration| time.as_secs_f64() * 1e3 / rounds as f64;
    let n = (records * rounds) as f64;
    let mib = (bytes * rounds) as f64 / f64::from(1 << 20);
    println!("{name} interleaved, {rounds} batches of {records} records:");
    for (variant, time) in VARIANTS.iter().zip(spent) {
        let secs = time.as_secs_f64();
        println!(
            "  {variant:<12} {:>9.0} records/s {:>7.1} MiB/s {:>8.1} ms/batch",
            n / secs,
            mib / secs,
            per_batch(time),
        );
    }
    println!(
        "  raw_es: _bulk {:.1} ms/batch + _refresh {:.1} ms/batch; \
         backend: write_batch (durable) {:.1} ms/batch + refresh (visible) {:.1} ms/batch",
        per_batch(targets.raw_es.bulk - es_bulk),
        per_batch(targets.raw_es.refresh - es_refresh),
        per_batch(ack),
        per_batch(spent[4] - ack),
    );
    let secs = spent.map(|t| t.as_secs_f64());
    let raw = secs[1] + secs[2];
    println!(
        "  throughput ratio full / (raw_pg + raw_es): {:.2}; full / raw_pg: {:.2}; \
         backend / (raw_pg + raw_es): {:.2}",
        raw / secs[3],
        secs[1] / secs[3],
        raw / secs[4],
    );
}

fn main() {
    let Some(services) = Services::from_env() else {
        return;
    };
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
        .configure_from_args();
    // `cargo bench` passes `--bench`; `cargo test --benches` does not (test
    // mode, where criterion runs each bench once), so keep that quick.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut targets = Targets::new(&services);
    if bench_mode {
        warm_up(&mut targets, Duration::from_secs(10));
    }
    flush_group(
        &mut criterion,
        &mut targets,
        "pg_flush_1k",
        generator_batches(1_000),
    );
    flush_group(
        &mut criterion,
        &mut targets,
        "pg_flush_10k",
        generator_batches(10_000),
    );
    flush_group(
        &mut criterion,
        &mut targets,
        "pg_flush_loghub_4k",
        vec![Batch::new(loghub_ndjson())],
    );
    criterion.final_summary();
    let rounds = |n: usize| if bench_mode { n } else { 1 };
    let backend = Full::new(&services);
    interleaved(
        &mut targets,
        &backend,
        "pg_flush_1k",
        generator_batches(1_000),
        rounds(100),
    );
    interleaved(
        &mut targets,
        &backend,
        "pg_flush_10k",
        generator_batches(10_000),
        rounds(20),
    );
    interleaved(
        &mut targets,
        &backend,
        "pg_flush_loghub_4k",
        vec![Batch::new(loghub_ndjson())],
        rounds(30),
    );
}
