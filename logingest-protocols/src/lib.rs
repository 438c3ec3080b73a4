//! # logingest-protocols
//!
//! The formats log shippers send, read into logingest [`Record`]s, with no
//! HTTP or storage in sight: a server (or any program) hands over the bytes
//! of a request and gets records or a precise error back.
//!
//! - [`otlp`]: OpenTelemetry logs (`ExportLogsServiceRequest`), protobuf and
//!   JSON encodings, as `POST /v1/logs` receives them.
//! - [`loki`]: the Loki push API (`PushRequest`), snappy-compressed protobuf
//!   and JSON, as `POST /loki/api/v1/push` receives them.
//!
//! Each format is mapped onto the record's own fields (`timestamp`,
//! `level`, `message`, `resourceId`, `traceId`, `spanId`) and everything
//! else the client sent is kept under `metadata`, so nothing is lost; the
//! mappings, with an example each, are in `docs/ingest-protocols.md`.
//!
//! Why records are made by writing their JSON text and parsing it with
//! [`logingest_core::parse_records_metered`]: the record's text *is* what
//! the store keeps and what a search returns, and the one parser then
//! applies every limit (record size, keys, depth, term length) exactly as
//! for a record sent as JSON. Its errors are mapped back to where the
//! record came from in the request (`resourceLogs[0].scopeLogs[1].logRecords[7]`).
//!
//! [`Record`]: logingest_core::Record
#![deny(missing_docs)]

mod decoded;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod loki;
pub mod otlp;
mod record;

pub use error::ProtocolError;

/// Whether a `Content-Type` is protobuf (`Some(false)`), JSON
/// (`Some(true)`), or another type, parameters (`charset`) ignored; `empty`
/// says what no type is.
pub(crate) fn json_or_protobuf(content_type: &str, empty: Option<bool>) -> Option<bool> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.is_empty() {
        empty
    } else if essence.eq_ignore_ascii_case("application/x-protobuf") {
        Some(false)
    } else if essence.eq_ignore_ascii_case("application/json") {
        Some(true)
    } else {
        None
    }
}
