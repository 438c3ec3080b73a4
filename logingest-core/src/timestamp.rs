//! Timestamps: UTC nanoseconds since the Unix epoch.
//!
//! Every record and every time bound is normalised to one `i64` of nanoseconds
//! in UTC, so backends compare integers and never parse dates. The range is
//! 1677-09-21 to 2262-04-11; a date outside it is rejected, not clamped.
//! Parsing goes through the `time` crate (RFC 3339 with any offset and
//! fractional seconds); formatting writes the `time` crate's fields digit by
//! digit (once per record for sources without JSON, such as syslog).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Nanoseconds in one second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// Why a text is not a time: one line naming the text and what is wrong,
/// e.g. ``` `2023-13-01` is not a date YYYY-MM-DD (...)```.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct TimeError {
    reason: String,
}

impl TimeError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        TimeError {
            reason: reason.into(),
        }
    }

    fn out_of_range(text: &str) -> Self {
        TimeError::new(format!(
            "`{text}` is outside the supported years 1678..2262"
        ))
    }

    /// The reason, as displayed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl Timestamp {
    /// The earliest representable instant.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable instant.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The current time of the system clock.
    pub fn now() -> Self {
        let nanos = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
        };
        Timestamp(nanos)
    }

    /// Parses RFC 3339 (`2023-09-15T08:00:00.123+02:00`), normalised to UTC.
    ///
    /// Lower-case `t`/`z` and a space instead of `T` are accepted, as RFC 3339
    /// section 5.6 allows.
    pub fn parse_rfc3339(text: &str) -> Result<Self, TimeError> {
        let odt = OffsetDateTime::parse(text, &Rfc3339)
            .map_err(|e| TimeError::new(format!("`{text}` is not an RFC 3339 timestamp ({e})")))?;
        Self::from_offset_date_time(odt).ok_or_else(|| TimeError::out_of_range(text))
    }

    /// Parses a bare date `YYYY-MM-DD` as midnight UTC.
    pub fn parse_date(text: &str) -> Result<Self, TimeError> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, &format)
            .map_err(|e| TimeError::new(format!("`{text}` is not a date YYYY-MM-DD ({e})")))?;
        Self::from_offset_date_time(date.midnight().assume_utc())
            .ok_or_else(|| TimeError::out_of_range(text))
    }

    fn from_offset_date_time(odt: OffsetDateTime) -> Option<Self> {
        i64::try_from(odt.unix_timestamp_nanos())
            .ok()
            .map(Timestamp)
    }

    /// Formats as RFC 3339 in UTC with as many fractional digits as needed
    /// (none, 3, 6 or 9), e.g. `2023-09-15T08:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let odt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0))
            .expect("every i64 nanosecond value is a valid OffsetDateTime");
        let (y, mo, d) = (odt.year(), u8::from(odt.month()), odt.day());
        let (h, mi, s) = (odt.hour(), odt.minute(), odt.second());
        let nanos = odt.nanosecond();
        // Written digit by digit: records of sources without JSON (syslog)
        // have their time formatted once each, and `format!` cost more than
        // the rest of this function. Years of an i64 of nanoseconds are
        // 1677 to 2262: always four digits.
        let mut out = String::with_capacity(30);
        push_digits(&mut out, y.unsigned_abs(), 4);
        out.push('-');
        push_digits(&mut out, u32::from(mo), 2);
        out.push('-');
        push_digits(&mut out, u32::from(d), 2);
        out.push('T');
        push_digits(&mut out, u32::from(h), 2);
        out.push(':');
        push_digits(&mut out, u32::from(mi), 2);
        out.push(':');
        push_digits(&mut out, u32::from(s), 2);
        if nanos != 0 {
            let (fraction, digits) = if nanos.is_multiple_of(1_000_000) {
                (nanos / 1_000_000, 3)
            } else if nanos.is_multiple_of(1_000) {
                (nanos / 1_000, 6)
            } else {
                (nanos, 9)
            };
            out.push('.');
            push_digits(&mut out, fraction, digits);
        }
        out.push('Z');
        out
    }

    /// `self + nanos`, saturating at the representable range.
    pub fn saturating_add_nanos(self, nanos: i64) -> Self {
        Timestamp(self.0.saturating_add(nanos))
    }
}

/// The last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions_to_utc() {
        let a = Timestamp::parse_rfc3339("2023-09-15T10:00:00.5+02:00").unwrap();
        let b = Timestamp::parse_rfc3339("2023-09-15T08:00:00.500Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_rfc3339(), "2023-09-15T08:00:00.500Z");
    }

    #[test]
    fn formats_minimal_fraction() {
        let t = Timestamp::parse_rfc3339("2023-09-15T08:00:00.000001Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2023-09-15T08:00:00.000001Z");
        let t = Timestamp::parse_rfc3339("2023-09-15T08:00:00.123456789Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2023-09-15T08:00:00.123456789Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn rejects_impossible_and_out_of_range() {
        assert!(Timestamp::parse_rfc3339("2023-02-30T00:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2023-09-15T25:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2023-09-15").is_err());
        assert!(Timestamp::parse_rfc3339("3000-01-01T00:00:00Z").is_err());
        assert!(Timestamp::parse_date("2023-13-01").is_err());
    }

    #[test]
    fn bare_date_is_midnight_utc() {
        assert_eq!(
            Timestamp::parse_date("2023-09-15").unwrap(),
            Timestamp::parse_rfc3339("2023-09-15T00:00:00Z").unwrap()
        );
    }

    #[test]
    fn round_trips_extremes() {
        for t in [Timestamp::MIN, Timestamp::MAX, Timestamp(-1), Timestamp(1)] {
            assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }
    }

    proptest::proptest! {
        #[test]
        fn formats_as_the_time_crate_does_and_reads_back(nanos in proptest::num::i64::ANY) {
            let t = Timestamp(nanos);
            let text = t.to_rfc3339();
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&text).unwrap(), t);
            let odt = OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).unwrap();
            let reference = odt.format(&Rfc3339).unwrap();
            // Date and time of day as the time crate writes them (it writes
            // the fraction with other digit counts; read back above).
            proptest::prop_assert_eq!(&text[..19], &reference[..19]);
        }
    }
}
