//! Parsing the pipes after a filter's first `|`.
//!
//! The pipe language is small and regular (words, names, numbers,
//! parentheses and commas), so it has its own scanner here instead of
//! sharing the filter's lexer, whose clauses it never contains. As in the
//! filter, every error carries the byte offset it is about, and the parser
//! checks what only the whole chain can say: that `sort` names a column
//! the rows have, that names are not repeated, that `sort` comes after
//! rows are made and `fields` only where records are returned.
//!
//! ```text
//! pipes    := ("|" pipe)+
//! pipe     := "stats" function ("," function)* ("by" keys)?
//!           | "top" count "by" keys
//!           | "sort" "by" "(" column ("asc" | "desc")? ("," ...)* ")"
//!           | "limit" count
//!           | "fields" name ("," name)*
//! function := call ("as" name)?
//! call     := "count" "(" name? ")" | "count_uniq" "(" name ")"
//!           | ("sum" | "avg" | "min" | "max") "(" name ")"
//!           | "quantile" "(" number "," name ")"
//! keys     := "(" key ("," key)* ")"
//! key      := name | "bucket" "(" "timestamp" "," duration ")"
//! column   := name | call | key
//! ```

use std::collections::HashSet;

use super::{Function, GroupKey, Named, Pipe, Quantile, SortKey, Stats, Top, TOP_COUNT};
use crate::error::QueryError;
use crate::record::fields::{MESSAGE, TIMESTAMP};
use crate::timestamp::NANOS_PER_SECOND;

/// Most rows `top` and `limit` may ask for.
pub const MAX_ROWS: usize = 100_000;

/// Parses the pipes of `text` from the `|` at `start`.
pub(crate) fn pipes(text: &str, start: usize) -> Result<Vec<Pipe>, QueryError> {
    let mut p = Scanner { text, pos: start };
    let mut pipes = Vec::new();
    // The columns of the rows so far; `None` while the pipeline returns records.
    let mut columns: Option<Vec<String>> = None;
    loop {
        p.skip_spaces();
        if p.eat('|').is_none() {
            return match p.peek() {
                None => Ok(pipes),
                Some(_) => Err(p.expected("`|` before the next pipe")),
            };
        }
        p.skip_spaces();
        let word_at = p.pos;
        let word = p.word();
        let pipe = match word {
            "stats" | "top" if !pipes.is_empty() => {
                return Err(QueryError::new(
                    word_at,
                    format!("`{word}` comes right after the filter: rows are made once, from the matching records"),
                ));
            }
            "stats" => {
                let stats = p.stats()?;
                columns = Some(unique_columns(
                    stats.by.iter().map(GroupKey::name).chain(stats.functions.iter().map(|f| f.name.clone())),
                    word_at,
                )?);
                Pipe::Stats(stats)
            }
            "top" => {
                let top = p.top()?;
                columns = Some(unique_columns(
                    top.by.iter().map(GroupKey::name).chain([TOP_COUNT.to_owned()]),
                    word_at,
                )?);
                Pipe::Top(top)
            }
            "sort" => {
                let Some(columns) = &columns else {
                    return Err(QueryError::new(
                        word_at,
                        "`sort` orders rows: it follows `stats` or `top` (records come newest first, or oldest first with order=asc)",
                    ));
                };
                Pipe::Sort(p.sort(columns)?)
            }
            "limit" => Pipe::Limit(p.count("limit")?),
            "fields" if columns.is_some() => {
                return Err(QueryError::new(
                    word_at,
                    "`fields` chooses what a record search returns; after `stats` or `top` there are rows, not records",
                ));
            }
            "fields" => Pipe::Fields(p.fields()?),
            "" => return Err(p.expected("a pipe (`stats`, `top`, `sort`, `limit` or `fields`) after `|`")),
            other => {
                return Err(QueryError::new(
                    word_at,
                    format!("unknown pipe `{other}`: expected `stats`, `top`, `sort`, `limit` or `fields` after `|`"),
                ))
            }
        };
        pipes.push(pipe);
    }
}

/// The names, refused at `pos` if one repeats.
fn unique_columns(
    names: impl Iterator<Item = String>,
    pos: usize,
) -> Result<Vec<String>, QueryError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for name in names {
        if !seen.insert(name.clone()) {
            return Err(QueryError::new(
                pos,
                format!("two columns are named `{name}`; give one another name with `as`"),
            ));
        }
        out.push(name);
    }
    Ok(out)
}

struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn skip_spaces(&mut self) {
        while let Some(c) = self.peek().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    /// Eats `c` (after spaces), returning where it was.
    fn eat(&mut self, c: char) -> Option<usize> {
        self.skip_spaces();
        (self.peek() == Some(c)).then(|| {
            self.pos += c.len_utf8();
            self.pos - c.len_utf8()
        })
    }

    /// An error at the current position: `what` was expected, and what
    /// was found.
    fn expected(&self, what: &str) -> QueryError {
        let rest = &self.text[self.pos..];
        let found = match rest.chars().next() {
            None => "the end of the query".to_owned(),
            Some(_) => format!(
                "`{}`",
                rest.chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(20)
                    .collect::<String>()
            ),
        };
        QueryError::new(self.pos, format!("expected {what}, found {found}"))
    }

    fn expect(&mut self, c: char, what: &str) -> Result<usize, QueryError> {
        self.eat(c).ok_or_else(|| self.expected(what))
    }

    /// A run of name characters (letters, digits, `_ . @ $ -`), possibly empty.
    fn word(&mut self) -> &'a str {
        self.skip_spaces();
        let start = self.pos;
        while let Some(c) = self
            .peek()
            .filter(|&c| c.is_alphanumeric() || "_.@$-".contains(c))
        {
            self.pos += c.len_utf8();
        }
        &self.text[start..self.pos]
    }

    /// A field or column name.
    fn name(&mut self, what: &str) -> Result<(usize, String), QueryError> {
        self.skip_spaces();
        let at = self.pos;
        let word = self.word();
        if word.is_empty() || word.starts_with('-') {
            self.pos = at;
            return Err(self.expected(what));
        }
        Ok((at, word.to_owned()))
    }

    /// A keyword field a function or group reads: not `message`, and
    /// `timestamp` only through `bucket`.
    fn field(&mut self) -> Result<String, QueryError> {
        let (at, name) = self.name("a field name")?;
        match name.as_str() {
            MESSAGE => Err(QueryError::new(
                at,
                "`message` is full text; stats and groups take keyword fields (`level`, `metadata.http.status`)",
            )),
            TIMESTAMP => Err(QueryError::new(
                at,
                "group by time with `bucket(timestamp, 1m)`; functions take keyword fields",
            )),
            _ => Ok(name),
        }
    }

    /// A whole number of rows, 1 to [`MAX_ROWS`].
    fn count(&mut self, pipe: &str) -> Result<usize, QueryError> {
        self.skip_spaces();
        let at = self.pos;
        let word = self.word();
        match word.parse::<usize>() {
            Ok(n) if (1..=MAX_ROWS).contains(&n) => Ok(n),
            _ if word.is_empty() => Err(self.expected(&format!("a number of rows after `{pipe}`"))),
            _ => Err(QueryError::new(
                at,
                format!("`{pipe}` takes a whole number of rows from 1 to {MAX_ROWS}, not `{word}`"),
            )),
        }
    }

    fn stats(&mut self) -> Result<Stats, QueryError> {
        let mut functions = Vec::new();
        loop {
            let (function, name) = self.call()?;
            let save = self.pos;
            let named = if self.word() == "as" {
                let (_, alias) = self.name("a column name after `as`")?;
                Named {
                    function,
                    name: alias,
                    explicit: true,
                }
            } else {
                self.pos = save;
                Named {
                    function,
                    name,
                    explicit: false,
                }
            };
            functions.push(named);
            if self.eat(',').is_none() {
                break;
            }
        }
        let save = self.pos;
        let by = if self.word() == "by" {
            self.keys()?
        } else {
            self.pos = save;
            Vec::new()
        };
        Ok(Stats { functions, by })
    }

    fn top(&mut self) -> Result<Top, QueryError> {
        let n = self.count("top")?;
        if self.word() != "by" {
            return Err(self.expected("`by (field, ...)` after `top N`"));
        }
        Ok(Top {
            n,
            by: self.keys()?,
        })
    }

    /// `name(args)`: a stats function and its text.
    fn call(&mut self) -> Result<(Function, String), QueryError> {
        self.skip_spaces();
        let at = self.pos;
        let name = self.word();
        if name.is_empty() {
            return Err(self.expected("a function such as `count()` after `stats`"));
        }
        self.expect('(', &format!("`(` after `{name}`"))?;
        let one = |s: &mut Self| -> Result<String, QueryError> {
            let field = s.field()?;
            s.expect(')', "`)` after the field")?;
            Ok(field)
        };
        let function = match name {
            "count" => {
                if self.eat(')').is_some() {
                    Function::Count
                } else {
                    Function::CountField(one(self)?)
                }
            }
            "count_uniq" => Function::CountUniq(one(self)?),
            "sum" => Function::Sum(one(self)?),
            "avg" => Function::Avg(one(self)?),
            "min" => Function::Min(one(self)?),
            "max" => Function::Max(one(self)?),
            "quantile" => {
                self.skip_spaces();
                let q_at = self.pos;
                let text = self.word();
                let q = crate::number::Number::parse(text)
                    .and_then(|n| Quantile::new(n.get()))
                    .ok_or_else(|| {
                        QueryError::new(q_at, format!("`quantile` takes a number from 0 to 1 first (`quantile(0.99, metadata.duration_ms)`), not `{text}`"))
                    })?;
                self.expect(',', "`,` after the quantile")?;
                Function::Quantile(q, one(self)?)
            }
            other => {
                return Err(QueryError::new(
                    at,
                    format!("unknown function `{other}`: expected count, count_uniq, sum, avg, min, max or quantile"),
                ))
            }
        };
        let text = function.to_string();
        Ok((function, text))
    }

    /// `(key, ...)`.
    fn keys(&mut self) -> Result<Vec<GroupKey>, QueryError> {
        self.expect('(', "`(` after `by`")?;
        let mut keys = Vec::new();
        loop {
            keys.push(self.key()?);
            if self.eat(',').is_none() {
                break;
            }
        }
        self.expect(')', "`,` or `)` in the list of groups")?;
        Ok(keys)
    }

    /// A field, or `bucket(timestamp, step)`.
    fn key(&mut self) -> Result<GroupKey, QueryError> {
        self.skip_spaces();
        let save = self.pos;
        if self.word() == "bucket" && self.eat('(').is_some() {
            let (at, field) = self.name("`timestamp`")?;
            if field != TIMESTAMP {
                return Err(QueryError::new(
                    at,
                    "`bucket` groups `timestamp` only: `bucket(timestamp, 5m)`",
                ));
            }
            self.expect(',', "`,` after `timestamp`")?;
            self.skip_spaces();
            let step_at = self.pos;
            let written = self.word().to_owned();
            let step = duration(&written).ok_or_else(|| {
                let reason = match duration_syntax(&written) {
                    true => format!("`{written}` is longer than the time range of timestamps"),
                    false => format!("expected a duration such as `30s`, `1m`, `1h` or `1d` (units ms, s, m, h, d, w), not `{written}`"),
                };
                QueryError::new(step_at, reason)
            })?;
            self.expect(')', "`)` after the bucket's duration")?;
            return Ok(GroupKey::Bucket { step, written });
        }
        self.pos = save;
        Ok(GroupKey::Field(self.field()?))
    }

    fn sort(&mut self, columns: &[String]) -> Result<Vec<SortKey>, QueryError> {
        if self.word() != "by" {
            return Err(self.expected("`by (column, ...)` after `sort`"));
        }
        self.expect('(', "`(` after `sort by`")?;
        let mut keys = Vec::new();
        loop {
            self.skip_spaces();
            let at = self.pos;
            let column = self.column()?;
            if !columns.contains(&column) {
                return Err(QueryError::new(
                    at,
                    format!(
                        "the rows have no column `{column}`; they have {}",
                        quoted_list(columns)
                    ),
                ));
            }
            let save = self.pos;
            let descending = match self.word() {
                "desc" => true,
                "asc" => false,
                _ => {
                    self.pos = save;
                    false
                }
            };
            keys.push(SortKey { column, descending });
            if self.eat(',').is_none() {
                break;
            }
        }
        self.expect(')', "`,` or `)` in the sort columns")?;
        Ok(keys)
    }

    /// A column as `sort` names it: a name, or a function or bucket written
    /// as in `stats` (`count()`, `bucket(timestamp, 1m)`), in its canonical text.
    fn column(&mut self) -> Result<String, QueryError> {
        let save = self.pos;
        let word = self.word();
        self.skip_spaces();
        let call = self.peek() == Some('(');
        self.pos = save;
        match (word, call) {
            ("bucket", true) => Ok(self.key()?.name()),
            (_, true) => Ok(self.call()?.1),
            _ => Ok(self.name("a column name")?.1),
        }
    }

    fn fields(&mut self) -> Result<Vec<String>, QueryError> {
        let mut fields = Vec::new();
        loop {
            let (at, name) = self.name("a field name")?;
            if fields.contains(&name) {
                return Err(QueryError::new(at, format!("`{name}` is listed twice")));
            }
            fields.push(name);
            if self.eat(',').is_none() {
                return Ok(fields);
            }
        }
    }
}

/// `a`, `b` and `c`.
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// Whether `text` is written as a positive duration (digits, then a
/// unit), whether or not it fits.
fn duration_syntax(text: &str) -> bool {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(0);
    let nonzero = text[..digits].bytes().any(|b| b != b'0');
    nonzero && ["ms", "s", "m", "h", "d", "w"].contains(&&text[digits..])
}

/// A duration as written in `bucket`: a whole positive number and a unit
/// `ms`, `s`, `m`, `h`, `d` (24 h) or `w`; nanoseconds.
fn duration(text: &str) -> Option<i64> {
    let digits = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(digits);
    let unit: i64 = match unit {
        "ms" => NANOS_PER_SECOND / 1000,
        "s" => NANOS_PER_SECOND,
        "m" => 60 * NANOS_PER_SECOND,
        "h" => 3_600 * NANOS_PER_SECOND,
        "d" => 86_400 * NANOS_PER_SECOND,
        "w" => 604_800 * NANOS_PER_SECOND,
        _ => return None,
    };
    number
        .parse::<i64>()
        .ok()
        .filter(|&n| n > 0)?
        .checked_mul(unit)
}
