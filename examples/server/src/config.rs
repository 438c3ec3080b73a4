//! Server configuration: flags, environment, and an optional TOML file.
//!
//! Precedence: a flag on the command line, then its `LOGINGEST_*`
//! environment variable, then the `--config` file, then the default. clap
//! handles the first two and the defaults; the file fills in only options
//! that neither the command line nor the environment set.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use logingest::ingest::IngestConfig;
use logingest::{Limits, TantivyConfig, TAIL_MEMORY_BYTES};

use crate::service::{INGEST_MEMORY_BYTES, WAIT_WHEN_FULL};

/// Default of `--batch-records`: the server groups more records per commit
/// than a library user's default (`BatchPolicy::realtime`, 1,000), since
/// many clients send at once.
pub const BATCH_RECORDS: usize = 10_000;

/// Default of `--batch-linger-ms`.
pub const BATCH_LINGER_MS: u64 = 20;
use clap::{ArgMatches, Args, ValueEnum};
use serde::{Deserialize, Serialize};

/// `logingest serve` options.
#[derive(Debug, Clone, Args, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct ServeArgs {
    /// Address to listen on. Binding a non-loopback address needs an auth
    /// file or --allow-unauthenticated.
    #[arg(long, env = "LOGINGEST_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Directory of the embedded backend (created if missing).
    #[arg(long, env = "LOGINGEST_DATA", default_value = "./data")]
    pub data: PathBuf,

    /// Storage backend.
    #[arg(long, env = "LOGINGEST_BACKEND", value_enum, default_value_t = BackendKind::Tantivy)]
    pub backend: BackendKind,

    /// PostgreSQL connection URL of the `pg` backend
    /// (`postgres://user:password@host:5432/db`).
    #[arg(long, env = "LOGINGEST_PG_URL")]
    pub pg_url: Option<String>,

    /// Elasticsearch 8 / OpenSearch 2 URL of the `pg` backend (`http://host:9200`).
    #[arg(long, env = "LOGINGEST_ES_URL")]
    pub es_url: Option<String>,

    /// PostgreSQL schema of the `pg` backend: nodes that share one name
    /// share their records.
    #[arg(long, env = "LOGINGEST_PG_SCHEMA", default_value = "logingest")]
    pub pg_schema: String,

    /// Index-name prefix of the `pg` backend in the search cluster
    /// (`PREFIX-YYYY.MM.DD`).
    #[arg(long, env = "LOGINGEST_ES_INDEX_PREFIX", default_value = "logingest")]
    pub es_index_prefix: String,

    /// `number_of_replicas` of the `pg` backend's new daily indices: 0 for
    /// a single-node cluster, 1 or more on a real one.
    #[arg(long, env = "LOGINGEST_ES_REPLICAS", default_value_t = 0)]
    pub es_replicas: u32,

    /// TOML file of API keys (SHA-256 hashes) with roles; see docs/http-api.md.
    /// Without it every request is allowed.
    #[arg(long, env = "LOGINGEST_AUTH_FILE")]
    pub auth_file: Option<PathBuf>,

    /// Allow listening on a non-loopback address without an auth file (and
    /// receiving syslog, which has no authentication, on one).
    #[arg(long, env = "LOGINGEST_ALLOW_UNAUTHENTICATED")]
    #[serde(skip)]
    pub allow_unauthenticated: bool,

    /// Largest request body in bytes, after gzip decompression (larger: 413).
    #[arg(long, env = "LOGINGEST_MAX_BODY_BYTES", default_value_t = Limits::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// Largest single record in bytes (larger: 400 naming the record).
    #[arg(long, env = "LOGINGEST_MAX_RECORD_BYTES", default_value_t = Limits::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,

    /// Most bytes a record's keyword fields may take to index, each value
    /// with its dotted path (more: 400 naming the field). Default: four
    /// times --max-record-bytes.
    #[arg(long, env = "LOGINGEST_MAX_INDEXED_BYTES")]
    pub max_indexed_bytes: Option<usize>,

    /// Most records in one request (more: 413).
    #[arg(long, env = "LOGINGEST_MAX_RECORDS", default_value_t = Limits::DEFAULT_MAX_RECORDS)]
    pub max_records: usize,

    /// Memory budget of ingest requests in flight, bytes: bodies as read
    /// and gunzipped, and their records until acknowledged (records take
    /// 2–3 times their JSON). Past it: wait as --when-full says, then 503
    /// with Retry-After; a single request larger than it: 413.
    #[arg(long, env = "LOGINGEST_INGEST_MEMORY_BYTES", default_value_t = INGEST_MEMORY_BYTES)]
    pub ingest_memory_bytes: usize,

    /// Memory budget of live tail, bytes: records kept for subscribers that
    /// have not read them yet. Past it, the slowest subscribers miss the
    /// oldest records and are told how many (a `lagged` event).
    #[arg(long, env = "LOGINGEST_TAIL_MEMORY_BYTES", default_value_t = TAIL_MEMORY_BYTES)]
    pub tail_memory_bytes: usize,

    /// Memory budget of the embedded backend's index writer, bytes.
    #[arg(long, env = "LOGINGEST_INDEX_WRITER_BYTES", default_value_t = TantivyConfig::DEFAULT_WRITER_MEMORY_BYTES)]
    pub index_writer_bytes: usize,

    /// Memory budget of the embedded backend's cache of decoded record
    /// blocks (shared by searches), bytes.
    #[arg(long, env = "LOGINGEST_BLOCK_CACHE_BYTES", default_value_t = TantivyConfig::DEFAULT_BLOCK_CACHE_BYTES)]
    pub block_cache_bytes: usize,

    /// Requests waiting in the ingest queue before back-pressure applies.
    #[arg(long, env = "LOGINGEST_QUEUE_CAPACITY", default_value_t = IngestConfig::DEFAULT_QUEUE_CAPACITY)]
    pub queue_capacity: usize,

    /// Bytes of records (as JSON) waiting in the ingest queue before
    /// back-pressure applies. Their memory counts in --ingest-memory-bytes.
    #[arg(long, env = "LOGINGEST_QUEUE_BYTES", default_value_t = IngestConfig::DEFAULT_MAX_QUEUED_BYTES)]
    pub queue_bytes: usize,

    /// When the queue is full: `reject` at once with 429, or `block` up to
    /// --block-timeout-ms and then answer 503. Both send Retry-After.
    #[arg(long, env = "LOGINGEST_WHEN_FULL", value_enum, default_value_t = WhenFullKind::Block)]
    pub when_full: WhenFullKind,

    /// How long a request may wait for queue space in `block` mode, ms.
    #[arg(long, env = "LOGINGEST_BLOCK_TIMEOUT_MS", default_value_t = WAIT_WHEN_FULL.as_millis() as u64)]
    pub block_timeout_ms: u64,

    /// Most records per backend commit (group commit batches up to this).
    #[arg(long, env = "LOGINGEST_BATCH_RECORDS", default_value_t = BATCH_RECORDS)]
    pub batch_records: usize,

    /// Longest time a busy queue is drained into one commit, ms.
    #[arg(long, env = "LOGINGEST_BATCH_LINGER_MS", default_value_t = BATCH_LINGER_MS)]
    pub batch_linger_ms: u64,

    /// Writes become searchable at most this long after they are durable, ms.
    #[arg(long, env = "LOGINGEST_REFRESH_MS", default_value_t = IngestConfig::DEFAULT_REFRESH_INTERVAL.as_millis() as u64)]
    pub refresh_ms: u64,

    /// Receive syslog over TCP on this address (RFC 5424 or 3164, octet-counted
    /// or newline-framed); off unless given.
    #[arg(long, env = "LOGINGEST_SYSLOG_TCP")]
    pub syslog_tcp: Option<SocketAddr>,

    /// Receive syslog over UDP on this address (a message a datagram); off
    /// unless given.
    #[arg(long, env = "LOGINGEST_SYSLOG_UDP")]
    pub syslog_udp: Option<SocketAddr>,

    /// Read settings from this TOML file (keys as the long flag names).
    #[arg(long, env = "LOGINGEST_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Defaults::parse_from(["logingest"]).serve
    }
}

/// Storage backends the server can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// SQLite + tantivy in --data (the embedded default).
    Tantivy,
    /// PostgreSQL (--pg-url) + Elasticsearch/OpenSearch (--es-url), shared
    /// by any number of nodes; --data is not used.
    Pg,
}

/// Back-pressure behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WhenFullKind {
    /// Wait up to --block-timeout-ms for space, then 503.
    Block,
    /// Answer 429 at once.
    Reject,
}

impl ServeArgs {
    /// Fills options the command line and environment left at their
    /// defaults from the `--config` file, if any.
    pub fn merge_file(self, matches: &ArgMatches) -> Result<Self, crate::ServiceError> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let bad = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        let text = std::fs::read_to_string(&path).map_err(|e| bad(&e))?;
        // The whole file as settings first: unknown keys and wrong types
        // are refused, naming the key.
        let _: ServeArgs = toml::from_str(&text).map_err(|e| bad(&e))?;
        let file: toml::Table = toml::from_str(&text).map_err(|e| bad(&e))?;
        // Then each key it sets replaces the value, unless the command line
        // or the environment set that option. Generic over the fields, so a
        // new option cannot be forgotten here.
        let mut merged = serde_json::to_value(&self).map_err(|e| bad(&e))?;
        for (key, value) in file {
            let from_user = matches!(
                matches.value_source(&key.replace('-', "_")),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            );
            if !from_user {
                merged[key] = serde_json::to_value(value).map_err(|e| bad(&e))?;
            }
        }
        let merged: ServeArgs = serde_json::from_value(merged).map_err(|e| bad(&e))?;
        // What the file cannot set.
        Ok(ServeArgs {
            config: self.config,
            allow_unauthenticated: self.allow_unauthenticated,
            ..merged
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::{BackendKind, ServeArgs};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn merged(file: &str, flags: &[&str]) -> Result<ServeArgs, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logingest.toml");
        std::fs::write(&path, file).unwrap();
        let mut argv = vec!["logingest", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(flags);
        let matches = Cli::command().get_matches_from(argv);
        let args = Cli::from_arg_matches(&matches).unwrap().serve;
        args.merge_file(&matches).map_err(|e| e.to_string())
    }

    #[test]
    fn the_file_fills_what_flags_left_at_their_defaults() {
        let args = merged(
            "max-records = 7\nqueue-capacity = 9\nbackend = \"pg\"\nes-replicas = 2\n",
            &["--max-records", "5"],
        )
        .unwrap();
        assert_eq!(args.max_records, 5, "a flag wins over the file");
        assert_eq!(args.queue_capacity, 9);
        assert_eq!(args.backend, BackendKind::Pg);
        assert_eq!(args.es_replicas, 2);
        assert_eq!(
            args.max_body_bytes,
            logingest::Limits::DEFAULT_MAX_BODY_BYTES
        );
        assert!(args.config.is_some());
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_refused_by_name() {
        let unknown = merged("max-recrods = 7\n", &[]).unwrap_err();
        assert!(unknown.contains("max-recrods"), "{unknown}");
        let wrong = merged("max-records = \"many\"\n", &[]).unwrap_err();
        assert!(
            wrong.contains("max-records") || wrong.contains("integer"),
            "{wrong}"
        );
        let skipped = merged("allow-unauthenticated = true\n", &[]).unwrap_err();
        assert!(skipped.contains("allow-unauthenticated"), "{skipped}");
    }
}
