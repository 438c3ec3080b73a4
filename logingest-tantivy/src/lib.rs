//! # logingest-tantivy
//!
//! The embedded default backend of logingest: one directory, no server.
//! SQLite (through rusqlite, bundled) is the system of record; tantivy is the
//! search index, derived from it and rebuilt from it after a crash.
//!
//! ```
//! use logingest_core::{parse_records, query::parse_query, Backend, ParseOptions, SearchRequest};
//! use logingest_tantivy::{TantivyBackend, TantivyConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let backend = TantivyBackend::open(dir.path(), TantivyConfig::default())?;
//! let records = parse_records(br#"{"level":"error","message":"Failed to connect to DB"}"#, &ParseOptions::default())?;
//! backend.write_batch(&records)?; // durable when this returns
//! backend.refresh()?;             // visible after this (or within 1 s)
//! let page = backend.search(&SearchRequest::new(parse_query("level:error connect")?))?;
//! assert_eq!(page.total, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Layout of a directory, durability, recovery and options: see
//! `docs/backends.md`.
#![deny(missing_docs)]

mod backend;
#[doc(hidden)]
pub mod bench;
mod block;
mod cache;
mod collect;
mod columns;
mod complement;
mod config;
mod dictionary;
mod error;
mod facets;
mod index;
mod pending;
mod regex_prefilter;
mod rows;
mod store;
mod tokenizer;
mod translate;
mod verify;

pub use backend::TantivyBackend;
pub use config::{Synchronous, TantivyConfig};
