//! The reference evaluator of `stats` and `top`: what their rows are,
//! written to be obviously right (one pass over the records, every value
//! kept), as [`matches`](super::matches) is for filters.
//!
//! The rules (`docs/query-language.md` states them for users):
//! - a record is in one group per combination of its key values: a
//!   multi-valued field puts it in a group per distinct value, a record
//!   without the field is in the group whose key is null;
//! - `bucket(timestamp, step)` is the start of the record's bucket, aligned
//!   to multiples of `step` since the Unix epoch;
//! - `count()` counts the group's records, `count(f)` those matching `f:*`,
//!   `count_uniq(f)` the distinct values (texts) of `f`;
//! - `sum`, `avg`, `min`, `max` and `quantile` read every JSON number of the
//!   field in the group's records (strings are not numbers); with none, the
//!   cell is null. `sum` is exact and rounded once ([`ExactSum`]), `avg` is
//!   that sum divided by how many numbers there are, and `quantile(q, f)` is
//!   the nearest-rank quantile: of the `n` numbers sorted, the one at rank
//!   `max(1, ceil(q × n))` (`q × n` as a double);
//! - `stats` without `by` makes one row, even of no records.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::number::{ExactSum, Number};
use crate::query::pipe::{Function, GroupKey, Pipe, Pipeline, Quantile, TOP_COUNT};
use crate::record::Record;
use crate::rows::{Cell, Rows};
use crate::timestamp::Timestamp;

/// The rows of `pipeline` over `records`; `None` when it makes no rows
/// (no `stats` or `top`: it returns records).
pub fn rows(pipeline: &Pipeline, records: &[Record]) -> Option<Rows> {
    let mut groups = Groups::new(pipeline, usize::MAX)?;
    for record in records
        .iter()
        .filter(|r| super::matches(&pipeline.filter, r))
    {
        groups.add(record).ok()?;
    }
    Some(groups.finish())
}

/// The groups of a row-making pipe, fed one matching record at a time.
///
/// Every value a function needs is kept (each number, each distinct
/// value), which is what makes the result exact and the code plain; a
/// byte budget bounds it.
#[derive(Debug)]
pub struct Groups<'p> {
    pipes: &'p [Pipe],
    keys: &'p [GroupKey],
    functions: Vec<(Function, String)>,
    groups: BTreeMap<Vec<Cell>, Vec<Acc>>,
    /// About how many bytes `groups` holds, and how many it may.
    bytes: usize,
    budget: usize,
}

/// What one function keeps for one group.
#[derive(Debug)]
enum Acc {
    Count(u64),
    Values(BTreeSet<String>),
    /// How many distinct values, from a backend that saw them all at once.
    Distinct(u64),
    Numbers(Vec<Number>),
}

/// What a backend computed of one function for one group from part of the
/// records (a segment, a shard), to merge with [`Groups::merge`].
#[derive(Debug, Clone, PartialEq)]
pub enum Partial {
    /// Records counted (`count()`, `count(f)`, `top`).
    Count(u64),
    /// Distinct values seen (`count_uniq(f)`); the same value from several
    /// parts counts once.
    Values(Vec<String>),
    /// How many distinct values the group has in all: for a backend that
    /// saw every record of the group at once. No other part of the same
    /// function and group may be merged beside it.
    Distinct(u64),
    /// Every number of the field in the records seen, duplicates included
    /// (`sum`, `avg`, `min`, `max`, `quantile`).
    Numbers(Vec<Number>),
}

impl<'p> Groups<'p> {
    /// The groups of `pipeline`'s `stats` or `top`, holding at most about
    /// `budget` bytes; `None` when it makes no rows.
    pub fn new(pipeline: &'p Pipeline, budget: usize) -> Option<Self> {
        let (functions, keys): (Vec<(Function, String)>, &[GroupKey]) =
            match pipeline.pipes.first()? {
                Pipe::Stats(stats) => (
                    stats
                        .functions
                        .iter()
                        .map(|f| (f.function.clone(), f.name.clone()))
                        .collect(),
                    &stats.by,
                ),
                Pipe::Top(top) => (vec![(Function::Count, TOP_COUNT.to_owned())], &top.by),
                _ => return None,
            };
        Some(Groups {
            pipes: &pipeline.pipes,
            keys,
            functions,
            groups: BTreeMap::new(),
            bytes: 0,
            budget,
        })
    }

    /// Adds a record (one that matches the filter) to each of its groups.
    /// Fails once the groups outgrow the budget.
    pub fn add(&mut self, record: &Record) -> Result<()> {
        // A record in many groups (several multi-valued keys) is refused
        // before its groups are made, not after.
        let values = key_values(self.keys, record);
        let groups = values.iter().fold(1usize, |n, v| n.saturating_mul(v.len()));
        if groups.saturating_mul(64).saturating_add(self.bytes) > self.budget {
            return Err(self.too_large());
        }
        for key in combinations(&values) {
            let functions = &self.functions;
            let mut added = 0;
            let accs = self.groups.entry(key).or_insert_with_key(|key| {
                added += key.iter().map(cell_bytes).sum::<usize>() + 64;
                functions.iter().map(|(f, _)| Acc::new(f)).collect()
            });
            for ((function, _), acc) in functions.iter().zip(accs) {
                added += acc.add(function, record);
            }
            self.bytes += added;
        }
        if self.bytes > self.budget {
            return Err(self.too_large());
        }
        Ok(())
    }

    fn too_large(&self) -> Error {
        too_large(self.budget)
    }

    /// About how many bytes the groups hold so far.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The keys the rows are grouped by.
    pub fn keys(&self) -> &'p [GroupKey] {
        self.keys
    }

    /// The functions of the row-making pipe, in column order (`top`'s is
    /// `count()`).
    pub fn functions(&self) -> impl Iterator<Item = &Function> {
        self.functions.iter().map(|(f, _)| f)
    }

    /// Adds what a backend computed for the group `key` (one cell per key,
    /// as [`Groups::keys`]) from part of the records: one partial per
    /// function, in the order of [`Groups::functions`]. Fails once the
    /// groups outgrow the budget, and for partials that do not fit the
    /// functions (a backend's mistake).
    pub fn merge(&mut self, key: Vec<Cell>, partials: Vec<Partial>) -> Result<()> {
        if key.len() != self.keys.len() || partials.len() != self.functions.len() {
            return Err(mismatch());
        }
        let functions = &self.functions;
        let mut added = 0;
        let accs = self.groups.entry(key).or_insert_with_key(|key| {
            added += key.iter().map(cell_bytes).sum::<usize>() + 64;
            functions.iter().map(|(f, _)| Acc::new(f)).collect()
        });
        for (acc, partial) in accs.iter_mut().zip(partials) {
            added += acc.merge(partial)?;
        }
        self.bytes += added;
        if self.bytes > self.budget {
            return Err(self.too_large());
        }
        Ok(())
    }

    /// The rows: one per group, then the later pipes (`sort`, `limit`).
    /// `stats` without groups makes one row even of no records.
    pub fn finish(mut self) -> Rows {
        if self.keys.is_empty() && self.groups.is_empty() {
            let empty = self.functions.iter().map(|(f, _)| Acc::new(f)).collect();
            self.groups.insert(Vec::new(), empty);
        }
        let columns = self
            .keys
            .iter()
            .map(GroupKey::name)
            .chain(self.functions.iter().map(|(_, name)| name.clone()))
            .collect();
        let functions = &self.functions;
        let rows = self
            .groups
            .into_iter()
            .map(|(mut key, accs)| {
                key.extend(functions.iter().zip(accs).map(|((f, _), acc)| acc.cell(f)));
                key
            })
            .collect();
        Rows::finish(columns, rows, self.keys.len(), self.pipes)
    }
}

/// The refusal of partials that do not fit the functions.
fn mismatch() -> Error {
    Error::InvalidRequest("internal error: partial rows do not fit the stats".to_owned())
}

/// The refusal of rows that need more than `budget` bytes.
pub fn too_large(budget: usize) -> Error {
    Error::TooLarge(format!(
        "the groups and values of these stats need more than {} MiB; narrow the \
         filter or the time range, or group by fields with fewer values",
        budget >> 20
    ))
}

fn cell_bytes(cell: &Cell) -> usize {
    match cell {
        Cell::Text(text) => text.len() + 24,
        _ => 16,
    }
}

impl Acc {
    fn new(function: &Function) -> Acc {
        match function {
            Function::Count | Function::CountField(_) => Acc::Count(0),
            Function::CountUniq(_) => Acc::Values(BTreeSet::new()),
            _ => Acc::Numbers(Vec::new()),
        }
    }

    /// Takes what `function` needs of `record`; returns the bytes it kept.
    fn add(&mut self, function: &Function, record: &Record) -> usize {
        match (self, function) {
            (Acc::Count(n), Function::Count) => *n += 1,
            (Acc::Count(n), Function::CountField(f)) => *n += u64::from(record.has_field(f)),
            (Acc::Values(values), Function::CountUniq(f)) => {
                let mut added = 0;
                for v in record.keyword_values(f) {
                    if !values.contains(v) {
                        added += v.len() + 48;
                        values.insert(v.to_owned());
                    }
                }
                return added;
            }
            (Acc::Numbers(numbers), f) => {
                let before = numbers.len();
                numbers.extend(f.field().into_iter().flat_map(|f| record.numbers(f)));
                return (numbers.len() - before) * size_of::<Number>();
            }
            _ => {}
        }
        0
    }

    /// Merges a backend's partial; returns the bytes it kept.
    fn merge(&mut self, partial: Partial) -> Result<usize> {
        let added = match (&mut *self, partial) {
            (Acc::Count(n), Partial::Count(m)) => {
                *n += m;
                0
            }
            (Acc::Values(values), Partial::Values(more)) => more
                .into_iter()
                .map(|v| {
                    let bytes = v.len() + 48;
                    if values.insert(v) {
                        bytes
                    } else {
                        0
                    }
                })
                .sum(),
            (Acc::Values(values), Partial::Distinct(n)) if values.is_empty() => {
                *self = Acc::Distinct(n);
                0
            }
            (Acc::Numbers(numbers), Partial::Numbers(more)) => {
                let bytes = more.len() * size_of::<Number>();
                numbers.extend(more);
                bytes
            }
            _ => return Err(mismatch()),
        };
        Ok(added)
    }

    fn cell(self, function: &Function) -> Cell {
        let number = |n: Option<Number>| n.map_or(Cell::Null, Cell::Number);
        match (self, function) {
            (Acc::Count(n), _) => Cell::Count(n),
            (Acc::Values(values), _) => Cell::Count(values.len() as u64),
            (Acc::Distinct(n), _) => Cell::Count(n),
            (Acc::Numbers(numbers), _) if numbers.is_empty() => Cell::Null,
            (Acc::Numbers(numbers), Function::Sum(_)) => number(exact_sum(&numbers)),
            (Acc::Numbers(numbers), Function::Avg(_)) => number(
                exact_sum(&numbers).and_then(|s| Number::new(s.get() / numbers.len() as f64)),
            ),
            (Acc::Numbers(numbers), Function::Min(_)) => number(numbers.into_iter().min()),
            (Acc::Numbers(numbers), Function::Max(_)) => number(numbers.into_iter().max()),
            (Acc::Numbers(mut numbers), Function::Quantile(q, _)) => {
                numbers.sort_unstable();
                number(nearest_rank(&numbers, *q))
            }
            (Acc::Numbers(_), _) => Cell::Null,
        }
    }
}

/// The record's values of each key: its distinct values of a field (null
/// when it has none), its bucket of a time.
fn key_values(keys: &[GroupKey], record: &Record) -> Vec<Vec<Cell>> {
    keys.iter()
        .map(|key| match key {
            GroupKey::Field(path) => {
                let distinct: BTreeSet<&str> = record.keyword_values(path).collect();
                if distinct.is_empty() {
                    vec![Cell::Null]
                } else {
                    distinct
                        .into_iter()
                        .map(|v| Cell::Text(v.to_owned()))
                        .collect()
                }
            }
            GroupKey::Bucket { step, .. } => vec![Cell::Time(bucket(record.timestamp(), *step))],
        })
        .collect()
}

/// Every combination of one value of each key.
fn combinations(values: &[Vec<Cell>]) -> Vec<Vec<Cell>> {
    let mut combinations = vec![Vec::new()];
    for values in values {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    combinations
}

/// The start of the `step`-wide bucket holding `t`, buckets aligned to
/// multiples of `step` since the epoch; the earliest time there is when
/// that start lies before it (a record of 1677 in buckets of a day).
pub fn bucket(t: Timestamp, step: i64) -> Timestamp {
    bucket_start(t, step).unwrap_or(Timestamp(i64::MIN))
}

/// The start of `t`'s bucket, `None` when it lies before the earliest time.
pub fn bucket_start(t: Timestamp, step: i64) -> Option<Timestamp> {
    t.0.checked_sub(t.0.rem_euclid(step.max(1))).map(Timestamp)
}

fn exact_sum(numbers: &[Number]) -> Option<Number> {
    let mut sum = ExactSum::default();
    numbers.iter().for_each(|&n| sum.add(n));
    sum.total()
}

/// The nearest-rank `q` quantile of `sorted`: the number at rank
/// `max(1, ceil(q × n))`, `q × n` computed as a double.
pub fn nearest_rank(sorted: &[Number], q: Quantile) -> Option<Number> {
    let n = sorted.len();
    let rank = (q.get() * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n.max(1)) - 1).copied()
}

#[cfg(test)]
mod tests;
