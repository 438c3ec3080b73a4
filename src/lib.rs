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
//! [`Engine`] is the entry point: a backend and the ingest pipeline in
//! front of it (batching, back-pressure, tickets that resolve when records
//! are durable or searchable, blocking or awaited).
//!
//! ```
//! # #[cfg(feature = "tantivy")] {
//! use logingest::{Engine, SearchRequest};
//!
//! # let dir = tempfile::tempdir()?;
//! let engine = Engine::open(dir.path())?; // SQLite + tantivy in one directory
//! let ticket = engine.ingest_json(br#"{"level":"error","message":"Failed to connect to DB"}"#)?;
//! ticket.wait_visible()?; // durable, then searchable (`ticket.visible().await` in async code)
//! let page = engine.search(&SearchRequest::parse(r#"level:error AND "failed to connect""#)?)?;
//! assert_eq!(page.total, 1);
//! engine.close()?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The [`Backend`] trait under it is the plug-in interface for backend
//! authors; [`MemoryBackend`] is the smallest honest implementation.
#![deny(missing_docs)]

mod engine;

pub use engine::{Engine, EngineBuilder};
pub use logingest_core::*;

#[cfg(feature = "pg")]
pub use logingest_pg::{PgBackend, PgConfig};
#[cfg(feature = "tantivy")]
pub use logingest_tantivy::{Synchronous, TantivyBackend, TantivyConfig};
