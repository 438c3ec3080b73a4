//! Open the scale-out backend (PostgreSQL + Elasticsearch/OpenSearch) from a
//! configuration file, ingest three records and find them again:
//!
//! ```sh
//! cargo run --features pg --example pg_from_config -- examples/pg.toml
//! ```
//!
//! The file names the two services and, optionally, the schema and index
//! prefix (nodes that share them share their records); see
//! `examples/pg.toml` and docs/deploy.md.

use std::path::PathBuf;

use logingest::{Engine, PgBackend, PgConfig, SearchRequest};

/// The configuration file: what `PgConfig` needs from an operator.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// `postgres://user:password@host:5432/db`.
    pg_url: String,
    /// `http://host:9200`.
    es_url: String,
    schema: Option<String>,
    index_prefix: Option<String>,
    replicas: Option<u32>,
}

impl Config {
    fn pg_config(self) -> PgConfig {
        let mut config = PgConfig::new(self.pg_url, self.es_url);
        if let Some(schema) = self.schema {
            config = config.schema(schema);
        }
        if let Some(prefix) = self.index_prefix {
            config = config.index_prefix(prefix);
        }
        config.number_of_replicas(self.replicas.unwrap_or(0))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .ok_or("usage: pg_from_config CONFIG.toml")?
        .into();
    let config: Config = toml::from_str(&std::fs::read_to_string(&path)?)?;
    let engine = Engine::builder()
        .backend(PgBackend::open(config.pg_config())?)
        .open()?;

    // A resource id of this run, so that earlier runs do not count.
    let run = format!("example-{}", std::process::id());
    let body: String = ["info", "warn", "error"]
        .iter()
        .map(|level| format!(r#"{{"level":"{level}","resourceId":"{run}","message":"hello from the pg backend"}}"#) + "\n")
        .collect();
    engine.ingest_json(body.as_bytes())?.wait_durable()?; // committed in PostgreSQL
    engine.flush()?; // and searchable in the cluster
    let page = engine.search(&SearchRequest::parse(&format!(
        "resourceId:{run} AND hello"
    ))?)?;
    println!("pg backend: found {} of 3 records of {run}", page.total);
    engine.close()?;
    Ok(())
}
