//! The OTLP logs request's schema for the decoded-size bound
//! ([`crate::decoded`]): a decoded `ExportLogsServiceRequest` can be a
//! hundred times its body, and [`decoded_bytes`] says how much before it
//! is decoded.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::Encoding;
use crate::decoded::{json_bytes, protobuf_bytes, Field, JsonWeights, Schema};

/// An upper bound of the bytes that decoding `body` allocates.
pub fn decoded_bytes(body: &[u8], encoding: Encoding) -> usize {
    match encoding {
        Encoding::Protobuf => protobuf_bytes(body, Message::Request, largest_struct()),
        Encoding::Json => json_bytes(
            body,
            &JsonWeights {
                object: 3 * largest_struct(),
                array: largest_struct(),
                // A 32-byte buffered node, three times (a growing `Vec`).
                token: 96,
            },
        ),
    }
}

/// The largest struct any element of a request decodes into.
fn largest_struct() -> usize {
    [
        size_of::<ResourceLogs>(),
        size_of::<ScopeLogs>(),
        size_of::<LogRecord>(),
        size_of::<KeyValue>(),
        size_of::<AnyValue>(),
        size_of::<EntityRef>(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

/// The messages of the OTLP logs schema that hold other messages or
/// strings.
#[derive(Clone, Copy)]
enum Message {
    Request,
    ResourceLogs,
    Resource,
    ScopeLogs,
    Scope,
    LogRecord,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
    EntityRef,
}

impl Schema for Message {
    fn field(self, number: u64) -> Field<Message> {
        use Message as M;
        let element = |m: Message, size: usize| Field::Message(m, Some(size));
        match (self, number) {
            (M::Request, 1) => element(M::ResourceLogs, size_of::<ResourceLogs>()),
            (M::ResourceLogs, 1) => Field::Message(M::Resource, None),
            (M::ResourceLogs, 2) => element(M::ScopeLogs, size_of::<ScopeLogs>()),
            (M::Resource, 1) | (M::Scope, 3) | (M::LogRecord, 6) | (M::KeyValueList, 1) => {
                element(M::KeyValue, size_of::<KeyValue>())
            }
            (M::Resource, 3) => element(M::EntityRef, size_of::<EntityRef>()),
            (M::ScopeLogs, 1) => Field::Message(M::Scope, None),
            (M::ScopeLogs, 2) => element(M::LogRecord, size_of::<LogRecord>()),
            (M::LogRecord, 5) | (M::KeyValue, 2) => Field::Message(M::AnyValue, None),
            (M::AnyValue, 5) => Field::Message(M::ArrayValue, None),
            (M::AnyValue, 6) => Field::Message(M::KeyValueList, None),
            (M::ArrayValue, 1) => element(M::AnyValue, size_of::<AnyValue>()),
            (M::EntityRef, 3 | 4) => Field::Bytes(size_of::<String>()),
            (M::ResourceLogs | M::ScopeLogs, 3)
            | (M::Scope | M::EntityRef, 1 | 2)
            | (M::LogRecord, 3 | 9 | 10 | 12)
            | (M::KeyValue, 1)
            | (M::AnyValue, 1 | 7) => Field::Bytes(0),
            _ => Field::Unknown,
        }
    }
}
