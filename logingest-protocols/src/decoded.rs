//! How much memory decoding a request will take, known before decoding it.
//!
//! A decoded request can be a hundred times the size of its body: an
//! empty OTLP log record is 2 bytes of protobuf (3 of JSON) and some 200
//! bytes of struct. The record parser meters the records it makes, but the
//! request they are made from is decoded first, so a body of 64 MiB of
//! empty elements would take gigabytes before any meter heard of it. The
//! bounds here read the body once, without allocating, and answer an upper
//! bound that the caller reserves before decoding.
//!
//! - Protobuf ([`protobuf_bytes`]): the wire format is walked with the
//!   request's [`Schema`] (which fields are messages, which are strings),
//!   counting each element of a repeated message field at three times its
//!   struct's size (a `Vec` that grows by doubling holds up to twice its
//!   elements, and while it moves the old block is live beside the new
//!   one), one more for the first (a `Vec`'s first block holds four), and
//!   each string or bytes field at its length (at least 8, a `Vec<u8>`'s
//!   first block). Unknown fields take no memory (prost skips them). What
//!   the walk cannot read (a malformed or truncated field, a group, nesting
//!   deeper than prost decodes) counts at the worst ratio for the rest of
//!   the body, whatever prost then makes of it.
//! - JSON ([`json_bytes`]): every object (counted outside strings) may
//!   become the largest struct, three times, and every array the first
//!   block of a `Vec` (or, where arrays are elements, as a Loki entry is,
//!   a struct too); every key and scalar a buffered node (serde buffers
//!   the values of a struct with a flattened field, as OTLP's `AnyValue`
//!   is, 32 bytes a value) or a map entry; strings at most their text.
//!
//! `tests/decode_memory.rs` checks the bounds against what decoding
//! allocates, under a counting allocator.

/// The messages of a protobuf request that hold other messages or strings.
pub(crate) trait Schema: Copy {
    /// What field `number` of this message holds, when it is
    /// length-delimited.
    fn field(self, number: u64) -> Field<Self>;
}

/// What a length-delimited field holds.
pub(crate) enum Field<M> {
    /// A message, with the size of its struct when it is an element of a
    /// repeated field (a singular one lives inside its parent).
    Message(M, Option<usize>),
    /// A string or bytes, or an element of a repeated string (the size of
    /// the element's struct, else 0).
    Bytes(usize),
    /// Text that decoding parses further, taking at most this many bytes
    /// a byte of it (Loki's labels: `a="",` is 5 bytes and a pair of
    /// `String`s in a growing `Vec`).
    Parsed(usize),
    /// Not in the schema: skipped by prost, allocates nothing.
    Unknown,
}

/// Prost's limit of nested messages.
const MAX_DEPTH: usize = 100;

/// An upper bound of the bytes that decoding `body`, a `root` message,
/// allocates; `largest` is the largest struct any of its messages decodes
/// into.
pub(crate) fn protobuf_bytes<M: Schema>(body: &[u8], root: M, largest: usize) -> usize {
    // An empty element (2 bytes) as four times the largest struct.
    let worst_per_byte = 2 * largest;
    let mut walk = Walk {
        bytes: 0,
        worst_per_byte,
    };
    if let Err(rest) = walk.message(body, root, 0) {
        walk.bytes += rest.saturating_mul(worst_per_byte);
    }
    walk.bytes
}

struct Walk {
    bytes: usize,
    /// Bytes of memory a byte of protobuf can decode into at most.
    worst_per_byte: usize,
}

impl Walk {
    /// Walks the fields of one message. `Err` carries the number of bytes
    /// from where the walk could not go on to the end of `body`.
    fn message<M: Schema>(&mut self, body: &[u8], message: M, depth: usize) -> Result<(), usize> {
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
                                self.bytes += value.len().saturating_mul(self.worst_per_byte);
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
                        Field::Parsed(per_byte) => {
                            self.bytes += value.len().saturating_mul(per_byte);
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

/// What one JSON body's values may decode into, per kind of value.
pub(crate) struct JsonWeights {
    /// An object (a struct, or a map's first block).
    pub object: usize,
    /// An array (a `Vec`'s first block, or a struct where arrays are
    /// elements, as Loki entries are).
    pub array: usize,
    /// Any other value, and every key: serde buffers the values of a
    /// struct with a flattened field (OTLP's `AnyValue`) as 32-byte nodes
    /// in `Vec`s that grow by doubling, and maps hold a string pair per key.
    pub token: usize,
}

/// An upper bound of the bytes that decoding the JSON `body` allocates:
/// the text, plus what `weights` says for each object, array, key and
/// scalar (counted outside strings).
pub(crate) fn json_bytes(body: &[u8], weights: &JsonWeights) -> usize {
    let (mut objects, mut arrays, mut tokens) = (0usize, 0usize, 0usize);
    let (mut in_string, mut escaped, mut in_scalar) = (false, false, false);
    for &byte in body {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        let scalar = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'+' | b'.');
        if scalar && !in_scalar {
            tokens += 1;
        }
        in_scalar = scalar;
        match byte {
            b'"' => {
                in_string = true;
                tokens += 1;
            }
            b'{' => objects += 1,
            b'[' => arrays += 1,
            _ => {}
        }
    }
    body.len()
        .saturating_add(objects.saturating_mul(weights.object))
        .saturating_add(arrays.saturating_mul(weights.array))
        .saturating_add(tokens.saturating_mul(weights.token))
}
