//! The logingest server as a library: the HTTP API and web UI of an
//! [`Engine`](logingest::Engine) as an axum router ([`Service`]), and
//! `logingest serve` itself ([`serve`]).
//!
//! The `logingest` binary (`src/main.rs`) is this library plus the
//! command-line client; a Rust service mounts [`Service::router`] in its
//! own router to search its own logs (`examples/axum_service.rs`).

#![deny(missing_docs)]

mod auth;
mod budget;
pub mod config;
mod cpu;
mod error;
mod head;
mod metrics;
mod routes;
mod server;
mod service;
mod state;
mod syslog;
mod tail;

pub use auth::hash_key;
pub use server::serve;
pub use service::{Service, ServiceError, INGEST_MEMORY_BYTES, WAIT_WHEN_FULL};
