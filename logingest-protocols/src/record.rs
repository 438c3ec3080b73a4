//! Records of one request, written as the JSON text the store keeps, then
//! parsed by the record parser (which applies every limit), with its errors
//! mapped back to where each record came from in the request.

use logingest_core::{
    parse_records_metered, Error, Format, Limits, ParseOptions, Record, RecordError,
};
use serde_json::Value;

use crate::ProtocolError;

/// The records of one request, one JSON object a line, each with where in
/// the request it came from.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    text: String,
    locations: Vec<String>,
    /// Where the last record's text starts.
    last_start: usize,
    /// Bytes of `text`'s allocation the meter was told about.
    metered: usize,
}

/// One record being written: its members in the order they are added.
pub(crate) struct RecordText<'a> {
    text: &'a mut String,
    empty: bool,
}

impl Batch {
    /// Starts a record that came from `location` of the request.
    pub fn record(&mut self, location: String) -> RecordText<'_> {
        self.locations.push(location);
        self.last_start = self.text.len();
        self.text.push('{');
        RecordText {
            text: &mut self.text,
            empty: true,
        }
    }

    /// Checks the record just written, as it is written: its text within
    /// the record size limit, and its allocation told to `meter`.
    ///
    /// A protocol can make a large text of a small request (the attributes
    /// of a resource are written into each of its records), so waiting for
    /// [`Batch::parse`] to apply the limits would let a request of a few
    /// kilobytes take gigabytes first.
    pub fn check_last<E: From<ProtocolError>>(
        &mut self,
        limits: &Limits,
        meter: &mut impl FnMut(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        let bytes = self.text.len() - self.last_start;
        if bytes > limits.max_record_bytes {
            return Err(E::from(ProtocolError::TooLarge {
                location: self.locations.last().cloned(),
                reason: format!(
                    "record is {bytes} bytes, the limit is {}",
                    limits.max_record_bytes
                ),
            }));
        }
        let grown = self.text.capacity().saturating_sub(self.metered);
        if grown > 0 {
            self.metered += grown;
            meter(grown)?;
        }
        Ok(())
    }

    /// Parses the written records with `options` (its limits, except the
    /// body size, which the caller enforced on the request as sent),
    /// telling `meter` about memory as [`parse_records_metered`] does (the
    /// text itself was metered by [`Batch::check_last`]).
    pub fn parse<E: From<ProtocolError>>(
        self,
        options: &ParseOptions,
        mut meter: impl FnMut(usize) -> Result<(), E>,
    ) -> Result<Vec<Record>, E> {
        if self.locations.is_empty() {
            return Ok(Vec::new());
        }
        let mut options = *options;
        options.limits.max_body_bytes = usize::MAX;
        options.format = Format::Ndjson;
        let parsed = parse_records_metered(self.text.as_bytes(), &options, |bytes| {
            meter(bytes).map_err(Failure::Meter)
        });
        parsed.map_err(|failure| match failure {
            Failure::Meter(e) => e,
            Failure::Parse(e) => E::from(located(e, &self.locations)),
        })
    }
}

impl RecordText<'_> {
    /// Adds `"key": "value"`.
    pub fn string(&mut self, key: &str, value: &str) {
        self.key(key);
        write_json_string(self.text, value);
    }

    /// Adds `"key": value`.
    pub fn value(&mut self, key: &str, value: &Value) {
        self.key(key);
        // Writing a `Value` into a `String` cannot fail.
        self.text.push_str(&value.to_string());
    }

    /// Adds `"key": ` and `json`, which must be one JSON value's text.
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key);
        self.text.push_str(json);
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.text.push(',');
        }
        self.empty = false;
        write_json_string(self.text, key);
        self.text.push(':');
    }

    /// Ends the record.
    pub fn finish(self) {
        self.text.push_str("}\n");
    }
}

fn write_json_string(out: &mut String, text: &str) {
    out.push_str(&Value::from(text).to_string());
}

/// What stopped parsing: the record rules, or the caller's meter.
enum Failure<E> {
    Parse(Error),
    Meter(E),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Parse(e)
    }
}

/// A parse error of the written text, placed where its record came from.
fn located(error: Error, locations: &[String]) -> ProtocolError {
    match error {
        Error::InvalidRecord(RecordError {
            record: Some(n),
            field,
            reason,
            ..
        }) => {
            let location = locations.get(n - 1).cloned();
            let reason = match field {
                Some(field) => format!("field `{field}` {reason}"),
                None => reason,
            };
            if reason.contains("the limit is") {
                ProtocolError::TooLarge { location, reason }
            } else {
                ProtocolError::Invalid { location, reason }
            }
        }
        Error::TooLarge(reason) => ProtocolError::TooLarge {
            location: None,
            reason,
        },
        other => ProtocolError::Engine(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(batch: Batch) -> Result<Vec<Record>, ProtocolError> {
        batch.parse(&ParseOptions::default(), |_| Ok::<(), ProtocolError>(()))
    }

    #[test]
    fn records_keep_their_members_in_order() {
        let mut batch = Batch::default();
        let mut r = batch.record("first".into());
        r.string("timestamp", "2023-09-15T08:00:00Z");
        r.string("message", "a \"quoted\" line");
        r.value("metadata", &serde_json::json!({"n": 1}));
        r.finish();
        let records = parse(batch).unwrap();
        assert_eq!(
            records[0].source(),
            r#"{"timestamp":"2023-09-15T08:00:00Z","message":"a \"quoted\" line","metadata":{"n":1}}"#
        );
    }

    #[test]
    fn an_error_names_the_place_of_its_record() {
        let mut batch = Batch::default();
        for (place, level) in [
            ("first", serde_json::json!("info")),
            ("second", serde_json::json!(5)),
        ] {
            let mut r = batch.record(place.into());
            r.string("message", "m");
            r.value("level", &level);
            r.finish();
        }
        let e = parse(batch).unwrap_err();
        assert_eq!(e.location(), Some("second"), "{e}");
        assert!(e.to_string().starts_with("second: field `level` "), "{e}");
    }

    #[test]
    fn no_records_is_not_an_error() {
        assert!(parse(Batch::default()).unwrap().is_empty());
    }
}
