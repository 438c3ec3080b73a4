//! The plain-HTTP client of the search cluster.
//!
//! Why no client crate: the official `elasticsearch` crate is alpha and
//! typed ES 8 clients may send a compatibility media type that OpenSearch
//! refuses. The backend needs six endpoints (`_index_template`, `_bulk`,
//! `_search`, `_refresh`, `_delete_by_query`, `_stats`, plus index deletion),
//! all identical in Elasticsearch 8 and OpenSearch 2, so blocking `ureq` +
//! `serde_json` keeps one code path for both.
//!
//! The differences between the two products live here and only here:
//! [`Flavor`] is read from `GET /` at open. Today it only picks the wording of
//! errors and the minimum version check (the `wildcard` field type needs
//! OpenSearch 2.15+; Elasticsearch has it since 7.9). Point-in-time readers
//! (`/_pit` vs `/_search/point_in_time`) are not used: cursors are
//! `search_after` on the unique `(ts, seq)` sort, which never skips or
//! repeats without a snapshot (see `docs/backends.md`).

use std::time::Duration;

use serde_json::Value;

use crate::error::EsError;

/// Which product answers, and its major.minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Elasticsearch.
    Elasticsearch(u32, u32),
    /// OpenSearch.
    OpenSearch(u32, u32),
}

/// A client of one cluster.
pub(crate) struct Es {
    agent: ureq::Agent,
    base: String,
    pub(crate) flavor: Flavor,
}

/// Largest answer read (a page of 10,000 hits or a 10,000-bucket histogram
/// is a few MB).
const MAX_ANSWER: u64 = 256 << 20;

impl Es {
    /// Connects to `base_url` and identifies the product.
    pub(crate) fn open(base_url: &str, timeout: Duration) -> Result<Self, EsError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_idle_connections_per_host(16)
            .build();
        let mut es = Es {
            agent: config.into(),
            base: base_url.trim_end_matches('/').to_owned(),
            flavor: Flavor::OpenSearch(2, 0),
        };
        let root = es.json("GET", "/", None)?;
        let version = root["version"]["number"].as_str().unwrap_or("0.0");
        let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        es.flavor = match root["version"]["distribution"].as_str() {
            Some("opensearch") => Flavor::OpenSearch(major, minor),
            _ => Flavor::Elasticsearch(major, minor),
        };
        let supported = match es.flavor {
            Flavor::OpenSearch(ma, mi) => (ma, mi) >= (2, 15),
            Flavor::Elasticsearch(ma, _) => ma >= 8,
        };
        if !supported {
            return Err(EsError::Protocol {
                path: "/".into(),
                reason: format!(
                    "{:?} {version} is not supported: logingest-pg needs Elasticsearch 8+ or OpenSearch 2.15+ (the `wildcard` field type)",
                    es.flavor
                ),
            });
        }
        Ok(es)
    }

    /// Sends a request; returns the status and the body.
    pub(crate) fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<(u16, Vec<u8>), EsError> {
        let url = format!("{}{path}", self.base);
        let transport = |source| EsError::Transport {
            url: url.clone(),
            source,
        };
        let response = match (method, body) {
            ("GET", None) => self.agent.get(&url).call(),
            ("DELETE", None) => self.agent.delete(&url).call(),
            ("HEAD", None) => self.agent.head(&url).call(),
            ("PUT", Some((ct, b))) => self.agent.put(&url).header("Content-Type", ct).send(&b[..]),
            ("POST", Some((ct, b))) => self
                .agent
                .post(&url)
                .header("Content-Type", ct)
                .send(&b[..]),
            ("POST", None) => self.agent.post(&url).send_empty(),
            _ => {
                return Err(EsError::Protocol {
                    path: path.to_owned(),
                    reason: format!("{method} with this body is not used"),
                })
            }
        }
        .map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(transport)?;
        Ok((status, bytes))
    }

    /// Sends JSON (or nothing) and parses a JSON answer; a status of 300 or
    /// more is an error carrying the answer's text.
    pub(crate) fn json(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, EsError> {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        let (status, bytes) = self.send(method, path, body)?;
        check(method, path, status, &bytes)?;
        parse(path, &bytes)
    }

    /// Sends an NDJSON `_bulk` body. The answer keeps only what
    /// `SearchIndex::bulk` reads (a full one is ~1 KB per 5 documents).
    pub(crate) fn bulk(&self, ndjson: Vec<u8>) -> Result<Value, EsError> {
        let path = "/_bulk?filter_path=errors,items.*._id,items.*.status,items.*.error";
        let (status, bytes) = self.send("POST", path, Some(("application/x-ndjson", ndjson)))?;
        check("POST", path, status, &bytes)?;
        parse(path, &bytes)
    }
}

fn check(method: &'static str, path: &str, status: u16, bytes: &[u8]) -> Result<(), EsError> {
    if status < 300 {
        return Ok(());
    }
    let text = String::from_utf8_lossy(bytes);
    let mut body: String = text.chars().take(2000).collect();
    if body.len() < text.len() {
        body.push('…');
    }
    Err(EsError::Status {
        status,
        method,
        path: path.to_owned(),
        body,
    })
}

fn parse(path: &str, bytes: &[u8]) -> Result<Value, EsError> {
    serde_json::from_slice(bytes).map_err(|e| EsError::Protocol {
        path: path.to_owned(),
        reason: format!("not JSON: {e}"),
    })
}
