//! # logingest
//!
//! An embeddable log ingestion and search engine. This facade crate re-exports
//! [`logingest_core`] and, behind cargo features, each storage backend, so that a
//! service needs one dependency line.
//!
//! ```
//! use logingest::{parse_records, query::parse_query, MemoryBackend, Backend, SearchRequest};
//!
//! let backend = MemoryBackend::new();
//! let records = parse_records(br#"{"message":"Failed to connect to DB","level":"error"}"#,
//!     &Default::default())?;
//! backend.write_batch(&records)?;
//! backend.refresh()?;
//! let page = backend.search(&SearchRequest::new(parse_query("level:error")?))?;
//! assert_eq!(page.total, 1);
//! # Ok::<(), logingest::Error>(())
//! ```
#![deny(missing_docs)]

pub use logingest_core::*;
