//! A seeded generator of realistic records in the logingest record format,
//! for benches and the load generator.
//!
//! Every record has the fields of the product's sample record, in its order
//! (`level`, `message`, `resourceId`, `timestamp`, `traceId`, `spanId`,
//! `commit`, `metadata`), compact JSON, one object a line:
//!
//! - `level`: `info` 72 %, `debug` 15 %, `warn` 9 %, `error` 3.5 %, `fatal` 0.5 %;
//! - `message`: one of 34 templates, chosen by the record's level (HTTP access
//!   lines, connection failures, timeouts, slow queries, queue and cache
//!   messages, …) filled with request ids, IPs, ports, paths, user ids,
//!   durations and sizes, so the message dictionary grows as real logs do;
//! - `resourceId`: one of [`GeneratorConfig::services`] services named
//!   `family-NNN` (`api-417`, `payments-102`), Zipf-distributed (a few busy
//!   services, a long tail);
//! - `timestamp`: RFC 3339 with milliseconds, non-decreasing: record `i` falls
//!   in `[start + i·step, start + (i+1)·step)` with `step = span / records`;
//! - `traceId` (32 hex) shared by the few records of a trace, `spanId`
//!   (16 hex) unique; both absent on 8 % of records (background work);
//! - `commit`: the service's deployed commit, which changes a few times
//!   over the span;
//! - `metadata.parentResourceId` (the node running the service),
//!   `metadata.region`, `metadata.env`, and by template `metadata.http.*`
//!   (with a numeric `status`), `metadata.userId`, `metadata.retries`
//!   and `metadata.duration_ms` (numbers; the duration the message
//!   states), `metadata.k8s.*`.
//!
//! Output depends only on the configuration (seed included): the same
//! configuration gives byte-identical NDJSON on every machine.
//!
//! ```
//! use logingest_benches::generator::{Generator, GeneratorConfig};
//!
//! let mut generator = Generator::new(GeneratorConfig::default().seed(7));
//! let body = generator.ndjson(1_000); // 1,000 lines, ~360 KB
//! let records = logingest_core::parse_records(&body, &Default::default())?;
//! assert_eq!(records.len(), 1_000);
//! # Ok::<(), logingest_core::Error>(())
//! ```

use std::io::Write;

use logingest_core::{parse_records, Limits, ParseOptions, Record, Timestamp, NANOS_PER_SECOND};
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod vocab;

use vocab::*;
pub use vocab::{FAMILIES, LEVELS, PHRASES, WORD_PAIRS};

/// Options of a [`Generator`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GeneratorConfig {
    /// Seed; the output is a function of the whole configuration. Default 0.
    pub seed: u64,
    /// Timestamp of the first record. Default 2026-11-01T00:00:00Z.
    pub start: Timestamp,
    /// Time the first [`GeneratorConfig::records`] records span, in
    /// nanoseconds; later records continue at the same rate. Default one day.
    pub span_nanos: i64,
    /// Records spread over the span. Default 1,000,000.
    pub records: u64,
    /// Number of distinct `resourceId`s. Default 300.
    pub services: usize,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 0,
            // 2026-11-01T00:00:00Z
            start: Timestamp::from_nanos(1_793_491_200 * NANOS_PER_SECOND),
            span_nanos: 86_400 * NANOS_PER_SECOND,
            records: 1_000_000,
            services: 300,
        }
    }
}

impl GeneratorConfig {
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the first timestamp.
    pub fn start(mut self, start: Timestamp) -> Self {
        self.start = start;
        self
    }

    /// Sets the span of the first `records` records, nanoseconds.
    pub fn span_nanos(mut self, span: i64) -> Self {
        self.span_nanos = span;
        self
    }

    /// Sets how many records the span holds.
    pub fn records(mut self, records: u64) -> Self {
        self.records = records;
        self
    }

    /// Sets the number of services.
    pub fn services(mut self, services: usize) -> Self {
        self.services = services;
        self
    }

    /// `[start, end)` of the configured span: every one of the first
    /// `records` records has its timestamp in it.
    pub fn time_span(&self) -> (Timestamp, Timestamp) {
        (
            self.start,
            self.start.saturating_add_nanos(self.span_nanos.max(1)),
        )
    }
}

/// One service: its `resourceId` and fixed attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The `resourceId`, `family-NNN`.
    pub name: String,
    /// `metadata.parentResourceId`: the node it runs on.
    pub parent: String,
    /// `metadata.region`.
    pub region: &'static str,
    /// Index of its first commit in the commit list.
    commit: usize,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Lit(&'static str),
    Ip,
    Port,
    Method,
    Path,
    Status,
    Status5,
    Bytes,
    Ms,
    Slow,
    Us,
    Uuid,
    Hex,
    User,
    Db,
    Key,
    Count,
    Small,
    Id,
    Queue,
    Job,
    Service,
    Bucket,
    Table,
    Host,
    Attempt,
    Pct,
    Mount,
    Handler,
    File,
}

fn part(name: &str) -> Part {
    match name {
        "ip" => Part::Ip,
        "port" => Part::Port,
        "method" => Part::Method,
        "path" => Part::Path,
        "status" => Part::Status,
        "status5" => Part::Status5,
        "bytes" => Part::Bytes,
        "ms" => Part::Ms,
        "slow" => Part::Slow,
        "us" => Part::Us,
        "uuid" => Part::Uuid,
        "hex" => Part::Hex,
        "user" => Part::User,
        "db" => Part::Db,
        "key" => Part::Key,
        "count" => Part::Count,
        "small" => Part::Small,
        "id" => Part::Id,
        "queue" => Part::Queue,
        "job" => Part::Job,
        "service" => Part::Service,
        "bucket" => Part::Bucket,
        "table" => Part::Table,
        "host" => Part::Host,
        "attempt" => Part::Attempt,
        "pct" => Part::Pct,
        "mount" => Part::Mount,
        "handler" => Part::Handler,
        "file" => Part::File,
        other => panic!("unknown template placeholder {{{other}}}"),
    }
}

fn parse_template(template: &'static str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Lit(&rest[..open]));
        }
        let close = open + rest[open..].find('}').expect("closed placeholder");
        parts.push(part(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest));
    }
    parts
}

/// Templates of one level with their cumulative weights.
struct LevelTemplates {
    name: &'static str,
    templates: Vec<Vec<Part>>,
    cumulative: Vec<u32>,
}

/// Values a message carried that metadata repeats.
#[derive(Default)]
struct Vars {
    method: Option<&'static str>,
    status: Option<u16>,
    /// The route of the path: `(shape, resource)`.
    route: Option<(u8, &'static str)>,
    user: Option<u32>,
    attempt: Option<u32>,
    /// How long the message says the work took.
    duration_ms: Option<u32>,
}

/// Produces records; see the module documentation.
pub struct Generator {
    config: GeneratorConfig,
    rng: ChaCha8Rng,
    levels: Vec<LevelTemplates>,
    level_cumulative: Vec<f64>,
    services: Vec<Service>,
    service_cumulative: Vec<f64>,
    commits: Vec<String>,
    /// Traces in flight: records of a trace come close together.
    traces: Vec<[u8; 32]>,
    next: u64,
    message: Vec<u8>,
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generator")
            .field("config", &self.config)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl Generator {
    /// A generator at record 0 of `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let levels = TEMPLATES
            .iter()
            .map(|(name, templates)| {
                let mut total = 0;
                let cumulative = templates
                    .iter()
                    .map(|(_, w)| {
                        total += w;
                        total
                    })
                    .collect();
                LevelTemplates {
                    name,
                    templates: templates.iter().map(|(t, _)| parse_template(t)).collect(),
                    cumulative,
                }
            })
            .collect();
        let mut acc = 0.0;
        let level_cumulative = LEVELS
            .iter()
            .map(|(_, p)| {
                acc += p;
                acc
            })
            .collect();
        let commits: Vec<String> = (0..24).map(|_| hex(&mut rng, 7)).collect();
        let count = config.services.max(1);
        let per_family = count.div_ceil(FAMILIES.len());
        let mut services = Vec::with_capacity(count);
        'families: for family in FAMILIES {
            let mut numbers: Vec<u32> = Vec::with_capacity(per_family);
            while numbers.len() < per_family.min(900) {
                let n = rng.random_range(100..1000);
                if !numbers.contains(&n) {
                    numbers.push(n);
                }
            }
            for n in numbers {
                if services.len() == count {
                    break 'families;
                }
                let region = REGIONS[rng.random_range(0..REGIONS.len())];
                services.push(Service {
                    name: format!("{family}-{n}"),
                    parent: format!("node-{region}-{:02}", rng.random_range(0..40)),
                    region,
                    commit: rng.random_range(0..commits.len()),
                });
            }
        }
        // Zipf(0.9) over a shuffled order: a few busy services, a long tail.
        for i in (1..services.len()).rev() {
            let j = rng.random_range(0..=i);
            services.swap(i, j);
        }
        let mut acc = 0.0;
        let service_cumulative = (0..services.len())
            .map(|rank| {
                acc += 1.0 / ((rank + 1) as f64).powf(0.9);
                acc
            })
            .collect();
        Generator {
            config,
            rng,
            levels,
            level_cumulative,
            services,
            service_cumulative,
            commits,
            traces: Vec::new(),
            next: 0,
            message: Vec::with_capacity(256),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// The services, busiest first.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// How many records were generated so far.
    pub fn generated(&self) -> u64 {
        self.next
    }

    /// `n` records as NDJSON, one line each (every line ends with `\n`).
    pub fn ndjson(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n * 400);
        for _ in 0..n {
            self.write_line(&mut out);
        }
        out
    }

    /// `n` records, parsed from their NDJSON (so [`Record::source`] is the
    /// generated line); no request limits apply.
    pub fn records(&mut self, n: usize) -> Vec<Record> {
        let body = self.ndjson(n);
        let limits = Limits::default()
            .max_body_bytes(usize::MAX)
            .max_records(usize::MAX);
        let options = ParseOptions::default()
            .receive_time(self.config.start)
            .limits(limits);
        parse_records(&body, &options).expect("generated records parse")
    }

    /// Appends the next record as one NDJSON line (with its `\n`).
    pub fn write_line(&mut self, out: &mut Vec<u8>) {
        let i = self.next;
        self.next += 1;
        let level = self.pick_level();
        let service = self.pick_service();
        let template = {
            let level = &self.levels[level];
            let total = *level.cumulative.last().expect("templates");
            let x = self.rng.random_range(0..total);
            level.cumulative.partition_point(|&c| c <= x)
        };
        let mut vars = Vars::default();
        self.message.clear();
        for k in 0..self.levels[level].templates[template].len() {
            let part = self.levels[level].templates[template][k];
            self.fill(part, service, &mut vars);
        }

        out.extend_from_slice(br#"{"level":""#);
        out.extend_from_slice(self.levels[level].name.as_bytes());
        out.extend_from_slice(br#"","message":""#);
        escape_into(out, &self.message);
        out.extend_from_slice(br#"","resourceId":""#);
        out.extend_from_slice(self.services[service].name.as_bytes());
        out.extend_from_slice(br#"","timestamp":""#);
        let ts = self.timestamp(i);
        write_rfc3339_millis(out, ts);
        out.push(b'"');
        if self.rng.random_bool(0.92) {
            let trace = self.trace();
            out.extend_from_slice(br#","traceId":""#);
            out.extend_from_slice(&trace);
            out.extend_from_slice(br#"","spanId":""#);
            let span = self.rng.next_u64();
            let _ = write!(out, "{span:016x}");
            out.push(b'"');
        }
        let deploys = (i as u128 * 8 / u128::from(self.config.records.max(1))) as usize;
        let commit = &self.commits[(self.services[service].commit + deploys) % self.commits.len()];
        out.extend_from_slice(br#","commit":""#);
        out.extend_from_slice(commit.as_bytes());
        let svc = &self.services[service];
        out.extend_from_slice(br#"","metadata":{"parentResourceId":""#);
        out.extend_from_slice(svc.parent.as_bytes());
        out.extend_from_slice(br#"","region":""#);
        out.extend_from_slice(svc.region.as_bytes());
        out.extend_from_slice(br#"","env":""#);
        let env: &[u8] = if self.rng.random_bool(0.9) {
            b"prod"
        } else {
            b"staging"
        };
        out.extend_from_slice(env);
        out.push(b'"');
        if let (Some(method), Some(status)) = (vars.method, vars.status) {
            let _ = write!(out, r#","http":{{"method":"{method}","status":{status}"#);
            if let Some((shape, resource)) = vars.route {
                let _ = match shape {
                    0 => write!(out, r#","route":"/api/v1/{resource}""#),
                    1 => write!(out, r#","route":"/api/v1/{resource}/:id""#),
                    2 => write!(out, r#","route":"/api/v2/{resource}/:id/items""#),
                    _ => write!(out, r#","route":"/static/{resource}""#),
                };
            }
            out.push(b'}');
        }
        if let Some(user) = vars.user {
            let _ = write!(out, r#","userId":"u-{user:06}""#);
        }
        if let Some(attempt) = vars.attempt {
            let _ = write!(out, r#","retries":{attempt}"#);
        }
        if let Some(ms) = vars.duration_ms {
            let _ = write!(out, r#","duration_ms":{ms}"#);
        }
        if self.rng.random_bool(0.3) {
            let pod = self.rng.next_u32() & 0xf_ffff;
            let _ = write!(
                out,
                r#","k8s":{{"pod":"{}-{pod:05x}","namespace":"{}"}}"#,
                self.services[service].name,
                if service.is_multiple_of(3) {
                    "platform"
                } else {
                    "shop"
                }
            );
        }
        out.extend_from_slice(b"}}\n");
    }

    /// Timestamp of record `i`: in `[start + i·step, start + (i+1)·step)`.
    fn timestamp(&mut self, i: u64) -> Timestamp {
        let records = i128::from(self.config.records.max(1));
        let span = i128::from(self.config.span_nanos.max(1));
        let at = |k: u64| i128::from(k) * span / records;
        let (lo, hi) = (at(i), at(i + 1));
        let jitter = if hi > lo {
            self.rng.random_range(0..(hi - lo) as u64) as i128
        } else {
            0
        };
        let nanos = i128::from(self.config.start.as_nanos()) + lo + jitter;
        Timestamp::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
    }

    fn pick_level(&mut self) -> usize {
        let x: f64 = self.rng.random();
        self.level_cumulative
            .partition_point(|&c| c <= x)
            .min(LEVELS.len() - 1)
    }

    fn pick_service(&mut self) -> usize {
        let total = *self.service_cumulative.last().expect("services");
        let x = self.rng.random::<f64>() * total;
        self.service_cumulative
            .partition_point(|&c| c <= x)
            .min(self.services.len() - 1)
    }

    /// A trace id: usually one of the traces in flight, sometimes a new one.
    fn trace(&mut self) -> [u8; 32] {
        const IN_FLIGHT: usize = 16;
        if self.traces.len() == IN_FLIGHT && self.rng.random_bool(0.7) {
            return self.traces[self.rng.random_range(0..IN_FLIGHT)];
        }
        let mut id = [0u8; 32];
        let (a, b) = (self.rng.next_u64(), self.rng.next_u64());
        let text = format!("{a:016x}{b:016x}");
        id.copy_from_slice(text.as_bytes());
        if self.traces.len() < IN_FLIGHT {
            self.traces.push(id);
        } else {
            let slot = self.rng.random_range(0..IN_FLIGHT);
            self.traces[slot] = id;
        }
        id
    }

    fn fill(&mut self, part: Part, service: usize, vars: &mut Vars) {
        let rng = &mut self.rng;
        let m = &mut self.message;
        let _ = match part {
            Part::Lit(text) => {
                m.extend_from_slice(text.as_bytes());
                Ok(())
            }
            Part::Ip => {
                let (b, c, d) = (
                    rng.random_range(0..4u8),
                    rng.random_range(0..=255u8),
                    rng.random_range(1..255u8),
                );
                write!(m, "10.{b}.{c}.{d}")
            }
            Part::Port => write!(m, "{}", PORTS[rng.random_range(0..PORTS.len())]),
            Part::Method => {
                let method = METHODS[rng.random_range(0..METHODS.len())];
                vars.method = Some(method);
                write!(m, "{method}")
            }
            Part::Path => {
                let resource = RESOURCES[rng.random_range(0..RESOURCES.len())];
                let shape = rng.random_range(0..4u8);
                vars.route = Some((shape, resource));
                match shape {
                    0 => write!(m, "/api/v1/{resource}"),
                    1 => write!(
                        m,
                        "/api/v1/{resource}/{}",
                        rng.random_range(1..2_000_000u32)
                    ),
                    2 => write!(
                        m,
                        "/api/v2/{resource}/{}/items",
                        rng.random_range(1..2_000_000u32)
                    ),
                    _ => write!(m, "/static/{resource}/app.{:08x}.js", rng.next_u32()),
                }
            }
            Part::Status => {
                let status = STATUS[rng.random_range(0..STATUS.len())];
                vars.status = Some(status);
                write!(m, "{status}")
            }
            Part::Status5 => {
                let status = STATUS5[rng.random_range(0..STATUS5.len())];
                vars.status = Some(status);
                write!(m, "{status}")
            }
            Part::Bytes => write!(m, "{}", skewed(rng, 200_000) + 120),
            Part::Ms | Part::Slow => {
                let ms = match part {
                    Part::Ms => skewed(rng, 3_000) + 1,
                    _ => skewed(rng, 30_000) + 500,
                };
                vars.duration_ms = Some(ms);
                write!(m, "{ms}")
            }
            Part::Us => write!(m, "{}", skewed(rng, 100_000) + 3),
            Part::Uuid => {
                let (a, b) = (rng.next_u64(), rng.next_u64());
                write!(
                    m,
                    "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                    a >> 32,
                    (a >> 16) & 0xffff,
                    a & 0xfff,
                    (b >> 48) | 0x8000,
                    b & 0xffff_ffff_ffff
                )
            }
            Part::Hex => write!(m, "{:016x}", rng.next_u64()),
            Part::User => {
                let user = rng.random_range(1..50_000u32);
                vars.user = Some(user);
                write!(m, "u-{user:06}")
            }
            Part::Db => write!(m, "{}", DBS[rng.random_range(0..DBS.len())]),
            Part::Key => write!(
                m,
                "{}:{}:{}",
                ["user", "session", "product", "cart"][rng.random_range(0..4)],
                rng.random_range(1..100_000u32),
                ["profile", "v2", "summary"][rng.random_range(0..3)]
            ),
            Part::Count => write!(m, "{}", rng.random_range(1..2_000u32)),
            Part::Small => write!(m, "{}", rng.random_range(0..64u32)),
            Part::Id => write!(m, "{}", rng.random_range(1..10_000_000u32)),
            Part::Queue => write!(m, "{}", QUEUES[rng.random_range(0..QUEUES.len())]),
            Part::Job => write!(m, "{}", JOBS[rng.random_range(0..JOBS.len())]),
            Part::Service => {
                let other = rng.random_range(0..self.services.len());
                m.extend_from_slice(self.services[other].name.as_bytes());
                Ok(())
            }
            Part::Bucket => write!(m, "{}", BUCKETS[rng.random_range(0..BUCKETS.len())]),
            Part::Table => write!(m, "{}", TABLES[rng.random_range(0..TABLES.len())]),
            Part::Host => write!(
                m,
                "{}.svc.cluster.local",
                self.services[rng.random_range(0..self.services.len())].name
            ),
            Part::Attempt => {
                let attempt = rng.random_range(1..=5u32);
                vars.attempt = Some(attempt);
                write!(m, "{attempt}")
            }
            Part::Pct => write!(m, "{}", rng.random_range(80..100u32)),
            Part::Mount => write!(m, "{}", MOUNTS[rng.random_range(0..MOUNTS.len())]),
            Part::Handler => write!(m, "{}", HANDLERS[rng.random_range(0..HANDLERS.len())]),
            Part::File => write!(
                m,
                "{}-{}.dat",
                self.services[service].name,
                rng.random_range(0..1000u32)
            ),
        };
    }
}

/// A heavy-tailed integer in `[0, max)`: most values small, a few large.
fn skewed(rng: &mut ChaCha8Rng, max: u32) -> u32 {
    let x: f64 = rng.random();
    (x * x * x * f64::from(max)) as u32
}

/// `n` lowercase hex digits.
fn hex(rng: &mut ChaCha8Rng, n: usize) -> String {
    let mut s = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
    s.truncate(n);
    s
}

/// Appends `text` as the inside of a JSON string.
fn escape_into(out: &mut Vec<u8>, text: &[u8]) {
    for &b in text {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b if b < 0x20 => {
                let _ = write!(out, "\\u{b:04x}");
            }
            b => out.push(b),
        }
    }
}

/// Appends `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, milliseconds truncated).
fn write_rfc3339_millis(out: &mut Vec<u8>, t: Timestamp) {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let odt = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.as_nanos()))
        .expect("every i64 nanosecond value is a valid date");
    odt.format_into(out, &format)
        .expect("formatting into a Vec cannot fail");
}

#[cfg(test)]
mod tests;
