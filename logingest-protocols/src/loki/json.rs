//! The JSON form of a push:
//! `{"streams":[{"stream":{"app":"api"},"values":[["<ns>","line",{"trace_id":"..."}]]}]}`.
//! An entry's time is a string of nanoseconds since the epoch (a number is
//! taken too); the third element, structured metadata, is optional.

use std::collections::BTreeMap;
use std::fmt;
use std::mem::size_of;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Entry, Stream};
use crate::ProtocolError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Push {
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
struct JsonStream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    values: Vec<JsonEntry>,
}

struct JsonEntry(Entry);

/// The largest struct a JSON push decodes into.
pub(super) fn largest_struct() -> usize {
    [
        size_of::<JsonStream>(),
        size_of::<JsonEntry>(),
        size_of::<(String, String)>(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
}

pub(super) fn decode(raw: &[u8]) -> Result<Vec<Stream>, ProtocolError> {
    let push: Push =
        serde_json::from_slice(raw).map_err(|e| ProtocolError::json(&e, "a Loki push"))?;
    Ok(push
        .streams
        .into_iter()
        .map(|stream| Stream {
            labels: stream.stream.into_iter().collect(),
            entries: stream.values.into_iter().map(|JsonEntry(e)| e).collect(),
        })
        .collect())
}

impl<'de> Deserialize<'de> for JsonEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = JsonEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an entry: [\"<nanoseconds>\", \"<line>\"] or with structured metadata third")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonEntry, A::Error> {
        let time: Time = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let line: String = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let metadata: Option<BTreeMap<String, String>> = seq.next_element()?;
        if seq.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(4, &self));
        }
        Ok(JsonEntry(Entry {
            time: Some(time.0),
            line,
            metadata: metadata.unwrap_or_default().into_iter().collect(),
        }))
    }
}

/// Nanoseconds since the epoch, as a string of digits or a number.
struct Time(i64);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimeVisitor)
    }
}

struct TimeVisitor;

impl Visitor<'_> for TimeVisitor {
    type Value = Time;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("nanoseconds since the epoch, as a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Time, E> {
        text.parse::<i64>().map(Time).map_err(|_| {
            E::custom(format!(
                "entry time `{text}` is not nanoseconds since the epoch (1677 to 2262)"
            ))
        })
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Time, E> {
        i64::try_from(n)
            .map(Time)
            .map_err(|_| E::custom(format!("entry time {n} is after 2262")))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Time, E> {
        Ok(Time(n))
    }
}
