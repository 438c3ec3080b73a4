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
//! | `tracing` | no | [`layer::EngineLayer`]: a program's own `tracing` events as records |
//! | `log` | no | `layer::LogBridge`: the same for the `log` crate |
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
#[cfg(feature = "tracing")]
pub mod layer;

pub use engine::{
    Engine, EngineBuilder, Subscriber, Tail, TailEvent, TAIL_CAPACITY, TAIL_MEMORY_BYTES,
};

// What a user of the engine meets: records, requests and their answers,
// errors, parse options.
pub use logingest_core::{
    Cursor, Error, FacetCount, FacetRequest, Facets, Format, Histogram, HistogramRequest, Hit,
    IngestError, Limits, OpenError, Order, ParseOptions, QueryError, Record, RecordError, Result,
    SearchError, SearchPage, SearchRequest, Stats, TimeError, TimeRange, Timestamp, WriteError,
};
// Rows of `stats` and `top` pipes; the fields `| fields` chooses of a record.
pub use logingest_core::{project, reference_rows, Cell, Rows, RowsRequest};
// Reading records without an engine, and the reference evaluator.
pub use logingest_core::{matches, parse_ecs_document, parse_records, parse_records_metered};
// For backend authors: the plug-in trait and what it speaks.
pub use logingest_core::{
    is_disk_full, Backend, BoxedSource, Capabilities, MemoryBackend, WriteAck,
};

/// The ingest pipeline under [`Engine`]: batching policy, queue options,
/// tickets.
pub use logingest_core::ingest;
/// The query language: parser, AST, printing.
/// Numbers as numeric comparisons compare them and backends index them.
pub use logingest_core::number;
pub use logingest_core::query;
/// The conformance and differential test kit (feature `testkit`).
#[cfg(feature = "testkit")]
pub use logingest_core::testkit;

#[cfg(feature = "pg")]
pub use logingest_pg::{PgBackend, PgConfig};
#[cfg(feature = "tantivy")]
pub use logingest_tantivy::{Synchronous, TantivyBackend, TantivyConfig};
