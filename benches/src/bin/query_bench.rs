//! Query latency of the embedded backend over generated records.
//!
//! Ingests `--records` generator records through `TantivyBackend` (batches
//! of `--batch`, default options: background refresh every second), then
//! reopens the directory and runs every query class `--runs` times with
//! varied parameters, one query at a time, printing p50/p99/max latency per
//! class as a Markdown table, with the ingest rate, disk bytes per record
//! and peak RSS.
//!
//! ```text
//! cargo run --release -p logingest-benches --bin query-bench -- --records 1000000 --dir /tmp/qb
//! cargo run --release -p logingest-benches --bin query-bench -- --records 1000000 --dir /tmp/qb --reuse
//! ```
//!
//! A search is timed from the parsed request to the returned page: the
//! tantivy query built from the AST, the collector (exact total, first page
//! of 100 newest), and the 100 sources read from SQLite.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use logingest_benches::generator::{Generator, GeneratorConfig, FAMILIES, PHRASES, WORD_PAIRS};
use logingest_core::query::{parse_pipeline_at, parse_query};
use logingest_core::{
    parse_records, Backend, FacetRequest, HistogramRequest, ParseOptions, RowsRequest,
    SearchRequest, Timestamp, NANOS_PER_SECOND,
};
use logingest_tantivy::{TantivyBackend, TantivyConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Parser, Debug)]
#[command(about = "Query latency of logingest-tantivy over generated records")]
struct Args {
    /// Records to ingest (and spread over one day of timestamps).
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Backend directory. Without --reuse it must not exist, be empty, or be
    /// a backend directory (it is then deleted and rebuilt).
    #[arg(long)]
    dir: PathBuf,
    /// Query an existing directory holding `--records` records instead of
    /// ingesting again.
    #[arg(long)]
    reuse: bool,
    /// Records per `write_batch`.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Runs per query class.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Run only the classes whose name contains this text.
    #[arg(long)]
    only: Option<String>,
    /// Time this one search query (instead of the classes).
    #[arg(long)]
    query: Option<String>,
    /// Print every run (query, hits, milliseconds) to stderr.
    #[arg(long)]
    each: bool,
    /// Skip the queries (ingest and report only).
    #[arg(long)]
    no_queries: bool,
    /// Records per block of the record store (default: the backend's).
    #[arg(long)]
    block_records: Option<usize>,
}

impl Args {
    /// The backend options this run uses.
    fn config(&self) -> TantivyConfig {
        let mut config = TantivyConfig::default();
        if let Some(n) = self.block_records {
            config = config.block_records(n);
        }
        config
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let config = GeneratorConfig::default()
        .seed(args.seed)
        .records(args.records);
    println!(
        "# query-bench: {} records, seed {}",
        args.records, args.seed
    );
    println!("machine: {}", machine());

    if args.reuse {
        println!("reusing {}", args.dir.display());
    } else {
        prepare_dir(&args.dir)?;
        ingest(&args, &config)?;
    }

    let backend = TantivyBackend::open(&args.dir, args.config().refresh_interval(None))?;
    let stats = backend.stats()?;
    if stats.records != args.records {
        return Err(format!(
            "{} holds {} records, not {}; run without --reuse",
            args.dir.display(),
            stats.records,
            args.records
        )
        .into());
    }
    let segments = backend.tantivy_index().searchable_segment_metas()?;
    println!(
        "index: {} segments ({} docs)",
        segments.len(),
        segments
            .iter()
            .map(|s| u64::from(s.num_docs()))
            .sum::<u64>()
    );
    disk_report(&backend, stats.records)?;
    if args.no_queries {
        return Ok(());
    }

    let classes = match args.query.clone() {
        Some(query) => vec![search_class("query", move |_, _| query.clone())],
        None => classes(&config, &Generator::new(config.clone())),
    };
    println!();
    println!("| class | example | runs | hits (min – max) | p50 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    for class in &classes {
        if args
            .only
            .as_deref()
            .is_some_and(|only| !class.name.contains(only))
        {
            continue;
        }
        // Warm-up: the first query of a class opens readers and touches pages.
        for i in 0..3 {
            (class.run)(&backend, &mut rng, i)?;
        }
        let mut latencies = Vec::with_capacity(args.runs);
        let (mut min_hits, mut max_hits) = (u64::MAX, 0);
        for i in 0..args.runs {
            let (elapsed, hits, text) = (class.run)(&backend, &mut rng, i)?;
            if args.each {
                eprintln!("{}\t{text}\t{hits}\t{:.2}", class.name, ms(elapsed));
            }
            latencies.push(elapsed);
            min_hits = min_hits.min(hits);
            max_hits = max_hits.max(hits);
        }
        latencies.sort_unstable();
        println!(
            "| {} | {} | {} | {} – {} | {:.1} | {:.1} | {:.1} |",
            class.name,
            class.example,
            args.runs,
            min_hits,
            max_hits,
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().expect("runs")),
        );
    }
    println!();
    println!("peak RSS after queries: {}", memory());
    Ok(())
}

/// Deletes a previous backend directory; refuses anything else non-empty.
fn prepare_dir(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty {
            if !dir.join("records.sqlite").exists() {
                return Err(format!(
                    "{} is not empty and not a backend directory; refusing to delete it",
                    dir.display()
                )
                .into());
            }
            std::fs::remove_dir_all(dir)?;
        }
    }
    Ok(())
}

fn ingest(args: &Args, config: &GeneratorConfig) -> Result<(), Box<dyn std::error::Error>> {
    let backend = TantivyBackend::open(&args.dir, args.config())?;
    let mut generator = Generator::new(config.clone());
    let options = ParseOptions::default();
    let (mut generating, mut parsing, mut writing) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut bytes = 0u64;
    let mut left = args.records;
    let wall = Instant::now();
    while left > 0 {
        let n = left.min(args.batch as u64) as usize;
        left -= n as u64;
        let t = Instant::now();
        let body = generator.ndjson(n);
        generating += t.elapsed();
        bytes += body.len() as u64;
        let t = Instant::now();
        let records = parse_records(&body, &options)?;
        parsing += t.elapsed();
        let t = Instant::now();
        backend.write_batch(&records)?;
        writing += t.elapsed();
    }
    let t = Instant::now();
    backend.refresh()?;
    let refresh = t.elapsed();
    let wall = wall.elapsed();
    let ingest = parsing + writing + refresh;
    let n = args.records as f64;
    println!();
    println!("## ingest");
    println!(
        "{} records, {:.1} MiB NDJSON ({:.0} bytes/record), batches of {}",
        args.records,
        bytes as f64 / f64::from(1 << 20),
        bytes as f64 / n,
        args.batch
    );
    println!(
        "parse + write_batch + final refresh: {:.2} s = {:.0} records/s, {:.1} MiB/s \
         (parse {:.2} s, write_batch {:.2} s, final refresh {:.2} s; generating {:.2} s not counted; wall {:.2} s)",
        ingest.as_secs_f64(),
        n / ingest.as_secs_f64(),
        bytes as f64 / f64::from(1 << 20) / ingest.as_secs_f64(),
        parsing.as_secs_f64(),
        writing.as_secs_f64(),
        refresh.as_secs_f64(),
        generating.as_secs_f64(),
        wall.as_secs_f64(),
    );
    println!("peak RSS while ingesting: {}", memory());
    let stats = backend.stats()?;
    println!(
        "bytes on disk right after ingest: {} ({:.0} bytes/record)",
        stats.bytes_on_disk,
        stats.bytes_on_disk as f64 / n
    );
    Ok(())
}

/// Sizes of the directory's parts. Tantivy files no commit refers to (the
/// output of a merge cut short when the ingesting backend closed) are
/// counted apart: the next commit deletes them.
fn disk_report(backend: &TantivyBackend, records: u64) -> Result<(), Error> {
    let dir = backend.dir();
    let index_dir = dir.join("index");
    let mut live: u64 = ["meta.json", ".managed.json"]
        .iter()
        .map(|f| dir_size(&index_dir.join(f)))
        .sum();
    let segments: Vec<String> = backend
        .tantivy_index()
        .searchable_segment_metas()?
        .iter()
        .map(|s| s.id().uuid_string())
        .collect();
    for entry in std::fs::read_dir(&index_dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if segments.iter().any(|id| name.starts_with(id.as_str())) {
            live += entry.metadata().map_or(0, |m| m.len());
        }
    }
    let garbage = dir_size(&index_dir).saturating_sub(live);
    let sqlite: u64 = ["records.sqlite", "records.sqlite-wal", "records.sqlite-shm"]
        .iter()
        .map(|f| dir_size(&dir.join(f)))
        .sum();
    let per = |b: u64| b as f64 / records.max(1) as f64;
    println!(
        "disk: {:.1} MiB = {:.0} bytes/record (SQLite with WAL {:.0} + tantivy {:.0}); \
         unreferenced tantivy files awaiting the next commit: {:.1} MiB",
        (sqlite + live) as f64 / f64::from(1 << 20),
        per(sqlite + live),
        per(sqlite),
        per(live),
        garbage as f64 / f64::from(1 << 20),
    );
    index_breakdown(backend, records)
}

/// Bytes a record per index component and field, from tantivy's own
/// accounting (`Searcher::space_usage`): what each part of the schema costs.
fn index_breakdown(backend: &TantivyBackend, records: u64) -> Result<(), Error> {
    let usage = backend.tantivy_index().reader()?.searcher().space_usage()?;
    let per = |b: u64| b as f64 / records.max(1) as f64;
    let mut rows: std::collections::BTreeMap<(String, &str), u64> = Default::default();
    for segment in usage.segments() {
        let components = [
            ("term", segment.termdict()),
            ("idx", segment.postings()),
            ("pos", segment.positions()),
            ("fast", segment.fast_fields()),
            ("fieldnorm", segment.fieldnorms()),
        ];
        for (component, fields) in components {
            for field in fields.fields() {
                *rows
                    .entry((field.field_name().to_owned(), component))
                    .or_default() += field.total().get_bytes();
                if let Some(dict) = field.dictionary_num_bytes() {
                    *rows
                        .entry((field.field_name().to_owned(), "fast dictionary"))
                        .or_default() += dict.get_bytes();
                }
            }
        }
        *rows.entry(("(all)".to_owned(), "store")).or_default() +=
            segment.store().total().get_bytes();
    }
    println!("index by field (bytes/record; `fast` includes its dictionary):");
    for ((field, component), bytes) in rows {
        println!("  {field:<8} {component:<16} {:>7.2}", per(bytes));
    }
    Ok(())
}

fn dir_size(path: &Path) -> u64 {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

/// One query class: a name, an example, and one timed run.
struct Class {
    name: &'static str,
    example: String,
    run: Run,
}

type Error = Box<dyn std::error::Error>;

/// One timed run of a class: `(backend, rng, run number) -> (latency, hits, query)`.
type Run =
    Box<dyn Fn(&TantivyBackend, &mut ChaCha8Rng, usize) -> Result<(Duration, u64, String), Error>>;

/// The query text of a run: `(rng, run number) -> query`.
type QueryText = Box<dyn Fn(&mut ChaCha8Rng, usize) -> String>;

/// A search class: `query(rng, run)` gives the query text.
fn search_class(
    name: &'static str,
    query: impl Fn(&mut ChaCha8Rng, usize) -> String + 'static,
) -> Class {
    let example = shown(&query(&mut ChaCha8Rng::seed_from_u64(0), 0));
    Class {
        name,
        example,
        run: Box::new(move |backend, rng, i| {
            let text = query(rng, i);
            let request = SearchRequest::new(parse_query(&text)?);
            let t = Instant::now();
            let page = backend.search(&request)?;
            Ok((t.elapsed(), page.total, text))
        }),
    }
}

fn classes(config: &GeneratorConfig, generator: &Generator) -> Vec<Class> {
    let (start, end) = config.time_span();
    let span = end.as_nanos() - start.as_nanos();
    let services: Vec<String> = generator
        .services()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let pick = |rng: &mut ChaCha8Rng, list: &[&'static str]| list[rng.random_range(0..list.len())];
    let service = {
        let services = services.clone();
        move |rng: &mut ChaCha8Rng| services[rng.random_range(0..services.len())].clone()
    };
    let window = move |rng: &mut ChaCha8Rng| {
        let from = start.as_nanos() + rng.random_range(0..span - span / 10);
        let from = from - from % NANOS_PER_SECOND;
        (Timestamp(from), Timestamp(from + span / 10))
    };
    let levels = ["error", "warn", "debug", "fatal", "info"];
    let mut classes = vec![
        search_class("all records", |_, _| String::new()),
        search_class("term level", move |_, i| {
            format!("level:{}", levels[i % levels.len()])
        }),
        search_class("term resourceId", {
            let service = service.clone();
            move |rng, _| format!("resourceId:{}", service(rng))
        }),
        search_class("phrase", move |_, i| {
            format!("\"{}\"", PHRASES[i % PHRASES.len()])
        }),
        search_class("full text AND", move |_, i| {
            let (a, b) = WORD_PAIRS[i % WORD_PAIRS.len()];
            format!("{a} {b}")
        }),
        search_class("wildcard keyword prefix", move |rng, _| {
            format!(
                "resourceId:{}-{}*",
                pick(rng, &FAMILIES),
                rng.random_range(1..10)
            )
        }),
        search_class("wildcard message infix", move |_, i| {
            let infixes = [
                "onnect", "xhaust", "ermissio", "ealth", "ayment", "etryin", "nsuffic", "pload",
            ];
            format!("message:*{}*", infixes[i % infixes.len()])
        }),
        search_class("regex message", move |_, i| {
            let patterns = [
                r"timed out after \d+ms",
                r"Failed to connect to [a-z-]+ at 10\.1\.",
                r"attempt [45] of 5",
                r"took \d{5}ms",
                r"heap \d+MB",
                r"(?i)CONNECTION REFUSED",
            ];
            format!("message:/{}/", patterns[i % patterns.len()])
        }),
        search_class("regex keyword", move |rng, i| {
            if i % 2 == 0 {
                format!("traceId:/^{:03x}/", rng.random_range(0..0x1000))
            } else {
                format!("resourceId:/^{}-[1-4]\\d\\d$/", pick(rng, &FAMILIES))
            }
        }),
        search_class("numeric range", move |_, i| {
            let ranges = [
                "metadata.http.status:>=500",
                "metadata.http.status:[400 TO 499]",
                "metadata.http.status:<300",
                "metadata.http.status:(>=500 OR 404)",
            ];
            ranges[i % ranges.len()].to_owned()
        }),
        search_class("time range 10%", move |rng, _| {
            let (a, b) = window(rng);
            format!("timestamp:[{a} TO {b}]")
        }),
        search_class("boolean", {
            let service = service.clone();
            move |rng, _| {
                let words = [
                    "connection",
                    "request",
                    "query",
                    "retrying",
                    "pool",
                    "timed",
                ];
                format!(
                    "(level:error OR level:warn) AND NOT resourceId:{} AND {}",
                    service(rng),
                    pick(rng, &words)
                )
            }
        }),
    ];
    let filtered = {
        let service = service.clone();
        move |rng: &mut ChaCha8Rng, i: usize| match i % 4 {
            0 => "level:error".to_owned(),
            1 => format!("\"{}\"", PHRASES[rng.random_range(0..PHRASES.len())]),
            2 => format!("resourceId:{}", service(rng)),
            _ => format!(
                "(level:error OR level:warn) AND NOT resourceId:{}",
                service(rng)
            ),
        }
    };
    let histogram = |name: &'static str, query: QueryText| {
        let example = query(&mut ChaCha8Rng::seed_from_u64(0), 0);
        Class {
            name,
            example: format!("{} (60 buckets over the day)", shown(&example)),
            run: Box::new(move |backend, rng, i| {
                let text = query(rng, i);
                let request = HistogramRequest::new(parse_query(&text)?, start, end, 60);
                let t = Instant::now();
                let histogram = backend.histogram(&request)?;
                Ok((t.elapsed(), histogram.counts.iter().sum(), text))
            }),
        }
    };
    classes.push(histogram("histogram all", Box::new(|_, _| String::new())));
    classes.push(histogram("histogram filtered", Box::new(filtered.clone())));
    let facets = |name: &'static str, field: &'static str, query: QueryText| {
        let example = query(&mut ChaCha8Rng::seed_from_u64(0), 0);
        Class {
            name,
            example: format!("`{field}` top 10 of {}", shown(&example)),
            run: Box::new(move |backend, rng, i| {
                let text = query(rng, i);
                let request = FacetRequest::new(parse_query(&text)?, field, 10);
                let t = Instant::now();
                let facets = backend.facets(&request)?;
                Ok((t.elapsed(), facets.iter().map(|f| f.count).sum(), text))
            }),
        }
    };
    classes.push(facets(
        "facets level, all",
        "level",
        Box::new(|_, _| String::new()),
    ));
    classes.push(facets(
        "facets resourceId, all",
        "resourceId",
        Box::new(|_, _| String::new()),
    ));
    classes.push(facets(
        "facets resourceId, filtered",
        "resourceId",
        Box::new(filtered),
    ));
    // The stats queries of the analytics targets (docs/performance.md).
    let stats = |name: &'static str, text: &'static str| Class {
        name,
        example: format!("`{text}`"),
        run: Box::new(move |backend, _, _| {
            let pipeline = parse_pipeline_at(text, Timestamp::now())?;
            let t = Instant::now();
            let rows = backend.rows(&RowsRequest::new(pipeline))?;
            Ok((t.elapsed(), rows.rows.len() as u64, text.to_owned()))
        }),
    };
    classes.push(stats("stats count by level", "| stats count() by (level)"));
    classes.push(stats(
        "stats count by resourceId",
        "| stats count() by (resourceId)",
    ));
    classes.push(stats(
        "stats count by minute",
        "| stats count() by (bucket(timestamp, 1m))",
    ));
    classes.push(stats(
        "stats count_uniq traceId",
        "| stats count_uniq(traceId)",
    ));
    classes.push(stats(
        "stats p99 duration by resourceId",
        "| stats quantile(0.99, metadata.duration_ms) by (resourceId)",
    ));
    classes.push(stats(
        "stats of durations by route and minute",
        "metadata.http.status:>=400 | stats count(), avg(metadata.duration_ms), \
         max(metadata.duration_ms) by (metadata.http.route, bucket(timestamp, 1m))",
    ));
    classes
}

/// A query as the table shows it.
fn shown(query: &str) -> String {
    if query.is_empty() {
        "(empty query)".to_owned()
    } else {
        format!("`{query}`")
    }
}

/// The `q`-quantile (nearest rank) of sorted latencies.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak and current resident set size from `/proc/self/status`.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or_else(
                || "?".to_owned(),
                |kb| format!("{:.0} MiB", kb as f64 / 1024.0),
            )
    };
    format!(
        "VmHWM {} (now: VmRSS {}, of which RssAnon {}, RssFile {})",
        field("VmHWM:"),
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:")
    )
}

/// One line about the machine: CPU model, cores, memory, kernel.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("?", str::trim)
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0.0, |kb| kb as f64 / f64::from(1 << 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{model}, {cores} cores, {mem:.0} GiB RAM, Linux {}",
        kernel.trim()
    )
}
