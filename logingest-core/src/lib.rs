//! # logingest-core
//!
//! Everything of logingest that is not storage or HTTP: the record model and
//! its parser, the query language (parser → AST → reference evaluator), the
//! ingest queue with its batch-flush policy, the [`Backend`] trait every
//! storage backend implements, an in-memory backend, and (feature `testkit`)
//! the conformance and differential suites backends run.
//!
//! ```
//! use logingest_core::{parse_records, query::parse_query, matches, ParseOptions};
//!
//! let records = parse_records(
//!     br#"{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234",
//!          "timestamp":"2023-09-15T08:00:00Z"}"#,
//!     &ParseOptions::default(),
//! )?;
//! let query = parse_query(r#"level:error AND "failed to connect" AND timestamp:[2023-09-10 TO 2023-09-16]"#)?;
//! assert!(matches(&query, &records[0]));
//! # Ok::<(), logingest_core::Error>(())
//! ```
#![deny(missing_docs)]

mod backend;
mod cursor;
mod error;
mod eval;
pub mod ingest;
pub mod keyword_term;
mod memory;
pub mod number;
mod parse;
mod project;
pub mod query;
mod record;
pub mod rows;
mod timestamp;
mod tokenize;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use backend::{
    Backend, Capabilities, FacetCount, FacetRequest, Facets, Histogram, HistogramRequest, Hit,
    Order, SearchPage, SearchRequest, Stats, TimeRange, WriteAck,
};
pub use cursor::{Cursor, Ranked};
pub use error::{
    is_disk_full, BoxedSource, Error, IngestError, OpenError, QueryError, RecordError, Result,
    SearchError, WriteError,
};
pub use eval::stats::rows as reference_rows;
pub use eval::{matches, wildcard_matches};
pub use memory::MemoryBackend;
pub use parse::{
    parse_ecs_document, parse_records, parse_records_metered, parse_stored_record, FieldError,
    Format, Limits, ParseOptions, RecordWriter,
};
pub use project::project;
pub use record::{fields, Record};
pub use rows::{Cell, Rows, RowsRequest};
pub use timestamp::{TimeError, Timestamp, NANOS_PER_SECOND};
pub use tokenize::{lowercase, tokenize};
