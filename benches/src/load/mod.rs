//! The HTTP load generator: seeded generator records sent to a real server
//! over several connections, and what it cost the server.
//!
//! One producer thread turns the generator's records into request bodies
//! (NDJSON for `POST /logs`, `_bulk` with a `create` action per record,
//! OTLP protobuf for `POST /v1/logs`, or a Loki push for
//! `POST /loki/api/v1/push`)
//! and hands them to `connections` worker threads, each with one keep-alive
//! connection. With a fixed `rate`, request `i` is due at `i × batch / rate`
//! seconds after the start and its latency counts from that moment, so a
//! slow server cannot hide its backlog by slowing the client down
//! (coordinated omission). A `429`/`503` is counted and the same body is
//! sent again after `Retry-After`; any other failure is counted and its
//! records are *in doubt* (the server may or may not have stored them).
//!
//! After the run the report reads the server's peak RSS (`VmHWM`) and CPU
//! time from `/proc`, then (for a server this tool started) stops it,
//! starts it again on the same directory, waits until the directory stops
//! changing, and measures disk bytes per record by component. With
//! `verify`, every acknowledged record must be found: the total equals the
//! acknowledged count (plus at most the in-doubt ones), and a sample of the
//! records comes back byte for byte. Figures: `docs/performance.md`.

mod loki;
mod otlp;
mod report;
mod server;
mod syslog;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use report::{Disk, Report};
pub use server::{
    cpu_seconds, disk_components, peak_rss, rss_parts, spawn_serve, spawn_serve_printing,
    ServerProcess,
};
pub use verify::Verified;

use crate::generator::{Generator, GeneratorConfig};

/// Which ingest endpoint the bodies go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// `POST /logs` with `application/x-ndjson`.
    Ndjson,
    /// `POST /_bulk`: a `{"create":{}}` action line before each record.
    Bulk,
    /// `POST /v1/logs`: OTLP logs in protobuf, as SDK exporters send them.
    Otlp,
    /// `POST /loki/api/v1/push`: snappy-compressed protobuf, as Promtail
    /// sends it.
    Loki,
    /// Syslog over TCP (`serve --syslog-tcp`): octet-counted RFC 5424, as
    /// rsyslog forwards it. No acknowledgement: a run ends once the server
    /// holds every record (`/healthz`).
    Syslog,
}

impl Protocol {
    /// One request body of the generator records `lines` (NDJSON lines)
    /// in this protocol (syslog: octet-counted RFC 5424 frames).
    pub fn body(self, lines: &[Vec<u8>]) -> Vec<u8> {
        match self {
            Protocol::Ndjson => lines.concat(),
            Protocol::Bulk => lines
                .iter()
                .flat_map(|line| [&b"{\"create\":{}}\n"[..], line])
                .collect::<Vec<&[u8]>>()
                .concat(),
            Protocol::Otlp => otlp::body(lines),
            Protocol::Loki => loki::body(lines),
            Protocol::Syslog => syslog::body(lines),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Protocol::Ndjson => "/logs",
            Protocol::Bulk => "/_bulk",
            Protocol::Otlp => "/v1/logs",
            Protocol::Loki => "/loki/api/v1/push",
            Protocol::Syslog => "",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Protocol::Ndjson | Protocol::Bulk => "application/x-ndjson",
            Protocol::Otlp | Protocol::Loki => "application/x-protobuf",
            Protocol::Syslog => "",
        }
    }
}

/// Where the server is.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start `binary serve` on a free port with `data` (a fresh temporary
    /// directory when `None`) and the extra `args`.
    Spawn {
        /// The `logingest` binary.
        binary: PathBuf,
        /// Data directory; must be empty or absent for disk figures to mean anything.
        data: Option<PathBuf>,
        /// More `serve` flags.
        args: Vec<String>,
    },
    /// A server started elsewhere (any backend).
    Url {
        /// Base URL, `http://host:port`.
        url: String,
        /// Its process id, for RSS and CPU figures, if on this machine.
        pid: Option<u32>,
    },
}

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The server.
    pub target: Target,
    /// Records to send in all.
    pub records: u64,
    /// Records per request.
    pub batch: usize,
    /// Concurrent connections.
    pub connections: usize,
    /// Fixed offered rate in records/s; `None`: as fast as acknowledged
    /// (HTTP protocols; syslog is always sent as fast as it is read).
    pub rate: Option<f64>,
    /// Endpoint.
    pub protocol: Protocol,
    /// Generator seed.
    pub seed: u64,
    /// Bearer key for ingest (and for the verification's reads).
    pub key: Option<String>,
    /// Check afterwards that every acknowledged record is searchable.
    pub verify: bool,
    /// Stop, reopen and settle a spawned server before measuring disk.
    pub reopen: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// With a `Url` target and [`Protocol::Syslog`]: the server's
    /// `--syslog-tcp` address (a spawned server gets one of its own).
    pub syslog: Option<SocketAddr>,
    /// Encode every request body before the clock starts (held in memory:
    /// about the records' NDJSON size), so that the rate is the server's
    /// alone, not shared with the generator's encoding on the same cores.
    pub prepare: bool,
}

/// One request body and what it carries.
struct Job {
    body: Vec<u8>,
    records: u64,
    /// Records sent before it: with a fixed rate, when it is due.
    offset: u64,
    /// One of its records as sent, kept for verification.
    sample: Option<String>,
}

/// What the workers count, shared.
#[derive(Default)]
struct Tally {
    acked_records: AtomicU64,
    acked_bytes: AtomicU64,
    in_doubt: AtomicU64,
    status_429: AtomicU64,
    status_503: AtomicU64,
    failures: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
    samples: Mutex<Vec<String>>,
    first_failure: Mutex<Option<String>>,
    /// When the server held the last record a syslog run sent.
    finished: Mutex<Option<Instant>>,
}

/// Every this many requests, one record is kept for verification.
const SAMPLE_EVERY: u64 = 7;

/// Runs the load and returns the report.
pub fn run(config: &LoadConfig) -> Result<Report, String> {
    if config.batch == 0 || config.connections == 0 {
        return Err("batch and connections must be at least 1".into());
    }
    let mut temp = None;
    let (mut process, url, pid, data) = match &config.target {
        Target::Spawn { binary, data, args } => {
            let data = match data {
                Some(d) => d.clone(),
                None => {
                    let dir = temp_dir()?;
                    let data = dir.join("data");
                    temp = Some(dir);
                    data
                }
            };
            let mut args = args.clone();
            if config.protocol == Protocol::Syslog {
                args.extend(["--syslog-tcp".to_owned(), "127.0.0.1:0".to_owned()]);
            }
            let process = ServerProcess::start(binary, &data, &args)?;
            let url = process.url().to_owned();
            let pid = process.pid();
            (Some(process), url, Some(pid), Some(data))
        }
        Target::Url { url, pid } => (None, url.clone(), *pid, None),
    };
    let syslog = match &process {
        Some(process) => process.syslog_tcp(),
        None => config.syslog,
    };
    if config.protocol == Protocol::Syslog && syslog.is_none() {
        return Err("syslog needs the server's --syslog-tcp address (--syslog ADDR)".into());
    }
    let cpu_before = pid.and_then(cpu_seconds);
    let before = if config.verify {
        verify::total(&url, config.key.as_deref())?
    } else {
        0
    };
    let tally = Arc::new(Tally::default());
    let prepared: Option<Vec<Job>> = config.prepare.then(|| jobs(config).collect());
    let started = Instant::now();
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let peak_parts = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| sample_rss(pid, &sampling));
        let sent = match (syslog, prepared) {
            (Some(address), prepared) if config.protocol == Protocol::Syslog => {
                let durable_before = verify::durable(&agent(), &url)?;
                let jobs: Box<dyn Iterator<Item = Job>> = match prepared {
                    Some(jobs) => Box::new(jobs.into_iter()),
                    None => Box::new(jobs(config)),
                };
                syslog::send(config, address, &tally, jobs)?;
                syslog::wait_stored(config, &url, &tally, durable_before)
            }
            (_, Some(jobs)) => send_all(config, &url, &tally, started, jobs.into_iter()),
            (_, None) => send_all(config, &url, &tally, started, jobs(config)),
        };
        sampling.store(false, Ordering::Relaxed);
        let peaks = sampler.join().unwrap_or_default();
        sent.map(|()| peaks)
    })?;
    // Syslog: until the last record came, not the end of the wait for more.
    let elapsed = match tally.finished.lock().unwrap().take() {
        Some(finished) => finished.saturating_duration_since(started),
        None => started.elapsed(),
    };
    let cpu = pid
        .and_then(cpu_seconds)
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let peak = pid.and_then(peak_rss);
    let verified = if config.verify {
        Some(verify::check(
            &url,
            config.key.as_deref(),
            config.protocol,
            before,
            &tally,
        )?)
    } else {
        None
    };
    let disk = match (&mut process, &data) {
        (Some(process), Some(data)) if config.reopen => {
            process.stop(Duration::from_secs(120))?;
            process.restart()?;
            let total = server::settle(data, Duration::from_secs(120));
            let components = disk_components(data);
            process.stop(Duration::from_secs(120))?;
            Some(Disk { total, components })
        }
        _ => None,
    };
    if let Some(process) = &mut process {
        let _ = process.stop(Duration::from_secs(120));
    }
    if let Some(dir) = temp {
        let _ = std::fs::remove_dir_all(dir);
    }
    let first_failure = tally.first_failure.lock().unwrap().take();
    let mut latencies = std::mem::take(&mut *tally.latencies.lock().unwrap());
    latencies.sort_unstable();
    Ok(Report {
        protocol: config.protocol,
        records_offered: config.records,
        batch: config.batch,
        connections: config.connections,
        rate: config.rate,
        acked_records: tally.acked_records.load(Ordering::Relaxed),
        acked_bytes: tally.acked_bytes.load(Ordering::Relaxed),
        in_doubt: tally.in_doubt.load(Ordering::Relaxed),
        status_429: tally.status_429.load(Ordering::Relaxed),
        status_503: tally.status_503.load(Ordering::Relaxed),
        failures: tally.failures.load(Ordering::Relaxed),
        first_failure,
        elapsed,
        latencies,
        peak_rss: peak,
        peak_rss_anon: pid.map(|_| peak_parts.0),
        peak_rss_file: pid.map(|_| peak_parts.1),
        cpu_seconds: cpu,
        disk,
        verified,
    })
}

/// The highest `RssAnon` and `RssFile` of `pid` seen every 100 ms while
/// `running` holds (the kernel keeps only the peak of their sum, `VmHWM`).
pub fn sample_rss(pid: Option<u32>, running: &std::sync::atomic::AtomicBool) -> (u64, u64) {
    let mut peaks = (0, 0);
    let Some(pid) = pid else {
        return peaks;
    };
    while running.load(Ordering::Relaxed) {
        if let Some((anon, file)) = rss_parts(pid) {
            peaks = (peaks.0.max(anon), peaks.1.max(file));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    peaks
}

/// A fresh directory under the system's temporary directory (removed at
/// the end of [`run`]).
fn temp_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("logingest-load-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn send_all(
    config: &LoadConfig,
    url: &str,
    tally: &Arc<Tally>,
    started: Instant,
    jobs: impl Iterator<Item = Job>,
) -> Result<(), String> {
    let bar = config.progress.then(|| progress_bar(config.records));
    let endpoint = format!("{url}{}", config.protocol.path());
    fan_out(config.connections, jobs, |rx| {
        let agent = agent();
        for job in rx {
            let due = config
                .rate
                .map(|rate| started + Duration::from_secs_f64(job.offset as f64 / rate));
            send(
                &agent,
                &endpoint,
                config.protocol,
                config.key.as_deref(),
                job,
                due,
                tally,
            );
            if let Some(bar) = &bar {
                bar.set_position(tally.acked_records.load(Ordering::Relaxed));
            }
        }
        Ok(())
    })?;
    if let Some(bar) = bar {
        bar.finish();
    }
    Ok(())
}

/// Writes the NDJSON that a run with `records` and `seed` sends (every
/// protocol carries the same records), for feeding other engines the same
/// data side by side.
pub fn dump(records: u64, seed: u64, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let mut generator = Generator::new(
        GeneratorConfig::default()
            .seed(seed)
            .records(records.max(1)),
    );
    let mut buffer = Vec::with_capacity(1 << 20);
    for _ in 0..records {
        generator.write_line(&mut buffer);
        if buffer.len() >= 1 << 20 {
            out.write_all(&buffer)?;
            buffer.clear();
        }
    }
    out.write_all(&buffer)
}

/// The request bodies, in order, generated as they are taken.
fn jobs(config: &LoadConfig) -> impl Iterator<Item = Job> + '_ {
    let mut generator = Generator::new(
        GeneratorConfig::default()
            .seed(config.seed)
            .records(config.records.max(1)),
    );
    let mut sent = 0u64;
    let mut request = 0u64;
    std::iter::from_fn(move || {
        if sent >= config.records {
            return None;
        }
        let n = (config.records - sent).min(config.batch as u64);
        let mut lines = Vec::with_capacity(n as usize);
        let mut sample = None;
        for i in 0..n {
            let mut line = Vec::with_capacity(512);
            generator.write_line(&mut line);
            if i == 0 && request.is_multiple_of(SAMPLE_EVERY) {
                sample = Some(String::from_utf8_lossy(line.trim_ascii_end()).into_owned());
            }
            lines.push(line);
        }
        let body = config.protocol.body(&lines);
        let job = Job {
            body,
            records: n,
            offset: sent,
            sample,
        };
        sent += n;
        request += 1;
        Some(job)
    })
}

/// Hands `jobs` out, in order, to `connections` threads each running
/// `work` on what it is given; the first error of any of them.
fn fan_out(
    connections: usize,
    jobs: impl Iterator<Item = Job>,
    work: impl Fn(crossbeam_channel::Receiver<Job>) -> Result<(), String> + Sync,
) -> Result<(), String> {
    let (tx, rx) = crossbeam_channel::bounded::<Job>(connections * 2);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let rx = rx.clone();
                let work = &work;
                scope.spawn(move || work(rx))
            })
            .collect();
        drop(rx);
        for job in jobs {
            if tx.send(job).is_err() {
                break;
            }
        }
        drop(tx);
        workers
            .into_iter()
            .try_for_each(|w| w.join().unwrap_or_else(|_| Err("a sender panicked".into())))
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into()
}

/// Sends one body until it is acknowledged, refused for good, or failed.
fn send(
    agent: &ureq::Agent,
    endpoint: &str,
    protocol: Protocol,
    key: Option<&str>,
    job: Job,
    due: Option<Instant>,
    tally: &Tally,
) {
    if let Some(due) = due {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
    let start = due.unwrap_or_else(Instant::now);
    loop {
        let request = agent
            .post(endpoint)
            .header("Content-Type", protocol.content_type());
        let outcome = verify::authorized(request, key).send(&job.body[..]);
        let mut response = match outcome {
            Ok(response) => response,
            Err(e) => {
                note_failure(tally, job.records, format!("request failed: {e}"));
                return;
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let text = response.body_mut().read_to_string().unwrap_or_default();
        match status {
            // 204: Loki's answer to an accepted push.
            200 | 204 => {
                tally
                    .acked_records
                    .fetch_add(job.records, Ordering::Relaxed);
                tally
                    .acked_bytes
                    .fetch_add(job.body.len() as u64, Ordering::Relaxed);
                tally.latencies.lock().unwrap().push(start.elapsed());
                if let Some(sample) = job.sample {
                    tally.samples.lock().unwrap().push(sample);
                }
                if protocol == Protocol::Bulk && text.contains("\"errors\":true") {
                    // Some items were refused: they are not stored, not in doubt.
                    note_failure(tally, 0, format!("_bulk item errors: {}", cut(&text)));
                }
                return;
            }
            429 | 503 => {
                let counter = if status == 429 {
                    &tally.status_429
                } else {
                    &tally.status_503
                };
                counter.fetch_add(1, Ordering::Relaxed);
                let wait = Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 5));
                std::thread::sleep(wait);
            }
            _ => {
                note_failure(tally, job.records, format!("HTTP {status}: {}", cut(&text)));
                return;
            }
        }
    }
}

/// Counts a failed request whose `in_doubt` records may or may not be stored.
fn note_failure(tally: &Tally, in_doubt: u64, reason: String) {
    tally.failures.fetch_add(1, Ordering::Relaxed);
    tally.in_doubt.fetch_add(in_doubt, Ordering::Relaxed);
    let mut first = tally.first_failure.lock().unwrap();
    if first.is_none() {
        *first = Some(reason);
    }
}

fn cut(text: &str) -> &str {
    let end = text.char_indices().nth(300).map_or(text.len(), |(i, _)| i);
    &text[..end]
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {human_pos}/{human_len} records acknowledged ({per_sec})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}
