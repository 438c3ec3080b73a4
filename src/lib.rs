//! # logingest
//!
//! An embeddable log ingestion and search engine. This facade crate re-exports
//! [`logingest_core`] and, behind cargo features, each storage backend, so that a
//! service needs one dependency line.
//!
//! | feature | default | backend |
//! |---|---|---|
//! | `tantivy` | yes | [`TantivyBackend`]: SQLite + tantivy in one directory |
//! | `pg` | no | `PgBackend`: PostgreSQL + Elasticsearch/OpenSearch, shared by many nodes (docs/deploy.md) |
//! | `testkit` | no | the conformance and differential test kit of core |
//!
//! ```
//! use logingest::{parse_records, query::parse_query, Backend, ParseOptions, SearchRequest};
//! # #[cfg(feature = "tantivy")] {
//! use logingest::{TantivyBackend, TantivyConfig};
//!
//! let dir = std::env::temp_dir().join(format!("logingest-doc-{}", std::process::id()));
//! let backend = TantivyBackend::open(&dir, TantivyConfig::default())?;
//! let records = parse_records(
//!     br#"{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234"}"#,
//!     &ParseOptions::default(),
//! )?;
//! backend.write_batch(&records)?; // durable when it returns
//! backend.refresh()?; // searchable now (or within a second anyway)
//! let page = backend.search(&SearchRequest::new(parse_query(r#"level:error AND "failed to connect""#)?))?;
//! assert_eq!(page.total, 1);
//! # drop(backend);
//! # std::fs::remove_dir_all(&dir).ok();
//! # }
//! # Ok::<(), logingest::Error>(())
//! ```
#![deny(missing_docs)]

mod engine;

pub use engine::{Engine, EngineBuilder};
pub use logingest_core::*;

#[cfg(feature = "pg")]
pub use logingest_pg::{PgBackend, PgConfig};
#[cfg(feature = "tantivy")]
pub use logingest_tantivy::{Synchronous, TantivyBackend, TantivyConfig};
