//! How much memory decoding a request will take, known before decoding it.
//!
//! A decoded `ExportLogsServiceRequest` can be a hundred times the size of
//! its body: an empty log record is 2 bytes of protobuf (3 of JSON) and
//! some 200 bytes of struct. The record parser meters the records it makes,
//! but the request they are made from is decoded first, so a body of 64 MiB
//! of empty elements would take gigabytes before any meter heard of it.
//! [`decoded_bytes`] reads the body once, without allocating, and answers
//! an upper bound that the caller reserves before decoding.
//!
//! - Protobuf: the wire format is walked with the OTLP logs schema (which
//!   fields are messages, which are strings), counting each element of a
//!   repeated message field at three times its struct's size (a `Vec` that
//!   grows by doubling holds up to twice its elements, and while it moves
//!   the old block is live beside the new one), one more for the first
//!   (a `Vec`'s first block holds four), and each string or bytes field at
//!   its length (at least 8, a `Vec<u8>`'s first block). Unknown
//!   fields take no memory (prost skips them). What the walk cannot read
//!   (a malformed or truncated field, a group, nesting deeper than prost
//!   decodes) counts at the worst ratio for the rest of the body, whatever
//!   prost then makes of it.
//! - JSON: every object (counted outside strings) may become the largest
//!   struct, three times, and every array the first block of a `Vec`;
//!   strings at most their text.
//!
//! `tests/decode_memory.rs` checks the bounds against what decoding
//! allocates, under a counting allocator.

use std::mem::size_of;

use opentelemetry_proto::tonic::common::v1::{AnyValue, EntityRef, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};

use super::Encoding;

/// An upper bound of the bytes that decoding `body` allocates.
pub fn decoded_bytes(body: &[u8], encoding: Encoding) -> usize {
    match encoding {
        Encoding::Protobuf => {
            let mut walk = Walk { bytes: 0 };
            if let Err(rest) = walk.message(body, Message::Request, 0) {
                walk.bytes += rest.saturating_mul(worst_per_byte());
            }
            walk.bytes
        }
        Encoding::Json => json_bytes(body),
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

/// Bytes of memory a byte of protobuf can decode into at most: an empty
/// element (2 bytes) as four times the largest struct.
fn worst_per_byte() -> usize {
    2 * largest_struct()
}

/// Prost's limit of nested messages.
const MAX_DEPTH: usize = 100;

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

/// What a length-delimited field holds.
enum Field {
    /// A message, with the size of its struct when it is an element of a
    /// repeated field (a singular one lives inside its parent).
    Message(Message, Option<usize>),
    /// A string or bytes (its length), or an element of a repeated string.
    Bytes(usize),
    /// Not in the schema: skipped by prost, allocates nothing.
    Unknown,
}

impl Message {
    fn field(self, number: u64) -> Field {
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

struct Walk {
    bytes: usize,
}

impl Walk {
    /// Walks the fields of one message. `Err` carries the number of bytes
    /// from where the walk could not go on to the end of `body`.
    fn message(&mut self, body: &[u8], message: Message, depth: usize) -> Result<(), usize> {
        let mut at = 0;
        // The repeated fields that have an element already, by number (the
        // schema's are all below 64).
        let mut started = 0u64;
        while at < body.len() {
            let fail = |at: usize| Err(body.len() - at);
            let Some((tag, next)) = varint(body, at) else {
                return fail(at);
            };
            let (number, wire_type) = (tag >> 3, tag & 7);
            at = next;
            match wire_type {
                0 => match varint(body, at) {
                    Some((_, next)) => at = next,
                    None => return fail(at),
                },
                1 => at += 8,
                5 => at += 4,
                2 => {
                    let Some((len, next)) = varint(body, at) else {
                        return fail(at);
                    };
                    let end = usize::try_from(len)
                        .ok()
                        .and_then(|len| next.checked_add(len))
                        .filter(|end| *end <= body.len());
                    let Some(end) = end else {
                        return fail(at);
                    };
                    let value = &body[next..end];
                    match message.field(number) {
                        Field::Message(inner, element) => {
                            if let Some(size) = element {
                                let first = number < 64 && started & (1 << number) == 0;
                                started |= 1 << (number % 64);
                                self.bytes += size * if first { 4 } else { 3 };
                            }
                            if depth + 1 >= MAX_DEPTH {
                                self.bytes += value.len().saturating_mul(worst_per_byte());
                            } else if let Err(rest) = self.message(value, inner, depth + 1) {
                                // Count what follows the broken field too.
                                return Err(rest + (body.len() - end));
                            }
                        }
                        Field::Bytes(element) => {
                            // A `Vec<u8>`'s first block holds at least 8.
                            let text = if value.is_empty() {
                                0
                            } else {
                                value.len().max(8)
                            };
                            self.bytes += text + 3 * element;
                        }
                        Field::Unknown => {}
                    }
                    at = end;
                }
                // Groups (3, 4) and the undefined types 6 and 7.
                _ => return fail(at),
            }
        }
        if at > body.len() {
            // A fixed-size value ran past the end.
            return Err(0);
        }
        Ok(())
    }
}

/// The varint at `at`, and where it ends.
fn varint(body: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, byte) in body.get(at..)?.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, at + i + 1));
        }
    }
    None
}

/// JSON: the text, plus three times the largest struct for each object
/// and once more for each array (the first block of its `Vec`).
fn json_bytes(body: &[u8]) -> usize {
    let (mut objects, mut arrays) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match byte {
                b'"' => in_string = true,
                b'{' => objects += 1,
                b'[' => arrays += 1,
                _ => {}
            }
        }
    }
    let largest = largest_struct();
    body.len()
        .saturating_add(objects.saturating_mul(3 * largest))
        .saturating_add(arrays.saturating_mul(largest))
}
