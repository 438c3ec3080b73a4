//! The HTTP load generator: see `logingest_benches::load` and
//! `docs/performance.md`.
//!
//! ```sh
//! cargo build --release -p logingest-server
//! cargo run --release -p logingest-benches --bin load -- --records 1000000 --batch 5000 --connections 8
//! ```

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use logingest_benches::load::{self, LoadConfig, Protocol, Target};

/// Sends generator records to a logingest server and reports what it cost.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Records to send.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Records per request.
    #[arg(long, default_value_t = 5_000)]
    batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Offer a fixed rate, records/s (default: as fast as acknowledged; not
    /// for syslog, sent as fast as the server reads).
    #[arg(long)]
    rate: Option<f64>,
    /// Endpoint to send to.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Ndjson)]
    protocol: ProtocolArg,
    /// Generator seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Target a running server instead of starting one (no disk figures).
    #[arg(long)]
    url: Option<String>,
    /// With --url: the server's process id, for its RSS and CPU figures.
    #[arg(long)]
    pid: Option<u32>,
    /// The `logingest` binary to start (default: next to this one).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Data directory of the started server (default: a temporary one, removed after).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Bearer key for ingest and the verification's reads.
    #[arg(long, env = "LOGINGEST_KEY")]
    key: Option<String>,
    /// Check afterwards that every acknowledged record is searchable.
    #[arg(long)]
    verify: bool,
    /// Skip stopping, reopening and settling the server for disk figures.
    #[arg(long)]
    no_reopen: bool,
    /// With --url and --protocol syslog: the server's --syslog-tcp address.
    #[arg(long)]
    syslog: Option<std::net::SocketAddr>,
    /// Encode every request body before the clock starts (held in memory,
    /// about the records' NDJSON size): the rate is then the server's alone,
    /// not shared with this generator's encoding (protobuf, snappy) on the
    /// same cores.
    #[arg(long)]
    prepare: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Write the records as NDJSON to this file (`-`: stdout) and exit,
    /// to feed another engine the same data.
    #[arg(long)]
    dump: Option<PathBuf>,
    /// More flags for `logingest serve`, after `--`.
    #[arg(last = true)]
    serve_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ProtocolArg {
    /// `POST /logs`, NDJSON.
    Ndjson,
    /// `POST /_bulk`.
    Bulk,
    /// `POST /v1/logs`, OTLP protobuf.
    Otlp,
    /// `POST /loki/api/v1/push`, snappy-compressed protobuf.
    Loki,
    /// Syslog over TCP, octet-counted RFC 5424 (the server gets
    /// `--syslog-tcp`; with --url, give its address as --syslog).
    Syslog,
}

fn main() {
    let args = Args::parse();
    if let Some(path) = &args.dump {
        let result = if path.as_os_str() == "-" {
            load::dump(args.records, args.seed, &mut std::io::stdout().lock())
        } else {
            std::fs::File::create(path).and_then(|file| {
                load::dump(args.records, args.seed, &mut std::io::BufWriter::new(file))
            })
        };
        if let Err(e) = result {
            eprintln!("load: {}: {e}", path.display());
            std::process::exit(1);
        }
        return;
    }
    let target = match args.url {
        Some(url) => Target::Url { url, pid: args.pid },
        None => Target::Spawn {
            binary: args.server.unwrap_or_else(sibling_server),
            data: args.data,
            args: args.serve_args,
        },
    };
    if let Target::Spawn { binary, .. } = &target {
        if !binary.exists() {
            eprintln!(
                "load: no server binary at {}; build it with `cargo build --release -p logingest-server` or pass --server",
                binary.display()
            );
            std::process::exit(2);
        }
    }
    let config = LoadConfig {
        target,
        records: args.records,
        batch: args.batch,
        connections: args.connections,
        rate: args.rate,
        protocol: match args.protocol {
            ProtocolArg::Ndjson => Protocol::Ndjson,
            ProtocolArg::Bulk => Protocol::Bulk,
            ProtocolArg::Otlp => Protocol::Otlp,
            ProtocolArg::Loki => Protocol::Loki,
            ProtocolArg::Syslog => Protocol::Syslog,
        },
        seed: args.seed,
        key: args.key,
        verify: args.verify,
        reopen: !args.no_reopen,
        progress: !args.json,
        prepare: args.prepare,
        syslog: args.syslog,
    };
    match load::run(&config) {
        Ok(report) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.to_json()).expect("JSON")
                );
            } else {
                print!("{}", report.to_text());
            }
            if report.failures > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    }
}

/// `logingest` in the directory of this executable (`target/release`).
fn sibling_server() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("logingest")))
        .unwrap_or_else(|| PathBuf::from("logingest"))
}
