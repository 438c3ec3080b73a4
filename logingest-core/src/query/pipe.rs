//! Pipes: what comes after a filter's `|`, turning matching records into
//! rows (`| stats count() by (level)`, `| top 5 by (resourceId)`,
//! `| sort by (n desc)`, `| limit 10`) or choosing what a record search
//! returns (`| fields level, message`).
//!
//! Like [`Query`], a [`Pipeline`] is a pure value: relative times are
//! resolved, every column a pipe names is known to exist (the parser
//! checks it, with positions), and `Display` prints text that parses back
//! to the same pipeline. What a pipeline computes is defined by the
//! reference evaluator ([`crate::reference_rows`]) and `docs/query-language.md`.

use std::fmt;

use super::ast::Query;

pub(crate) mod parse;

pub use parse::MAX_ROWS;

/// A filter and the pipes after it, in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pipeline {
    /// Which records go in.
    pub filter: Query,
    /// What is done with them, left to right.
    pub pipes: Vec<Pipe>,
}

impl Pipeline {
    /// Whether the pipeline makes rows (a `stats` or `top`) rather than
    /// returning records.
    pub fn makes_rows(&self) -> bool {
        self.pipes
            .iter()
            .any(|p| matches!(p, Pipe::Stats(_) | Pipe::Top(_)))
    }

    /// The fields a record search returns, from its last `fields` pipe.
    pub fn fields(&self) -> Option<&[String]> {
        self.pipes.iter().rev().find_map(|p| match p {
            Pipe::Fields(fields) => Some(fields.as_slice()),
            _ => None,
        })
    }

    /// The row or record limit, from its last `limit` pipe.
    pub fn limit(&self) -> Option<usize> {
        self.pipes.iter().rev().find_map(|p| match p {
            Pipe::Limit(n) => Some(*n),
            _ => None,
        })
    }
}

/// One pipe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pipe {
    /// `stats f(x) [as name], ... [by (k, ...)]`: one row per group.
    Stats(Stats),
    /// `top N by (k, ...)`: the N most frequent groups with their counts.
    Top(Top),
    /// `sort by (column [desc], ...)`: rows ordered by columns.
    Sort(Vec<SortKey>),
    /// `limit N`: the first N rows (or records).
    Limit(usize),
    /// `fields a, b`: the fields a record search returns.
    Fields(Vec<String>),
}

/// `stats`: functions computed per group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stats {
    /// The functions, each with its column name.
    pub functions: Vec<Named>,
    /// The group keys; none: one group of every record.
    pub by: Vec<GroupKey>,
}

/// `top N by (k, ...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Top {
    /// How many groups.
    pub n: usize,
    /// The group keys (at least one).
    pub by: Vec<GroupKey>,
}

/// The column `top` counts in.
pub const TOP_COUNT: &str = "count";

/// A function and the name of its column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Named {
    /// What is computed.
    pub function: Function,
    /// The column: the `as` name, else the function's text (`count()`).
    pub name: String,
    /// Whether the name was given with `as` (printing writes it then).
    pub explicit: bool,
}

/// A stats function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Function {
    /// `count()`: records in the group.
    Count,
    /// `count(f)`: records in the group that match `f:*`.
    CountField(String),
    /// `count_uniq(f)`: distinct values (texts) of `f` in the group.
    CountUniq(String),
    /// `sum(f)`: the sum of `f`'s numbers, correctly rounded.
    Sum(String),
    /// `avg(f)`: the mean of `f`'s numbers.
    Avg(String),
    /// `min(f)`: the least of `f`'s numbers.
    Min(String),
    /// `max(f)`: the greatest of `f`'s numbers.
    Max(String),
    /// `quantile(q, f)`: the nearest-rank `q` quantile of `f`'s numbers.
    Quantile(Quantile, String),
}

impl Function {
    /// The field the function reads, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Function::Count => None,
            Function::CountField(f)
            | Function::CountUniq(f)
            | Function::Sum(f)
            | Function::Avg(f)
            | Function::Min(f)
            | Function::Max(f)
            | Function::Quantile(_, f) => Some(f),
        }
    }
}

/// A quantile in `[0, 1]` (`0.99`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile(f64);

impl Quantile {
    /// The quantile `q`, `None` outside `[0, 1]` or not a number.
    pub fn new(q: f64) -> Option<Quantile> {
        (0.0..=1.0).contains(&q).then_some(Quantile(q + 0.0))
    }

    /// Its value.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Eq for Quantile {}

impl std::hash::Hash for Quantile {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.to_bits().hash(state)
    }
}

/// A group key: a field's value, or the time bucket of `timestamp`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// A keyword field: one group per value (a record with several values
    /// is in several groups, one without any in the group of null).
    Field(String),
    /// `bucket(timestamp, step)`: buckets of `step` nanoseconds aligned to
    /// multiples of it since the Unix epoch.
    Bucket {
        /// Bucket width, nanoseconds (at least 1).
        step: i64,
        /// The step as written (`1m`), for the column name.
        written: String,
    },
}

impl GroupKey {
    /// The column name: the field's path, or the bucket as written
    /// (`bucket(timestamp, 1m)`).
    pub fn name(&self) -> String {
        match self {
            GroupKey::Field(path) => path.clone(),
            GroupKey::Bucket { written, .. } => format!("bucket(timestamp, {written})"),
        }
    }
}

/// One key of `sort by`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// A column of the rows being sorted.
    pub column: String,
    /// `desc`.
    pub descending: bool,
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Function::Count => f.write_str("count()"),
            Function::CountField(x) => write!(f, "count({x})"),
            Function::CountUniq(x) => write!(f, "count_uniq({x})"),
            Function::Sum(x) => write!(f, "sum({x})"),
            Function::Avg(x) => write!(f, "avg({x})"),
            Function::Min(x) => write!(f, "min({x})"),
            Function::Max(x) => write!(f, "max({x})"),
            Function::Quantile(q, x) => write!(f, "quantile({}, {x})", q.0),
        }
    }
}

impl fmt::Display for Pipeline {
    /// The filter, then each pipe after ` | `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.filter)?;
        for pipe in &self.pipes {
            write!(f, " | {pipe}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pipe::Stats(stats) => {
                f.write_str("stats ")?;
                for (i, named) in stats.functions.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", named.function)?;
                    if named.explicit {
                        write!(f, " as {}", named.name)?;
                    }
                }
                write_by(f, &stats.by)
            }
            Pipe::Top(top) => {
                write!(f, "top {}", top.n)?;
                write_by(f, &top.by)
            }
            Pipe::Sort(keys) => {
                f.write_str("sort by (")?;
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&key.column)?;
                    if key.descending {
                        f.write_str(" desc")?;
                    }
                }
                f.write_str(")")
            }
            Pipe::Limit(n) => write!(f, "limit {n}"),
            Pipe::Fields(fields) => write!(f, "fields {}", fields.join(", ")),
        }
    }
}

fn write_by(f: &mut fmt::Formatter<'_>, by: &[GroupKey]) -> fmt::Result {
    if by.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = by.iter().map(GroupKey::name).collect();
    write!(f, " by ({})", names.join(", "))
}
