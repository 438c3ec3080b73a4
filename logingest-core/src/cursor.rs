//! Search cursors: a position in the `(timestamp, seq)` order.
//!
//! A cursor names the last record of a page, not an offset, so a walk through
//! pages stays correct while records are added: there is no skip or repeat,
//! and no 10,000-result cap. Its text form is opaque to clients (32 hex
//! digits) and validated when decoded.

use std::fmt;
use std::str::FromStr;

use crate::backend::{Hit, SearchPage};
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

/// The positions of one page as a backend's index ranked them, before
/// the records' texts are fetched: every backend assembles its pages and
/// next cursors this one way.
///
/// A backend asks its index for `limit + 1` positions `(timestamp, seq)` in
/// result order: the one past the page says that a next page exists, and
/// the page's last position becomes the next cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    positions: Vec<(Timestamp, u64)>,
    next: Option<Cursor>,
}

impl Ranked {
    /// The page of `limit` positions out of `positions` (up to `limit + 1`).
    pub fn new(mut positions: Vec<(Timestamp, u64)>, limit: usize) -> Self {
        let more = positions.len() > limit;
        positions.truncate(limit);
        let next = more
            .then(|| positions.last().map(|&(t, seq)| Cursor::new(t, seq)))
            .flatten();
        Ranked { positions, next }
    }

    /// [`Ranked::new`] from positions whose timestamps are nanoseconds, as
    /// an index's columns hold them.
    pub fn from_nanos(positions: impl IntoIterator<Item = (i64, u64)>, limit: usize) -> Self {
        let positions = positions
            .into_iter()
            .map(|(nanos, seq)| (Timestamp(nanos), seq))
            .collect();
        Ranked::new(positions, limit)
    }

    /// The page's positions, in result order.
    pub fn positions(&self) -> &[(Timestamp, u64)] {
        &self.positions
    }

    /// The page's sequence numbers, in result order: what to fetch.
    pub fn seqs(&self) -> Vec<u64> {
        self.positions.iter().map(|&(_, seq)| seq).collect()
    }

    /// The page: each position with its record's text, in order. A `None`
    /// text (the record was deleted, by retention, after the index
    /// answered) leaves its position out.
    pub fn into_page(
        self,
        total: u64,
        sources: impl IntoIterator<Item = Option<String>>,
    ) -> SearchPage {
        let hits = self
            .positions
            .iter()
            .zip(sources)
            .filter_map(|(&(t, seq), source)| source.map(|s| Hit::new(seq, t, s)))
            .collect();
        SearchPage::new(hits, total, self.next)
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

    #[test]
    fn a_ranked_page_knows_its_next_cursor_and_skips_deleted_records() {
        use super::Ranked;
        let at = |n: i64| (Timestamp(n), n as u64);
        let page = Ranked::new(vec![at(1), at(2), at(3)], 2);
        assert_eq!(page.seqs(), [1, 2]);
        let page = page.into_page(3, [Some("a".to_owned()), None]);
        assert_eq!(page.hits.len(), 1);
        assert_eq!(page.next_cursor, Some(Cursor::new(Timestamp(2), 2)));
        let last = Ranked::new(vec![at(1)], 2).into_page(1, [Some("a".to_owned())]);
        assert_eq!(last.next_cursor, None);
    }
}
