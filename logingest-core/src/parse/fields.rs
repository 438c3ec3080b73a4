//! Second pass: one record's JSON → [`Record`], checking the field rules.
//!
//! A single serde walk over the record text checks the rules of
//! `docs/records.md` (the record is an object, `message` is a required
//! string, `timestamp` an RFC 3339 string, the known keyword fields strings,
//! `metadata` an object, no duplicate keys, nesting within the limit) and
//! flattens every other leaf into `(dotted path, text)` pairs. The walk is
//! written with serde visitors rather than via `serde_json::Value` so that
//! duplicate keys are caught (a `Value` silently keeps the last one, which
//! would make the stored record and the indexed one disagree).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};

use super::Limits;
use crate::number::Number;
use crate::record::{fields, Record};
use crate::timestamp::Timestamp;

/// A field rule a record breaks, located within the record's text.
pub(super) struct Problem {
    /// Byte offset in the record's text: the offending value's last byte
    /// (where the walk noticed), or 0 for a rule about the whole record.
    pub offset: usize,
    /// Dotted path of the field, if the problem is in one.
    pub field: Option<String>,
    pub reason: String,
}

/// Parses the text of one record that the first pass found syntactically valid.
pub(super) fn record(
    text: &str,
    receive_time: Timestamp,
    limits: &Limits,
) -> Result<Record, Problem> {
    let mut walk = Walk {
        limits,
        path: String::new(),
        keywords: Vec::new(),
        numbers: Vec::new(),
        indexed: Indexed::default(),
        message: None,
        timestamp: None,
        problem: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let outcome = (&mut de).deserialize_any(TopVisitor { walk: &mut walk });
    if let Err(e) = outcome {
        let offset = super::frame::error_offset(text, &e);
        let (field, reason) = match walk.problem.take() {
            Some(broken) => broken,
            // Not a rule of ours but one of serde_json's while reading a
            // value (a number out of range, a lone surrogate): in the field
            // being read.
            None => (
                Some(walk.path.clone()).filter(|p| !p.is_empty()),
                super::frame::reason(&e),
            ),
        };
        return Err(Problem {
            offset,
            field,
            reason,
        });
    }
    let Some(message) = walk.message else {
        return Err(Problem {
            offset: 0,
            field: Some(fields::MESSAGE.to_owned()),
            reason: "required field is missing".to_owned(),
        });
    };
    let (timestamp, source) = match walk.timestamp {
        Some(t) => (t, text.to_owned()),
        None => (receive_time, with_timestamp(text, receive_time)),
    };
    Ok(Record::from_parts(source, timestamp, message, walk.keywords).with_numbers(walk.numbers))
}

/// Inserts `"timestamp": receive_time` as the first member of an object's text.
pub(super) fn with_timestamp(text: &str, t: Timestamp) -> String {
    let rest = text.strip_prefix('{').expect("a record is an object");
    let sep = if rest.trim_start().starts_with('}') {
        ""
    } else {
        ","
    };
    format!(
        "{{\"{}\":\"{}\"{sep}{rest}",
        fields::TIMESTAMP,
        t.to_rfc3339()
    )
}

/// State of the walk over one record.
struct Walk<'l> {
    limits: &'l Limits,
    /// Dotted path of the value being visited.
    path: String,
    keywords: Vec<(String, String)>,
    /// The keyword values that were JSON numbers (index in `keywords`).
    numbers: Vec<(usize, Number)>,
    indexed: Indexed,
    message: Option<String>,
    timestamp: Option<Timestamp>,
    /// The first rule broken: (field path, reason). Set before aborting serde.
    problem: Option<(Option<String>, String)>,
}

impl Walk<'_> {
    /// Records a problem and returns the error that aborts the serde walk.
    fn fail<E: de::Error>(&mut self, field: Option<String>, reason: String) -> E {
        if self.problem.is_none() {
            self.problem = Some((field, reason));
        }
        E::custom("invalid record")
    }

    fn field(&self) -> Option<String> {
        Some(self.path.clone())
    }

    /// Adds a keyword value, refusing one longer than a searchable term may be.
    fn push_keyword<E: de::Error>(&mut self, path: String, value: String) -> Result<(), E> {
        if value.len() > self.limits.max_term_bytes {
            let reason = term_too_long("a value of", value.len(), self.limits.max_term_bytes);
            return Err(self.fail(Some(path), reason));
        }
        if let Err(reason) = self.indexed.add(path.len(), value.len(), self.limits) {
            return Err(self.fail(Some(path), reason));
        }
        self.keywords.push((path, value));
        Ok(())
    }
}

/// The byte length of the first token of `message` (lowercased, as indexed)
/// longer than `limit`, if any.
pub(super) fn longest_token(message: &str, limit: usize) -> Option<usize> {
    // Fast path: no token can exceed the limit if the whole text is shorter,
    // even after lowercasing (at most 3 bytes out per byte in).
    if message.len().saturating_mul(3) <= limit {
        return None;
    }
    message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|run| run.len() * 3 > limit)
        .map(|run| {
            run.chars()
                .flat_map(char::to_lowercase)
                .map(char::len_utf8)
                .sum()
        })
        .find(|&len| len > limit)
}

pub(super) fn term_too_long(what: &str, len: usize, limit: usize) -> String {
    format!(
        "{what} {len} bytes is longer than a searchable term may be ({limit} bytes); split it or move it to a field that is not indexed"
    )
}

/// Bytes a record's keyword fields take to index so far (each value with
/// its dotted path), held to [`Limits::indexed_bytes_limit`] as each one is
/// added, before a path is copied for it.
#[derive(Debug, Default)]
pub(super) struct Indexed(usize);

impl Indexed {
    /// Counts a value of `value` bytes at a path of `path` bytes: the
    /// reason to refuse the record once the total passes the limit.
    pub(super) fn add(&mut self, path: usize, value: usize, limits: &Limits) -> Result<(), String> {
        self.0 = self.0.saturating_add(path).saturating_add(value);
        let limit = limits.indexed_bytes_limit();
        if self.0 > limit {
            return Err(format!(
                "the record's keyword fields take more than {limit} bytes to index (each value with its dotted path, which an array repeats for every element)"
            ));
        }
        Ok(())
    }
}

/// The keys of one object, to find duplicates: a list while it is short
/// (most objects have a handful of keys, and comparing a few strings beats
/// hashing them), a hash set beyond, so an object with 100,000 keys costs
/// linear time, not quadratic.
#[derive(Default)]
struct Keys {
    few: Vec<String>,
    many: std::collections::HashSet<String>,
}

/// Keys kept in the list before switching to the set.
const FEW_KEYS: usize = 16;

impl Keys {
    /// Adds `key`; false if it was already there.
    fn insert(&mut self, key: &str) -> bool {
        if self.many.is_empty() {
            if self.few.iter().any(|k| k == key) {
                return false;
            }
            if self.few.len() < FEW_KEYS {
                self.few.push(key.to_owned());
                return true;
            }
            self.many.extend(self.few.drain(..));
        }
        self.many.insert(key.to_owned())
    }
}

/// Reads a key and checks it is new and non-empty; `walk.path` is the object's path.
fn next_key<'de, A: MapAccess<'de>>(
    map: &mut A,
    walk: &mut Walk<'_>,
    keys: &mut Keys,
) -> Result<Option<String>, A::Error> {
    let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? else {
        return Ok(None);
    };
    let full = join(&walk.path, &key);
    if key.is_empty() {
        return Err(walk.fail(Some(full), "empty field name".to_owned()));
    }
    if !keys.insert(&key) {
        return Err(walk.fail(Some(full), "duplicate field".to_owned()));
    }
    Ok(Some(key.into_owned()))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The record itself: must be an object; dispatches its members by name.
struct TopVisitor<'w, 'l> {
    walk: &'w mut Walk<'l>,
}

impl<'de> Visitor<'de> for TopVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let walk = self.walk;
        let mut keys = Keys::default();
        loop {
            walk.path.clear();
            let Some(key) = next_key(&mut map, walk, &mut keys)? else {
                break;
            };
            walk.path.push_str(&key);
            match key.as_str() {
                fields::MESSAGE => {
                    let text = map.next_value_seed(StringSeed {
                        walk: &mut *walk,
                        what: "a string",
                    })?;
                    if let Some(len) = longest_token(&text, walk.limits.max_term_bytes) {
                        let reason = term_too_long("a token of", len, walk.limits.max_term_bytes);
                        return Err(walk.fail(walk.field(), reason));
                    }
                    walk.message = Some(text);
                }
                fields::TIMESTAMP => {
                    let what = "an RFC 3339 string such as \"2023-09-15T08:00:00Z\"";
                    let text = map.next_value_seed(StringSeed {
                        walk: &mut *walk,
                        what,
                    })?;
                    match Timestamp::parse_rfc3339(&text) {
                        Ok(t) => walk.timestamp = Some(t),
                        Err(reason) => return Err(walk.fail(walk.field(), reason.to_string())),
                    }
                }
                k if fields::STRING_KEYWORDS.contains(&k) => {
                    let text = map.next_value_seed(StringSeed {
                        walk: &mut *walk,
                        what: "a string",
                    })?;
                    walk.push_keyword::<A::Error>(key, text)?;
                }
                fields::METADATA => map.next_value_seed(LeafSeed {
                    walk: &mut *walk,
                    depth: 2,
                    object_only: true,
                })?,
                _ => map.next_value_seed(LeafSeed {
                    walk: &mut *walk,
                    depth: 2,
                    object_only: false,
                })?,
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found an array".to_owned()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found a string".to_owned()))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found a number".to_owned()))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found a number".to_owned()))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found a number".to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found a boolean".to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(self
            .walk
            .fail(None, "expected a JSON object, found null".to_owned()))
    }
}

/// A member that must be a string; anything else is a typed error.
struct StringSeed<'w, 'l> {
    walk: &'w mut Walk<'l>,
    what: &'static str,
}

impl<'de> DeserializeSeed<'de> for StringSeed<'_, '_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringSeed<'_, '_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.wrong("an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(self.wrong("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(self.wrong("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(self.wrong("a number"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(self.wrong("a boolean"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(self.wrong("null"))
    }
}

impl StringSeed<'_, '_> {
    fn wrong<E: de::Error>(self, found: &str) -> E {
        let reason = format!("expected {}, found {found}", self.what);
        self.walk.fail(self.walk.field(), reason)
    }
}

/// Any other member: flattened into keyword fields under the current path.
struct LeafSeed<'w, 'l> {
    walk: &'w mut Walk<'l>,
    /// Nesting depth of the value (the record object is depth 1).
    depth: usize,
    /// Only an object (or null) is allowed here (`metadata`).
    object_only: bool,
}

impl<'de> DeserializeSeed<'de> for LeafSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl LeafSeed<'_, '_> {
    fn push<E: de::Error>(self, text: String, kind: &str) -> Result<(), E> {
        if self.object_only {
            let reason = format!("expected an object, found {kind}");
            return Err(self.walk.fail(self.walk.field(), reason));
        }
        let path = self.walk.path.clone();
        self.walk.push_keyword(path, text)
    }

    /// A JSON number: its text as a keyword value, and the number.
    fn push_number<E: de::Error>(self, text: String, value: f64) -> Result<(), E> {
        if self.object_only {
            return self.push(text, "a number");
        }
        let walk = self.walk;
        let path = walk.path.clone();
        walk.push_keyword(path, text)?;
        // serde_json reads only finite numbers (it refuses `1e400`).
        if let Some(n) = Number::new(value) {
            walk.numbers.push((walk.keywords.len() - 1, n));
        }
        Ok(())
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        if self.depth > self.walk.limits.max_depth {
            let reason = format!(
                "nested deeper than the limit of {}",
                self.walk.limits.max_depth
            );
            return Err(self.walk.fail(self.walk.field(), reason));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for LeafSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.push(v.to_owned(), "a string")
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<(), E> {
        self.push(v, "a string")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.push_number(v.to_string(), v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.push_number(v.to_string(), v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        // serde_json prints finite floats this way; JSON has no others.
        let text = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
        self.push_number(text, v)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.push(v.to_string(), "a boolean")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if self.object_only {
            let reason = "expected an object, found null".to_owned();
            return Err(self.walk.fail(self.walk.field(), reason));
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        if self.object_only {
            let reason = "expected an object, found an array".to_owned();
            return Err(self.walk.fail(self.walk.field(), reason));
        }
        self.enter()?;
        let depth = self.depth + 1;
        while seq
            .next_element_seed(LeafSeed {
                walk: &mut *self.walk,
                depth,
                object_only: false,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.enter()?;
        let walk = self.walk;
        let prefix_len = walk.path.len();
        let mut keys = Keys::default();
        while let Some(key) = next_key(&mut map, walk, &mut keys)? {
            walk.path.push('.');
            walk.path.push_str(&key);
            let depth = self.depth + 1;
            map.next_value_seed(LeafSeed {
                walk: &mut *walk,
                depth,
                object_only: false,
            })?;
            walk.path.truncate(prefix_len);
        }
        Ok(())
    }
}
