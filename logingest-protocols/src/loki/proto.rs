//! The Loki push API's protobuf messages, as Loki's `push.proto` defines
//! them (`logproto.PushRequest`; the timestamp is a
//! `google.protobuf.Timestamp`), for prost. Public so that a program can
//! build a request as Promtail and Alloy do; the body they send is this
//! message snappy-compressed (block format).

use std::mem::size_of;

use crate::decoded::{Field, Schema};

/// A push: streams of entries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    /// The streams.
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

/// One stream: its labels and entries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// The labels in Prometheus' text form: `{app="api", level="info"}`.
    #[prost(string, tag = "1")]
    pub labels: String,
    /// The entries, each a line.
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    /// A hash of the labels, which Loki's clients may send; not read.
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

/// One log line.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    /// When it happened.
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// The line.
    #[prost(string, tag = "2")]
    pub line: String,
    /// Structured metadata: name-value pairs of this line alone.
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

/// A name and a value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    /// The name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 to 999,999,999.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// The messages of a push that hold other messages or strings, for the
/// decoded-size bound.
#[derive(Clone, Copy)]
pub(super) enum Message {
    Push,
    Stream,
    Entry,
    Pair,
}

impl Schema for Message {
    fn field(self, number: u64) -> Field<Message> {
        use Message as M;
        match (self, number) {
            (M::Push, 1) => Field::Message(M::Stream, Some(size_of::<StreamAdapter>())),
            (M::Stream, 2) => Field::Message(M::Entry, Some(size_of::<EntryAdapter>())),
            (M::Entry, 3) => Field::Message(M::Pair, Some(size_of::<LabelPairAdapter>())),
            // The labels are parsed into name-value pairs: `a="",` is 5
            // bytes, a pair of `String`s in a growing `Vec` (three times),
            // and the name's own block.
            (M::Stream, 1) => Field::Parsed((3 * size_of::<(String, String)>() + 8) / 5 + 1),
            (M::Entry, 2) | (M::Pair, 1 | 2) => Field::Bytes(0),
            _ => Field::Unknown,
        }
    }
}

/// The largest struct of a push.
pub(super) fn largest_struct() -> usize {
    [
        size_of::<StreamAdapter>(),
        size_of::<EntryAdapter>(),
        size_of::<LabelPairAdapter>(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}
