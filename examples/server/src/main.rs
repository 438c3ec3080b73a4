//! `logingest`: the log server and its command-line client, one binary.
//!
//! - `logingest serve`: HTTP ingest, search, live tail and the web UI
//!   (docs/http-api.md).
//! - `logingest hash-key KEY`: the SHA-256 line for an auth file.
//! - `logingest query`, `logingest tail`, `logingest ingest FILE...`: the
//!   command-line client of a running server (see `cli`).
//!
//! The server keeps no state of its own: the backend holds the data, the
//! ingester the queue, and both are shared by every handler.

mod allocator;
mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use logingest_server::{config, hash_key, serve};

/// The logingest server and client.
#[derive(Debug, Parser)]
#[command(name = "logingest", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (HTTP API and web UI).
    Serve(Box<config::ServeArgs>),
    /// Print the SHA-256 of an API key, for the auth file.
    HashKey {
        /// The key (a long random string).
        key: String,
    },
    /// Search a running server: a table of the matching records, or NDJSON
    /// with --json.
    Query(cli::query::QueryArgs),
    /// Print new records matching a query as they reach a running server,
    /// until Ctrl-C.
    Tail(cli::tail::TailArgs),
    /// Send NDJSON files (or stdin) to a running server in batches, with a
    /// progress bar and a summary.
    Ingest(cli::ingest::IngestArgs),
}

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Serve(args) => {
            let sub = matches
                .subcommand_matches("serve")
                .expect("serve was matched");
            (*args)
                .merge_file(sub)
                .map_err(|e| e.to_string())
                .and_then(run_server)
        }
        Command::HashKey { key } => {
            println!("{}", hash_key(&key));
            Ok(())
        }
        Command::Query(args) => cli::query::run(args),
        Command::Tail(args) => cli::tail::run(args),
        Command::Ingest(args) => cli::ingest::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("logingest: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run_server(args: config::ServeArgs) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOGINGEST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    allocator::tune();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(serve(args))
        .map_err(|e| e.to_string())
}
