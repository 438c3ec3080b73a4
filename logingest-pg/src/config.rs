//! Options of the scale-out backend, with their defaults.
//!
//! Several tenants (or test runs) can share one PostgreSQL database and one
//! Elasticsearch/OpenSearch cluster: each backend lives in its own PG schema
//! and under its own index-name prefix, and never touches anything outside.

use std::fmt;
use std::time::Duration;

use logingest_core::{Error, Result};

/// Options of [`crate::PgBackend::open`].
///
/// `Debug` hides the password of `pg_url` and any credentials in `es_url`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgConfig {
    /// PostgreSQL connection string, URL (`postgres://user:pass@host:5432/db`)
    /// or key-value (`host=... user=...`) form. Connections use no TLS (see
    /// `docs/backends.md`).
    pub pg_url: String,
    /// Base URL of the Elasticsearch 8 or OpenSearch 2 cluster,
    /// e.g. `http://127.0.0.1:9200`.
    pub es_url: String,
    /// PostgreSQL schema holding this backend's tables; created if missing.
    /// Lowercase letters, digits and `_`, starting with a letter. Default `logingest`.
    pub schema: String,
    /// Prefix of the index names (`<prefix>-YYYY.MM.DD`) and of the index
    /// template. Lowercase letters, digits and `_`, starting with a letter
    /// (no `-`, so that no prefix's `<prefix>-*` matches another's indices).
    /// Default `logingest`.
    pub index_prefix: String,
    /// Most PostgreSQL connections this node opens. Default 8.
    pub pool_size: usize,
    /// How often the background indexer looks for outbox rows another node
    /// left behind (a node that died between its commit and its indexing).
    /// Default 1 s. `None`: only [`logingest_core::Backend::refresh`] and
    /// this node's own writes deliver to the index.
    pub indexer_poll_interval: Option<Duration>,
    /// Most records in one `_bulk` request. Default 5,000.
    pub bulk_max_records: usize,
    /// Most bytes in one `_bulk` request body. Default 8 MiB.
    pub bulk_max_bytes: usize,
    /// Memory for `_bulk` bodies of acknowledged batches waiting for the
    /// indexer thread, bytes. Past it, writes wait for indexing (the
    /// embedded backend's option of the same name). Default 16 MiB.
    pub index_queue_bytes: usize,
    /// `number_of_replicas` of the daily indices. Default 0 (single-node
    /// clusters and tests); set 1 or more on a real cluster.
    pub number_of_replicas: u32,
    /// The indices' own `refresh_interval`: how soon an indexed record
    /// becomes searchable without an explicit refresh. Default 1 s.
    pub index_refresh_interval: Duration,
    /// Timeout of one HTTP request to the search cluster. Default 60 s.
    pub http_timeout: Duration,
    /// Fault injection for the crash tests: abort the process right after a
    /// batch's PostgreSQL commit, before it is indexed. Never set it
    /// otherwise. Only this field turns it on (nothing in the environment
    /// can), so a deployed server cannot be made to abort.
    #[doc(hidden)]
    pub abort_after_commit: bool,
}

impl PgConfig {
    /// A configuration for the given PostgreSQL and search-cluster URLs, with
    /// every other option at its default.
    pub fn new(pg_url: impl Into<String>, es_url: impl Into<String>) -> Self {
        PgConfig {
            pg_url: pg_url.into(),
            es_url: es_url.into(),
            schema: "logingest".to_owned(),
            index_prefix: "logingest".to_owned(),
            pool_size: 8,
            indexer_poll_interval: Some(Duration::from_secs(1)),
            bulk_max_records: 5_000,
            bulk_max_bytes: 8 << 20,
            index_queue_bytes: 16 << 20,
            number_of_replicas: 0,
            index_refresh_interval: Duration::from_secs(1),
            http_timeout: Duration::from_secs(60),
            abort_after_commit: false,
        }
    }

    /// Sets the PostgreSQL schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets the index-name prefix.
    pub fn index_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.index_prefix = prefix.into();
        self
    }

    /// Sets the connection pool size.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size;
        self
    }

    /// Sets the background indexer's poll interval (`None`: no background indexer).
    pub fn indexer_poll_interval(mut self, interval: Option<Duration>) -> Self {
        self.indexer_poll_interval = interval;
        self
    }

    /// Sets the memory budget of bodies waiting for the indexer thread.
    pub fn index_queue_bytes(mut self, bytes: usize) -> Self {
        self.index_queue_bytes = bytes;
        self
    }

    /// Sets the number of replicas of new daily indices.
    pub fn number_of_replicas(mut self, replicas: u32) -> Self {
        self.number_of_replicas = replicas;
        self
    }

    /// Checks names and sizes; `open` calls it first.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::InvalidRequest(what));
        let ident = |s: &str, extra: &[char]| {
            s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && s.len() <= 48
                && s.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || extra.contains(&c)
                })
        };
        if !ident(&self.schema, &[]) {
            return bad(format!(
                "schema `{}`: use 1-48 lowercase letters, digits and `_`, starting with a letter",
                self.schema
            ));
        }
        // No `-`: indices are `<prefix>-<day>` and searched as `<prefix>-*`,
        // which must never match another prefix's indices.
        if !ident(&self.index_prefix, &[]) {
            return bad(format!(
                "index prefix `{}`: use 1-48 lowercase letters, digits and `_`, starting with a letter",
                self.index_prefix
            ));
        }
        if self.pool_size == 0 || self.bulk_max_records == 0 || self.bulk_max_bytes == 0 {
            return bad("pool_size, bulk_max_records and bulk_max_bytes must be at least 1".into());
        }
        Ok(())
    }

    /// Whether the abort-after-commit failpoint is on.
    pub(crate) fn aborts_after_commit(&self) -> bool {
        self.abort_after_commit
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`; key-value
/// `password=secret` → `password=***`.
pub(crate) fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        if let Some((auth, host)) = rest.split_once('@') {
            let user = auth.split(':').next().unwrap_or("");
            let masked = if auth.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            return format!("{scheme}://{masked}@{host}");
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("pg_url", &redact(&self.pg_url))
            .field("es_url", &redact(&self.es_url))
            .field("schema", &self.schema)
            .field("index_prefix", &self.index_prefix)
            .field("pool_size", &self.pool_size)
            .field("indexer_poll_interval", &self.indexer_poll_interval)
            .field("bulk_max_records", &self.bulk_max_records)
            .field("bulk_max_bytes", &self.bulk_max_bytes)
            .field("index_queue_bytes", &self.index_queue_bytes)
            .field("number_of_replicas", &self.number_of_replicas)
            .field("index_refresh_interval", &self.index_refresh_interval)
            .field("http_timeout", &self.http_timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let c = PgConfig::new("postgres://u:secret@h:5432/db", "http://admin:pw@es:9200");
        let text = format!("{c:?}");
        assert!(!text.contains("secret") && !text.contains("pw@"), "{text}");
        assert_eq!(
            redact("host=h user=u password=x"),
            "host=h user=u password=***"
        );
    }

    #[test]
    fn names_are_checked() {
        let c = PgConfig::new("", "");
        assert!(c.clone().validate().is_ok());
        assert!(c.clone().schema("Bad").validate().is_err());
        assert!(c.clone().schema("a;drop").validate().is_err());
        assert!(c.clone().index_prefix("x*").validate().is_err());
        assert!(c.clone().index_prefix("lg-t1").validate().is_err());
        assert!(c.index_prefix("lg_t1_2").validate().is_ok());
    }
}
