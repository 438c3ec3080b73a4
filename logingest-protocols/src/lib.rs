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
//! - [`syslog`]: syslog messages (RFC 5424 and RFC 3164) and the framing
//!   of syslog over TCP (RFC 6587), as `--syslog-tcp`/`--syslog-udp` read them.
//!
//! Each format is mapped onto the record's own fields (`timestamp`,
//! `level`, `message`, `resourceId`, `traceId`, `spanId`) and everything
//! else the client sent is kept under `metadata`, so nothing is lost; the
//! mappings, with an example each, are in `docs/ingest-protocols.md`.
//!
//! Why OTLP and Loki records are made by writing their JSON text and
//! parsing it with [`logingest_core::parse_records_metered`]: the record's
//! text *is* what the store keeps and what a search returns, and the one
//! parser then applies every limit (record size, keys, depth, term length)
//! exactly as for a record sent as JSON. Its errors are mapped back to
//! where the record came from in the request
//! (`resourceLogs[0].scopeLogs[1].logRecords[7]`). Syslog records, whose
//! values are all strings, are made by [`logingest_core::RecordWriter`]
//! instead: the same rules in one pass, without reading the text again.
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
pub mod syslog;

pub use error::ProtocolError;

/// How a protocol's request body is encoded: what the two OTLP/HTTP
/// encodings and the two Loki push forms are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-protobuf` (for Loki, snappy-compressed).
    Protobuf,
    /// `application/json`.
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names (parameters such as `charset`
    /// ignored), or `None` for any other type and for none (see
    /// [`loki::encoding`] for Loki's default).
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if essence.eq_ignore_ascii_case("application/x-protobuf") {
            Some(Encoding::Protobuf)
        } else if essence.eq_ignore_ascii_case("application/json") {
            Some(Encoding::Json)
        } else {
            None
        }
    }
}
