//! Search cursors: a position in the `(timestamp, seq)` order.
//!
//! A cursor names the last record of a page, not an offset, so a walk through
//! pages stays correct while records are added: there is no skip or repeat,
//! and no 10,000-result cap. Its text form is opaque to clients (32 hex
//! digits) and validated when decoded.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;
use crate::timestamp::Timestamp;

/// A position after which a search continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    /// Timestamp of the last record returned.
    pub timestamp: Timestamp,
    /// Sequence number of the last record returned.
    pub seq: u64,
}

impl Cursor {
    /// A cursor at `(timestamp, seq)`.
    pub fn new(timestamp: Timestamp, seq: u64) -> Self {
        Cursor { timestamp, seq }
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Two's complement keeps negative timestamps representable.
        write!(f, "{:016x}{:016x}", self.timestamp.0 as u64, self.seq)
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidRequest(format!("`{s}` is not a cursor returned by a search"));
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let ts = u64::from_str_radix(&s[..16], 16).map_err(|_| bad())?;
        let seq = u64::from_str_radix(&s[16..], 16).map_err(|_| bad())?;
        Ok(Cursor::new(Timestamp(ts as i64), seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for c in [
            Cursor::new(Timestamp(0), 0),
            Cursor::new(Timestamp(-5), u64::MAX),
            Cursor::new(Timestamp(i64::MAX), 42),
        ] {
            assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        }
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "abc",
            "zz000000000000000000000000000000",
            &"0".repeat(33),
        ] {
            assert!(matches!(s.parse::<Cursor>(), Err(Error::InvalidRequest(_))));
        }
    }
}
