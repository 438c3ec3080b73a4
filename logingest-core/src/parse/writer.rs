//! Records written member by member: the JSON text the store keeps and the
//! parts a backend indexes, made in one pass.
//!
//! Why: a protocol that is not our JSON (syslog) used to write each record
//! as JSON text and hand the text to the parser, which read it all again
//! (for a syslog record, about half of its decoding time). [`RecordWriter`]
//! makes the same [`Record`] the parser would make of the text it writes,
//! applying the same rules (`docs/records.md`) and limits, with the same
//! reasons (a record that breaks several: the parser names its size first,
//! the writer the first rule it meets in writing order, its size last):
//! `message` a string without over-long tokens, `timestamp` an RFC 3339
//! time, the known keyword fields strings, `metadata` an object, no empty
//! or duplicate keys, nesting within the limit, each keyword value a
//! searchable term, the keyword fields within what a record may index,
//! the whole within the record size. The tests
//! hold it to that: whatever is written, the parser reading the record's
//! text accepts it and makes an equal record, or refuses what the writer
//! refused.
//!
//! Values are strings (and arrays of strings): a source that has numbers
//! or booleans writes JSON and uses the parser.

use std::collections::HashSet;
use std::ops::Range;

use super::fields::{longest_token, term_too_long, with_timestamp, Indexed};
use super::Limits;
use crate::record::{fields, Record};
use crate::timestamp::Timestamp;

/// A rule a written record breaks: the field (dotted path) and why, in the
/// parser's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.as_ref().map(|f| format!("field `{f}` ")).unwrap_or_default())]
pub struct FieldError {
    /// Dotted path of the field, if the rule is about one.
    pub field: Option<String>,
    /// What is wrong, as the parser says it.
    pub reason: String,
}

/// Writes one record's members in order; [`RecordWriter::finish`] gives
/// the record. After the first broken rule nothing more is written and
/// `finish` returns that rule.
#[derive(Debug)]
pub struct RecordWriter<'l> {
    limits: &'l Limits,
    /// The JSON text so far (UTF-8: only `str`s and JSON punctuation are
    /// written into it).
    source: Vec<u8>,
    message: Option<String>,
    timestamp: Option<Timestamp>,
    keywords: Vec<(String, String)>,
    indexed: Indexed,
    /// Dotted path of the innermost open object (empty: the record).
    path: String,
    /// The open objects, the record first.
    open: Vec<Object>,
    problem: Option<FieldError>,
}

/// An open object: where its path ended before it, and its keys so far.
#[derive(Debug, Default)]
struct Object {
    path_len: usize,
    keys: Keys,
}

/// The keys of one object, to refuse a duplicate as the parser does: spans
/// of their (escaped) text in the source while there are few, a set of
/// them beyond, so that many keys cost linear time.
#[derive(Debug, Default)]
struct Keys {
    few: Vec<Range<usize>>,
    many: HashSet<Vec<u8>>,
}

/// Keys kept as spans before switching to the set (as the parser does).
const FEW_KEYS: usize = 16;

impl Keys {
    /// Adds the key at `span` of `source`; false if it was there already.
    fn insert(&mut self, source: &[u8], span: Range<usize>) -> bool {
        let key = &source[span.clone()];
        if self.many.is_empty() {
            if self.few.iter().any(|s| &source[s.clone()] == key) {
                return false;
            }
            if self.few.len() < FEW_KEYS {
                self.few.push(span);
                return true;
            }
            let few = std::mem::take(&mut self.few);
            self.many
                .extend(few.into_iter().map(|s| source[s].to_vec()));
        }
        self.many.insert(key.to_vec())
    }
}

/// What a member of the record (top level) must be, by its name.
enum Member {
    Message,
    Timestamp,
    StringKeyword,
    Metadata,
    Other,
}

impl Member {
    fn of(key: &str) -> Member {
        match key {
            fields::MESSAGE => Member::Message,
            fields::TIMESTAMP => Member::Timestamp,
            fields::METADATA => Member::Metadata,
            k if fields::STRING_KEYWORDS.contains(&k) => Member::StringKeyword,
            _ => Member::Other,
        }
    }
}

/// A value that nests: an array or an object.
#[derive(Clone, Copy)]
enum Container {
    Array,
    Object,
}

const RFC3339: &str = "an RFC 3339 string such as \"2023-09-15T08:00:00Z\"";

impl<'l> RecordWriter<'l> {
    /// An empty record, to be written within `limits`.
    pub fn new(limits: &'l Limits) -> Self {
        RecordWriter::with_capacity(limits, 64)
    }

    /// [`RecordWriter::new`], with room for `bytes` of text before the
    /// text grows.
    pub fn with_capacity(limits: &'l Limits, bytes: usize) -> Self {
        let mut source = Vec::with_capacity(bytes.max(2));
        source.push(b'{');
        RecordWriter {
            limits,
            source,
            message: None,
            timestamp: None,
            keywords: Vec::new(),
            indexed: Indexed::default(),
            path: String::new(),
            open: vec![Object::default()],
            problem: None,
        }
    }

    /// Writes the record's `timestamp` (as RFC 3339 text).
    pub fn timestamp(&mut self, time: Timestamp) {
        let text = time.to_rfc3339();
        if self.open.len() > 1 {
            // Not the record's: a string like any other.
            return self.string(fields::TIMESTAMP, &text);
        }
        if self.key(fields::TIMESTAMP) {
            // The text is `time`'s own: no need to read it back.
            self.timestamp = Some(time);
            escaped(&mut self.source, &text);
        }
    }

    /// Writes `"key": "value"` in the innermost open object. At the top
    /// level, `message` and `timestamp` are the record's; every other
    /// string is a keyword value at its dotted path.
    pub fn string(&mut self, key: &str, value: &str) {
        if !self.key(key) {
            return;
        }
        if self.open.len() == 1 {
            match Member::of(key) {
                Member::Message => {
                    if let Some(len) = longest_token(value, self.limits.max_term_bytes) {
                        let reason = term_too_long("a token of", len, self.limits.max_term_bytes);
                        return self.fail_here(key, reason);
                    }
                    self.message = Some(value.to_owned());
                }
                Member::Timestamp => match Timestamp::parse_rfc3339(value) {
                    Ok(time) => self.timestamp = Some(time),
                    Err(e) => return self.fail_here(key, e.to_string()),
                },
                Member::Metadata => {
                    return self.fail_here(key, "expected an object, found a string".to_owned())
                }
                Member::StringKeyword | Member::Other => {
                    if !self.keyword(key, value) {
                        return;
                    }
                }
            }
        } else if !self.keyword(key, value) {
            return;
        }
        escaped(&mut self.source, value);
    }

    /// Writes `"key": ["value", ...]`: each value a keyword at the key's
    /// path (an array is one more level of nesting).
    pub fn strings<S: AsRef<str>>(&mut self, key: &str, values: &[S]) {
        if !self.container(key, Container::Array) {
            return;
        }
        self.source.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.source.push(b',');
            }
            if !self.keyword(key, value.as_ref()) {
                return;
            }
            escaped(&mut self.source, value.as_ref());
        }
        self.source.push(b']');
    }

    /// Opens the object `"key": {`: members written next go into it, until
    /// [`RecordWriter::end`].
    pub fn object(&mut self, key: &str) {
        if !self.container(key, Container::Object) {
            return;
        }
        self.source.push(b'{');
        let path_len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        self.open.push(Object {
            path_len,
            keys: Keys::default(),
        });
    }

    /// Closes the innermost object opened by [`RecordWriter::object`].
    pub fn end(&mut self) {
        if self.problem.is_some() || self.open.len() < 2 {
            return;
        }
        if let Some(object) = self.open.pop() {
            self.path.truncate(object.path_len);
            self.source.push(b'}');
        }
    }

    /// The record, or the first rule broken. Objects still open are
    /// closed; a record without `timestamp` gets `receive_time`, inserted
    /// first, as the parser does.
    pub fn finish(mut self, receive_time: Timestamp) -> Result<Record, FieldError> {
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        // Objects still open are closed.
        let open = self.open.len() - 1;
        self.source.extend(std::iter::repeat_n(b'}', open));
        self.source.push(b'}');
        let limit = self.limits.max_record_bytes;
        if self.source.len() > limit {
            return Err(FieldError {
                field: None,
                reason: format!(
                    "record is {} bytes, the limit is {limit}",
                    self.source.len()
                ),
            });
        }
        let Some(message) = self.message else {
            return Err(FieldError {
                field: Some(fields::MESSAGE.to_owned()),
                reason: "required field is missing".to_owned(),
            });
        };
        // Only `str`s and JSON punctuation were written.
        let source = String::from_utf8(self.source).expect("the record's text is UTF-8");
        let (timestamp, source) = match self.timestamp {
            Some(time) => (time, source),
            None => (receive_time, with_timestamp(&source, receive_time)),
        };
        Ok(Record::from_parts(
            source,
            timestamp,
            message,
            self.keywords,
        ))
    }

    /// Writes `"key":` into the innermost object; false (and nothing
    /// written) after a broken rule, or for an empty or repeated key.
    fn key(&mut self, key: &str) -> bool {
        if self.problem.is_some() {
            return false;
        }
        if key.is_empty() {
            self.fail_here(key, "empty field name".to_owned());
            return false;
        }
        let object = self.open.last_mut().expect("the record is open");
        let comma = !object.keys.few.is_empty() || !object.keys.many.is_empty();
        if comma {
            self.source.push(b',');
        }
        let start = self.source.len();
        escaped(&mut self.source, key);
        let span = start..self.source.len();
        let object = self.open.last_mut().expect("the record is open");
        if !object.keys.insert(&self.source, span) {
            self.fail_here(key, "duplicate field".to_owned());
            return false;
        }
        self.source.push(b':');
        true
    }

    /// Writes `"key":` for an array or object value: false (nothing more
    /// to write) when a top-level member of that name must be something
    /// else, or the value would nest too deep.
    fn container(&mut self, key: &str, container: Container) -> bool {
        if !self.key(key) {
            return false;
        }
        if self.open.len() == 1 {
            let what = match (Member::of(key), container) {
                (Member::Message | Member::StringKeyword, _) => Some("a string"),
                (Member::Timestamp, _) => Some(RFC3339),
                (Member::Metadata, Container::Array) => Some("an object"),
                (Member::Metadata, Container::Object) | (Member::Other, _) => None,
            };
            if let Some(what) = what {
                let found = match container {
                    Container::Array => "an array",
                    Container::Object => "an object",
                };
                self.fail_here(key, format!("expected {what}, found {found}"));
                return false;
            }
        }
        self.nest(key)
    }

    /// Checks one more level of nesting (an object or array as the value
    /// of `key`) is within the depth limit.
    fn nest(&mut self, key: &str) -> bool {
        // The record is depth 1; a member's value is one deeper than its object.
        let depth = self.open.len() + 1;
        if depth > self.limits.max_depth {
            let reason = format!("nested deeper than the limit of {}", self.limits.max_depth);
            self.fail_here(key, reason);
            return false;
        }
        true
    }

    /// Adds a keyword value at `key`'s path, if it can be a term.
    fn keyword(&mut self, key: &str, value: &str) -> bool {
        if value.len() > self.limits.max_term_bytes {
            let reason = term_too_long("a value of", value.len(), self.limits.max_term_bytes);
            self.fail_here(key, reason);
            return false;
        }
        let path_len = match self.path.len() {
            0 => key.len(),
            len => len + 1 + key.len(),
        };
        if let Err(reason) = self.indexed.add(path_len, value.len(), self.limits) {
            self.fail_here(key, reason);
            return false;
        }
        let path = self.path_of(key);
        self.keywords.push((path, value.to_owned()));
        true
    }

    fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            let mut path = String::with_capacity(self.path.len() + 1 + key.len());
            path.push_str(&self.path);
            path.push('.');
            path.push_str(key);
            path
        }
    }

    fn fail_here(&mut self, key: &str, reason: String) {
        if self.problem.is_none() {
            self.problem = Some(FieldError {
                field: Some(self.path_of(key)),
                reason,
            });
        }
    }
}

/// `text` as a JSON string, escaped as `serde_json` escapes it.
fn escaped(out: &mut Vec<u8>, text: &str) {
    // Writing into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, text);
}

#[cfg(test)]
mod tests;
