//! Server configuration: flags, environment, and an optional TOML file.
//!
//! Precedence: a flag on the command line, then its `LOGINGEST_*`
//! environment variable, then the `--config` file, then the default. clap
//! handles the first two and the defaults; the file fills in only options
//! that neither the command line nor the environment set.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use serde::Deserialize;

/// `logingest serve` options.
#[derive(Debug, Clone, Args, Deserialize)]
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

    /// Allow listening on a non-loopback address without an auth file.
    #[arg(long, env = "LOGINGEST_ALLOW_UNAUTHENTICATED")]
    #[serde(skip)]
    pub allow_unauthenticated: bool,

    /// Largest request body in bytes, after gzip decompression (larger: 413).
    #[arg(long, env = "LOGINGEST_MAX_BODY_BYTES", default_value_t = 64 << 20)]
    pub max_body_bytes: usize,

    /// Largest single record in bytes (larger: 400 naming the record).
    #[arg(long, env = "LOGINGEST_MAX_RECORD_BYTES", default_value_t = 1 << 20)]
    pub max_record_bytes: usize,

    /// Most records in one request (more: 413).
    #[arg(long, env = "LOGINGEST_MAX_RECORDS", default_value_t = 100_000)]
    pub max_records: usize,

    /// Memory budget of ingest requests in flight, bytes: bodies as read
    /// and gunzipped, and their records until acknowledged (records take
    /// 2–3 times their JSON). Past it: wait as --when-full says, then 503
    /// with Retry-After; a single request larger than it: 413.
    #[arg(long, env = "LOGINGEST_INGEST_MEMORY_BYTES", default_value_t = 512 << 20)]
    pub ingest_memory_bytes: usize,

    /// Memory budget of live tail, bytes: records kept for subscribers that
    /// have not read them yet. Past it, the slowest subscribers miss the
    /// oldest records and are told how many (a `lagged` event).
    #[arg(long, env = "LOGINGEST_TAIL_MEMORY_BYTES", default_value_t = 64 << 20)]
    pub tail_memory_bytes: usize,

    /// Memory budget of the embedded backend's index writer, bytes.
    #[arg(long, env = "LOGINGEST_INDEX_WRITER_BYTES", default_value_t = 128 << 20)]
    pub index_writer_bytes: usize,

    /// Memory budget of the embedded backend's cache of decoded record
    /// blocks (shared by searches), bytes.
    #[arg(long, env = "LOGINGEST_BLOCK_CACHE_BYTES", default_value_t = 64 << 20)]
    pub block_cache_bytes: usize,

    /// Requests waiting in the ingest queue before back-pressure applies.
    #[arg(long, env = "LOGINGEST_QUEUE_CAPACITY", default_value_t = 1024)]
    pub queue_capacity: usize,

    /// Bytes of records (as JSON) waiting in the ingest queue before
    /// back-pressure applies. Their memory counts in --ingest-memory-bytes.
    #[arg(long, env = "LOGINGEST_QUEUE_BYTES", default_value_t = 256 << 20)]
    pub queue_bytes: usize,

    /// When the queue is full: `reject` at once with 429, or `block` up to
    /// --block-timeout-ms and then answer 503. Both send Retry-After.
    #[arg(long, env = "LOGINGEST_WHEN_FULL", value_enum, default_value_t = WhenFullKind::Block)]
    pub when_full: WhenFullKind,

    /// How long a request may wait for queue space in `block` mode, ms.
    #[arg(long, env = "LOGINGEST_BLOCK_TIMEOUT_MS", default_value_t = 2_000)]
    pub block_timeout_ms: u64,

    /// Most records per backend commit (group commit batches up to this).
    #[arg(long, env = "LOGINGEST_BATCH_RECORDS", default_value_t = 10_000)]
    pub batch_records: usize,

    /// Longest time a busy queue is drained into one commit, ms.
    #[arg(long, env = "LOGINGEST_BATCH_LINGER_MS", default_value_t = 20)]
    pub batch_linger_ms: u64,

    /// Writes become searchable at most this long after they are durable, ms.
    #[arg(long, env = "LOGINGEST_REFRESH_MS", default_value_t = 1_000)]
    pub refresh_ms: u64,

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    /// SQLite + tantivy in --data (the embedded default).
    Tantivy,
    /// PostgreSQL (--pg-url) + Elasticsearch/OpenSearch (--es-url), shared
    /// by any number of nodes; --data is not used.
    Pg,
}

/// Back-pressure behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
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
    pub fn merge_file(self, matches: &ArgMatches) -> Result<Self, String> {
        let Some(path) = self.config.clone() else {
            return Ok(self);
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ServeArgs =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let from_user = |id: &str| {
            matches!(
                matches.value_source(id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        };
        let mut merged = self;
        macro_rules! fill {
            ($($field:ident),*) => {$(
                if !from_user(stringify!($field)) {
                    merged.$field = file.$field.clone();
                }
            )*};
        }
        fill!(
            listen,
            data,
            backend,
            pg_url,
            es_url,
            pg_schema,
            es_index_prefix,
            es_replicas,
            auth_file,
            max_body_bytes,
            max_record_bytes,
            max_records,
            ingest_memory_bytes,
            tail_memory_bytes,
            index_writer_bytes,
            block_cache_bytes,
            queue_capacity,
            queue_bytes,
            when_full,
            block_timeout_ms,
            batch_records,
            batch_linger_ms,
            refresh_ms
        );
        Ok(merged)
    }
}
