//! Records of one request, written as the JSON text the store keeps, then
//! parsed by the record parser (which applies every limit), with its errors
//! mapped back to where each record came from in the request.

use crate::ProtocolError;
use logingest_core::{
    parse_records_metered, Error, Format, Limits, ParseOptions, Record, RecordError,
};

/// The records of one request, one JSON object a line, each with where in
/// the request it came from.
///
/// A protocol can make a large text of a small request (the attributes of
/// a resource are written into each of its records), so the record size
/// limit is applied as a record is written, before each member, not only
/// by the parser at the end, and the text's allocation (and each place's)
/// is told to the meter record by record ([`Batch::check_last`]).
#[derive(Debug)]
pub(crate) struct Batch {
    text: Vec<u8>,
    locations: Vec<String>,
    /// The record size limit (`max_record_bytes`).
    limit: usize,
    /// Where the last record's text starts.
    last_start: usize,
    /// The last record went past `limit`: its writing stopped there.
    over: bool,
    /// Bytes of allocation the meter was told about.
    metered: usize,
}

/// One record being written: its members in the order they are added.
pub(crate) struct RecordText<'a> {
    batch: &'a mut Batch,
    empty: bool,
}

impl Batch {
    /// A batch of records of at most `limits.max_record_bytes` each.
    pub fn new(limits: &Limits) -> Batch {
        Batch {
            text: Vec::new(),
            locations: Vec::new(),
            limit: limits.max_record_bytes,
            last_start: 0,
            over: false,
            metered: 0,
        }
    }

    /// Starts a record that came from `location` of the request.
    pub fn record(&mut self, location: String) -> RecordText<'_> {
        self.locations.push(location);
        self.last_start = self.text.len();
        self.over = false;
        self.text.push(b'{');
        RecordText {
            batch: self,
            empty: true,
        }
    }

    /// Checks the record just written: within the record size limit (as
    /// `POST /logs` does, a 400 naming the record), and its allocation told
    /// to `meter`.
    pub fn check_last<E: From<ProtocolError>>(
        &mut self,
        meter: &mut impl FnMut(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        self.check_size()?;
        self.meter_growth(meter)
    }

    /// Whether the record just written is within the record size limit.
    fn check_size(&self) -> Result<(), ProtocolError> {
        // Without the line's newline, as the parser counts.
        let bytes = self.text.len() - self.last_start - 1;
        if self.over || bytes > self.limit {
            let size = if self.over {
                format!("more than {}", self.limit)
            } else {
                bytes.to_string()
            };
            return Err(ProtocolError::Invalid {
                location: self.locations.last().cloned(),
                reason: format!("record is {size} bytes, the limit is {}", self.limit),
            });
        }
        Ok(())
    }

    /// Tells `meter` how much the batch's allocation grew since it was
    /// last told.
    pub fn meter_growth<E>(
        &mut self,
        meter: &mut impl FnMut(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        let held = self.text.capacity()
            + self.locations.capacity() * std::mem::size_of::<String>()
            + self.locations.last().map_or(0, String::capacity);
        let grown = held.saturating_sub(self.metered);
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
        let parsed = parse_records_metered(&self.text, &options, |bytes| {
            meter(bytes).map_err(Failure::Meter)
        });
        parsed.map_err(|failure| match failure {
            Failure::Meter(e) => e,
            Failure::Parse(e) => E::from(located(e, &self.locations)),
        })
    }
}

impl RecordText<'_> {
    /// Whether `more` bytes still fit the record; once one did not, the
    /// record is over the limit and nothing more is written.
    fn fits(&mut self, more: usize) -> bool {
        let batch = &mut *self.batch;
        if !batch.over && batch.text.len() - batch.last_start + more > batch.limit {
            batch.over = true;
        }
        !batch.over
    }

    /// Adds `"key": "value"` (nothing once over the limit).
    pub fn string(&mut self, key: &str, value: &str) {
        if self.fits(key.len() + value.len() + 6) {
            self.key(key);
            escaped(&mut self.batch.text, value);
        }
    }

    /// Adds `"key": ` and `json`, which must be one JSON value's text.
    pub fn raw(&mut self, key: &str, json: &str) {
        if self.fits(key.len() + json.len() + 4) {
            self.key(key);
            self.batch.text.extend_from_slice(json.as_bytes());
        }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.batch.text.push(b',');
        }
        self.empty = false;
        escaped(&mut self.batch.text, key);
        self.batch.text.push(b':');
    }

    /// Ends the record.
    pub fn finish(self) {
        self.batch.text.extend_from_slice(b"}\n");
    }
}

/// `text` as a JSON string, escaped straight into `out`.
fn escaped(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, text);
}

/// What stopped parsing: the record rules, or the caller's meter.
enum Failure<E> {
    /// A record the rules refuse.
    Parse(Error),
    /// The meter's refusal.
    Meter(E),
}

impl<E> From<Error> for Failure<E> {
    fn from(e: Error) -> Self {
        Failure::Parse(e)
    }
}

/// A parse error of the written text, placed where its record came from:
/// a record the record rules refuse is invalid (400, as on `POST /logs`),
/// a request over a whole-request limit too large (413).
fn located(error: Error, locations: &[String]) -> ProtocolError {
    match error {
        Error::InvalidRecord(RecordError {
            record: Some(n),
            field,
            reason,
            ..
        }) => ProtocolError::Invalid {
            location: locations.get(n - 1).cloned(),
            reason: match field {
                Some(field) => format!("field `{field}` {reason}"),
                None => reason,
            },
        },
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
        let mut batch = Batch::new(&Limits::default());
        let mut r = batch.record("first".into());
        r.string("timestamp", "2023-09-15T08:00:00Z");
        r.string("message", "a \"quoted\" line");
        r.raw("metadata", r#"{"n":1}"#);
        r.finish();
        let records = parse(batch).unwrap();
        assert_eq!(
            records[0].source(),
            r#"{"timestamp":"2023-09-15T08:00:00Z","message":"a \"quoted\" line","metadata":{"n":1}}"#
        );
    }

    #[test]
    fn an_error_names_the_place_of_its_record() {
        let mut batch = Batch::new(&Limits::default());
        for (place, level) in [("first", r#""info""#), ("second", "5")] {
            let mut r = batch.record(place.into());
            r.string("message", "m");
            r.raw("level", level);
            r.finish();
        }
        let e = parse(batch).unwrap_err();
        assert_eq!(e.location(), Some("second"), "{e}");
        assert!(e.to_string().starts_with("second: field `level` "), "{e}");
    }

    /// One record with a message of `n` bytes, checked under a limit of
    /// 40 bytes.
    fn checked(message: &str) -> (Result<(), ProtocolError>, usize) {
        let mut batch = Batch::new(&Limits::default().max_record_bytes(40));
        let mut r = batch.record("here".into());
        r.string("message", message);
        r.finish();
        let checked = batch.check_last(&mut |_| Ok::<(), ProtocolError>(()));
        (checked, batch.text.len())
    }

    #[test]
    fn the_record_size_limit_holds_as_records_are_written() {
        // `{"message":"` and `"}` are 14 bytes: 26 bytes of message fit.
        assert!(checked(&"x".repeat(26)).0.is_ok());
        let e = checked(&"x".repeat(27)).0.unwrap_err();
        assert!(matches!(e, ProtocolError::Invalid { .. }), "{e}");
        assert_eq!(e.location(), Some("here"));
        assert_eq!(e.reason(), "record is more than 40 bytes, the limit is 40");
        // Escaping may make a value that fits six times longer: measured
        // once written.
        let e = checked(&"\u{1}".repeat(20)).0.unwrap_err();
        assert_eq!(e.reason(), "record is 134 bytes, the limit is 40");
        // A value far over the limit is not written at all.
        let (e, written) = checked(&"\u{1}".repeat(1 << 20));
        assert!(e.is_err());
        assert!(written < 10, "{written} bytes written");
    }

    #[test]
    fn no_records_is_not_an_error() {
        assert!(parse(Batch::new(&Limits::default())).unwrap().is_empty());
    }
}
