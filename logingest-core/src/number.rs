//! Numbers: the values numeric comparisons (`metadata.http.status:>=500`,
//! `metadata.duration_ms:[100 TO 500]`) compare, and the terms backends
//! index them as.
//!
//! Why one type: a record's JSON number and a query's bound must compare the
//! same way in the reference evaluator, in tantivy and in OpenSearch. The
//! rule is IEEE 754 double precision, as JSON parsers, JavaScript and
//! Elasticsearch's `double` read numbers: every number is the nearest
//! double (integers beyond ±2^53 round), `-0` is `0`, and two numbers are
//! ordered as doubles. [`Number`] holds only finite doubles (JSON has no
//! others), so its order is total and its equality exact.
//!
//! Backends index a number as a text term that sorts as the number does
//! ([`term`]): the escaped path of [`crate::keyword_term`], then 16 hex
//! digits of the double's bits with the sign folded so that byte order is
//! numeric order. A comparison is then a range of terms ([`term_range`]),
//! which both tantivy and Lucene answer from their term dictionaries,
//! exactly, for any path, without a mapping per path.

use std::fmt;
use std::ops::{Bound, RangeBounds};

use crate::keyword_term;

/// A finite number; `-0` is stored as `0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Number(f64);

impl Number {
    /// The number `value`, `None` for NaN and infinities.
    pub fn new(value: f64) -> Option<Number> {
        // `-0.0 + 0.0` is `+0.0`; every other value is unchanged.
        value.is_finite().then_some(Number(value + 0.0))
    }

    /// The number as a double.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Parses JSON number syntax (`500`, `-1`, `2.5`, `1e3`, `1.5E-7`): an
    /// optional `-`, digits without a leading zero, an optional fraction
    /// and exponent. `None` for anything else (`+1`, `.5`, `0x10`, `inf`,
    /// `1_000`) and for numbers too large for a double.
    pub fn parse(text: &str) -> Option<Number> {
        json_number_syntax(text)
            .then(|| text.parse::<f64>().ok())
            .flatten()
            .and_then(Number::new)
    }

    /// 16 hex digits whose byte order is the numbers' order.
    pub fn sortable(self) -> String {
        let bits = self.0.to_bits();
        // Negative doubles order backwards by their bits: flip them all.
        // Positive ones order by their bits: set the sign to sort above.
        let key = if bits >> 63 == 1 {
            !bits
        } else {
            bits | 1 << 63
        };
        format!("{key:016x}")
    }

    /// The number [`Number::sortable`] wrote as `hex`; `None` for text it
    /// cannot have written.
    pub fn from_sortable(hex: &str) -> Option<Number> {
        if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let key = u64::from_str_radix(hex, 16).ok()?;
        let bits = if key >> 63 == 1 {
            key & !(1 << 63)
        } else {
            !key
        };
        Number::new(f64::from_bits(bits))
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Finite and never `-0`: `total_cmp` is the numeric order.
        self.0.total_cmp(&other.0)
    }
}

impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

impl fmt::Display for Number {
    /// The shortest decimal text that parses back to the same double
    /// (`500`, `2.5`, `0.0000001`); [`Number::parse`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whether `text` is a number as JSON writes one.
fn json_number_syntax(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    match digits(&mut i) {
        0 => return false,
        n if n > 1 && b[int_start] == b'0' => return false,
        _ => {}
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The exact sum of numbers, rounded once at the end: the same double
/// whatever the order of the additions (`sum` and `avg` of stats pipes must
/// agree across backends that add in different orders), as long as no
/// partial sum leaves the range of doubles (about ±1.8e308); one that does
/// makes the sum `None`, which can depend on the order.
///
/// Shewchuk's algorithm, as Python's `math.fsum`: the running sum is kept
/// as non-overlapping partials whose exact total is the exact sum, and the
/// total is rounded half to even. Written here (30 lines) rather than taken
/// from a crate: none is among our dependencies, and the tests check it
/// against exact integer sums.
#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    partials: Vec<f64>,
    overflow: bool,
}

impl ExactSum {
    /// Adds `n`.
    pub fn add(&mut self, n: Number) {
        let mut x = n.get();
        let mut kept = 0;
        for i in 0..self.partials.len() {
            let mut y = self.partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            if !hi.is_finite() {
                self.overflow = true;
                return;
            }
            let lo = y - (hi - x);
            if lo != 0.0 {
                self.partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        self.partials.truncate(kept);
        self.partials.push(x);
    }

    /// The exact sum rounded to the nearest double (ties to even); `None`
    /// when it is beyond the range of doubles.
    pub fn total(&self) -> Option<Number> {
        if self.overflow {
            return None;
        }
        let p = &self.partials;
        let Some(mut n) = p.len().checked_sub(1) else {
            return Number::new(0.0);
        };
        let mut hi = p[n];
        let mut lo = 0.0;
        while n > 0 {
            let (x, y) = (hi, p[n - 1]);
            n -= 1;
            hi = x + y;
            lo = y - (hi - x);
            if lo != 0.0 {
                break;
            }
        }
        // Half-way cases: the partials below decide the rounding.
        if n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            if y == x - hi {
                hi = x;
            }
        }
        Number::new(hi)
    }
}

/// The term of the number `n` at `path`: [`keyword_term::prefix`] then
/// [`Number::sortable`].
pub fn term(path: &str, n: Number) -> String {
    let mut text = keyword_term::prefix(path);
    text.push_str(&n.sortable());
    text
}

/// The terms of the numbers at `path` within `start..end`, as term bounds:
/// an open end is the end of the path's terms.
pub fn term_range(
    path: &str,
    start: Bound<Number>,
    end: Bound<Number>,
) -> (Bound<String>, Bound<String>) {
    let start = match start {
        Bound::Included(n) => Bound::Included(term(path, n)),
        Bound::Excluded(n) => Bound::Excluded(term(path, n)),
        Bound::Unbounded => Bound::Included(keyword_term::prefix(path)),
    };
    let end = match end {
        Bound::Included(n) => Bound::Included(term(path, n)),
        Bound::Excluded(n) => Bound::Excluded(term(path, n)),
        Bound::Unbounded => Bound::Excluded(keyword_term::prefix_end(path)),
    };
    (start, end)
}

/// Whether `n` lies within `start..end`.
pub fn in_bounds(n: Number, start: Bound<Number>, end: Bound<Number>) -> bool {
    (start, end).contains(&n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(v: f64) -> Number {
        Number::new(v).unwrap()
    }

    #[test]
    fn json_syntax_only() {
        for ok in [
            "0", "-0", "500", "-1", "2.5", "1e3", "1E+3", "1.5e-7", "-0.0",
        ] {
            assert!(Number::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "-", "+1", ".5", "5.", "01", "0x10", "inf", "NaN", "1_000", "1e", "1e+", " 1",
            "1 ", "--1", "1e400",
        ] {
            assert_eq!(Number::parse(bad), None, "{bad}");
        }
        assert_eq!(Number::parse("-0"), Some(n(0.0)));
        assert_eq!(Number::parse("1e3"), Some(n(1000.0)));
    }

    #[test]
    fn minus_zero_is_zero() {
        assert_eq!(n(-0.0), n(0.0));
        assert_eq!(n(-0.0).sortable(), n(0.0).sortable());
        assert_eq!(n(-0.0).to_string(), "0");
    }

    #[test]
    fn sortable_text_orders_as_the_numbers() {
        let values = [
            f64::MIN,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            5e-324,
            f64::MIN_POSITIVE,
            0.5,
            1.0,
            3.0,
            500.0,
            9007199254740993.0,
            1e300,
            f64::MAX,
        ];
        for a in values {
            for b in values {
                let (x, y) = (n(a), n(b));
                assert_eq!(x.cmp(&y), x.sortable().cmp(&y.sortable()), "{a} {b}");
                assert_eq!(Number::from_sortable(&x.sortable()), Some(x));
                assert_eq!(x.cmp(&y), term("p", x).cmp(&term("p", y)), "{a} {b}");
            }
        }
    }

    #[test]
    fn display_parses_back() {
        for v in [0.0, -1.0, 2.5, 1e-7, 1e300, 123456789.125, f64::MAX, 5e-324] {
            assert_eq!(Number::parse(&n(v).to_string()), Some(n(v)), "{v}");
        }
    }

    #[test]
    fn exact_sums_do_not_depend_on_order() {
        let sum = |values: &[f64]| {
            let mut s = ExactSum::default();
            values.iter().for_each(|&v| s.add(n(v)));
            s.total().map(Number::get)
        };
        assert_eq!(sum(&[]), Some(0.0));
        assert_eq!(sum(&[1e100, 1.0, -1e100]), Some(1.0));
        assert_eq!(sum(&[0.1; 10]), Some(1.0));
        assert_eq!(sum(&[1e308, 1e308]), None);
        // Half-way between two doubles: rounded to even by what lies below.
        assert_eq!(
            sum(&[1.0, 2f64.powi(-53), 2f64.powi(-80)]),
            Some(1.0 + f64::EPSILON)
        );
        assert_eq!(sum(&[1.0, 2f64.powi(-53)]), Some(1.0));
        // Integers sum exactly, in any order.
        let mut rng = 0x2545F4914F6CDD1Du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % 2_000_001) as i64 - 1_000_000
        };
        let ints: Vec<i64> = (0..1000).map(|_| next() * 1_000_000_007).collect();
        let exact: i128 = ints.iter().map(|&i| i as i128).sum();
        let mut values: Vec<f64> = ints.iter().map(|&i| i as f64).collect();
        let forward = sum(&values);
        values.reverse();
        assert_eq!(forward, sum(&values));
        assert_eq!(forward, Some(exact as f64));
    }

    #[test]
    fn term_ranges_hold_exactly_the_numbers_within() {
        let values = [-3.0, -1.0, 0.0, 1.0, 2.0, 7.5];
        let bounds = |v: f64| {
            [
                Bound::Included(n(v)),
                Bound::Excluded(n(v)),
                Bound::Unbounded,
            ]
        };
        for lo in values.iter().flat_map(|&v| bounds(v)) {
            for hi in values.iter().flat_map(|&v| bounds(v)) {
                let (start, end) = term_range("a", lo, hi);
                for v in values {
                    let t = term("a", n(v));
                    let by_term = (start.as_ref(), end.as_ref()).contains(&t);
                    assert_eq!(by_term, in_bounds(n(v), lo, hi), "{lo:?} {hi:?} {v}");
                }
                for other in ["a.b", "ab", "b", ""] {
                    assert!(!(start.as_ref(), end.as_ref()).contains(&term(other, n(1.0))));
                }
            }
        }
    }
}
