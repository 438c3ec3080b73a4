//! # logingest-pg
//!
//! The scale-out backend of logingest: PostgreSQL is the system of record,
//! Elasticsearch 8 or OpenSearch 2 the search index, and any number of
//! stateless nodes share them. Same [`logingest_core::Backend`] trait, same
//! query semantics and the same conformance tests as the embedded backend.
//!
//! ```no_run
//! use logingest_core::{parse_records, query::parse_query, Backend, ParseOptions, SearchRequest};
//! use logingest_pg::{PgBackend, PgConfig};
//!
//! let config = PgConfig::new("postgres://logingest@127.0.0.1:5432/logs", "http://127.0.0.1:9200");
//! let backend = PgBackend::open(config)?;
//! let records = parse_records(br#"{"level":"error","message":"Failed to connect to DB"}"#, &ParseOptions::default())?;
//! backend.write_batch(&records)?; // durable in PostgreSQL when this returns
//! backend.refresh()?;             // searchable after this (or within about a second)
//! let page = backend.search(&SearchRequest::new(parse_query("level:error connect")?))?;
//! assert_eq!(page.total, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Tables, index mapping, the outbox that delivers every committed record
//! to the index exactly once, retention, failure modes and options: see
//! `docs/backends.md`.
#![deny(missing_docs)]

mod backend;
mod collect;
mod config;
mod error;
mod es;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
mod index;
mod indexer;
mod lucene_regex;
mod outbox;
mod pending;
mod pool;
mod rows;
mod store;
mod translate;
mod verify;

pub use backend::PgBackend;
pub use config::PgConfig;
