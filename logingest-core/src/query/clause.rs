//! One clause as written, and what it means.
//!
//! The lexer reads a clause (`level:error`, `"a phrase"`, `timestamp>=now-1h`,
//! `host:/web-\d+/`) into the plain record of what was written: the field, the
//! operator, and the value with its quoting and escapes. What it *means*
//! depends on the field, and that is decided here, in one place: `message` is
//! full text (tokens, single-token wildcards), `timestamp` is a time (ranges,
//! comparisons, relative times), every other field is a keyword (exact values,
//! whole-value wildcards, existence) whose ranges and comparisons compare
//! its JSON numbers. Keeping the written form separate from
//! the meaning lets the lexer stay ignorant of fields and keeps every
//! field-specific error message next to the rule it enforces.

use std::ops::Bound;

use super::ast::{Field, Query, RegexPattern, Wildcard, WildcardPart};
use crate::error::QueryError;
use crate::number::Number;
use crate::record::fields::{MESSAGE, TIMESTAMP};
use crate::timestamp::{TimeError, Timestamp, NANOS_PER_SECOND};
use crate::tokenize::{lowercase, tokenize};

/// One character of an unquoted term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Char {
    /// The character, with its escaping backslash removed.
    pub c: char,
    /// Whether a backslash escaped it (an escaped `*` is a literal star).
    pub escaped: bool,
    /// Byte offset of the character, or of its backslash when escaped.
    pub pos: usize,
}

/// An unquoted term: a field name, a bare word or an unquoted value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unquoted {
    /// Byte offset of the first character.
    pub pos: usize,
    /// The characters, escapes resolved.
    pub chars: Vec<Char>,
}

impl Unquoted {
    /// The text with escapes resolved.
    pub fn text(&self) -> String {
        self.chars.iter().map(|c| c.c).collect()
    }

    /// Whether an unescaped `*` or `?` occurs.
    pub fn has_wildcard(&self) -> bool {
        self.chars
            .iter()
            .any(|c| !c.escaped && matches!(c.c, '*' | '?'))
    }

    /// Whether the term is made only of unescaped `*` (the "anything" value).
    pub fn is_star(&self) -> bool {
        !self.chars.is_empty() && self.chars.iter().all(|c| !c.escaped && c.c == '*')
    }

    /// The text if no character was escaped (operators and field names).
    pub fn plain(&self) -> Option<String> {
        (!self.chars.iter().any(|c| c.escaped)).then(|| self.text())
    }
}

/// The value of a clause, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// An unquoted value or bare word.
    Unquoted(Unquoted),
    /// A `"quoted"` value, `\"` and `\\` resolved; `pos` is the opening quote.
    Quoted { pos: usize, text: String },
    /// A `/regex/`, `\/` resolved; `pos` is the opening slash.
    Regex { pos: usize, source: String },
    /// A `[a TO b]` range.
    Range(Box<Range>),
}

impl Value {
    /// Byte offset where the value starts.
    pub fn pos(&self) -> usize {
        match self {
            Value::Unquoted(u) => u.pos,
            Value::Quoted { pos, .. } | Value::Regex { pos, .. } => *pos,
            Value::Range(r) => r.pos,
        }
    }
}

/// A `[lower TO upper]` range; bounds are `Unquoted` or `Quoted` values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Range {
    /// Byte offset of the opening bracket.
    pub pos: usize,
    /// The lower bound as written.
    pub lower: Value,
    /// `[` (true) or `{` (false).
    pub lower_inclusive: bool,
    /// The upper bound as written.
    pub upper: Value,
    /// `]` (true) or `}` (false).
    pub upper_inclusive: bool,
}

/// What separates a field from its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `field:value`
    Colon,
    /// `field>=value` or `field:>=value`
    Ge,
    /// `field>value` or `field:>value`
    Gt,
    /// `field<=value` or `field:<=value`
    Le,
    /// `field<value` or `field:<value`
    Lt,
}

/// A field name and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldName {
    /// Byte offset of the name.
    pub pos: usize,
    /// The name (a dotted path, validated).
    pub name: String,
}

/// One search condition: a bare word, phrase or regex, or `field<op>value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    /// The field, `None` for a bare term (which searches `message`).
    pub field: Option<FieldName>,
    /// The operator; always `Colon` for a bare term.
    pub op: Op,
    /// The value.
    pub value: Value,
}

/// What `clause` means, by field; relative times are resolved against `now`.
pub(crate) fn clause_query(clause: Clause, now: Timestamp) -> Result<Query, QueryError> {
    let (field, field_pos) = match &clause.field {
        Some(f) => (f.name.as_str(), f.pos),
        None => (MESSAGE, clause.value.pos()),
    };
    match field {
        TIMESTAMP => timestamp_query(clause.op, clause.value, now),
        MESSAGE if clause.op != Op::Colon || matches!(clause.value, Value::Range(_)) => {
            Err(QueryError::new(
                field_pos,
                "`message` is full text: it has no ranges or comparisons like `>=` \
                 (they apply to `timestamp` and to numbers, `metadata.http.status:>=500`)",
            ))
        }
        MESSAGE => message_query(clause.value),
        _ if clause.op != Op::Colon || matches!(clause.value, Value::Range(_)) => {
            number_query(field, clause.op, clause.value)
        }
        _ => keyword_query(field, clause.value),
    }
}

/// A comparison or range on a keyword path: it compares the path's JSON
/// numbers.
fn number_query(field: &str, op: Op, value: Value) -> Result<Query, QueryError> {
    let (start, end) = match (op, value) {
        (Op::Colon, Value::Range(range)) => (
            number_bound(field, &range.lower, range.lower_inclusive)?,
            number_bound(field, &range.upper, range.upper_inclusive)?,
        ),
        (_, Value::Range(range)) => {
            return Err(QueryError::new(
                range.pos,
                "a comparison takes one number, not a range",
            ))
        }
        (Op::Ge, value) => (number_bound(field, &value, true)?, Bound::Unbounded),
        (Op::Gt, value) => (number_bound(field, &value, false)?, Bound::Unbounded),
        (Op::Le, value) => (Bound::Unbounded, number_bound(field, &value, true)?),
        (Op::Lt, value) => (Bound::Unbounded, number_bound(field, &value, false)?),
        // `clause_query` sends `:` here only with a range.
        (Op::Colon, value) => return keyword_query(field, value),
    };
    Ok(Query::NumberRange {
        field: field.to_owned(),
        start,
        end,
    })
}

/// A bound of a numeric range: `*` is unbounded, anything else a number in
/// JSON syntax, quoted or not.
fn number_bound(field: &str, value: &Value, inclusive: bool) -> Result<Bound<Number>, QueryError> {
    let text = match value {
        Value::Unquoted(term) if term.is_star() => return Ok(Bound::Unbounded),
        Value::Unquoted(term) => term.text(),
        Value::Quoted { text, .. } => text.clone(),
        Value::Regex { source, .. } => format!("/{source}/"),
        Value::Range(_) => String::new(),
    };
    let Some(n) = Number::parse(&text) else {
        return Err(QueryError::new(
            value.pos(),
            format!(
                "expected a number: ranges and comparisons on `{field}` compare JSON numbers \
                 (`{field}:>=500`, `{field}:[0.5 TO 2e3]`), and `{text}` is not one"
            ),
        ));
    };
    Ok(if inclusive {
        Bound::Included(n)
    } else {
        Bound::Excluded(n)
    })
}

fn message_query(value: Value) -> Result<Query, QueryError> {
    match value {
        Value::Quoted { text, .. } => Ok(Query::Phrase {
            tokens: tokenize(&text),
        }),
        Value::Regex { pos, source } => regex_query(Field::Message, pos, &source),
        Value::Unquoted(term) if term.has_wildcard() => {
            let pattern = wildcard(&term)?;
            if pattern.parts == [WildcardPart::AnyString] {
                return Ok(Query::All);
            }
            // U+0307 is allowed because lowercasing `İ` puts it inside a token.
            let bad = pattern
                .literals()
                .flat_map(str::chars)
                .find(|c| !c.is_alphanumeric() && *c != '\u{307}');
            if let Some(bad) = bad {
                return Err(QueryError::new(
                    term.pos,
                    format!(
                        "wildcards on `message` match a single token; `{}` contains `{bad}`, \
                         which is never part of a token (tokens are runs of letters and digits)",
                        term.text()
                    ),
                ));
            }
            let parts = pattern.parts.into_iter().map(|p| match p {
                WildcardPart::Literal(s) => WildcardPart::Literal(lowercase(&s)),
                other => other,
            });
            Ok(Query::Wildcard {
                field: Field::Message,
                pattern: Wildcard {
                    parts: parts.collect(),
                },
            })
        }
        Value::Unquoted(term) => Ok(Query::Phrase {
            tokens: tokenize(&term.text()),
        }),
        Value::Range(range) => unreachable_range(range.pos),
    }
}

fn keyword_query(field: &str, value: Value) -> Result<Query, QueryError> {
    let field = field.to_owned();
    match value {
        Value::Quoted { text, .. } => Ok(Query::Keyword { field, value: text }),
        Value::Regex { pos, source } => regex_query(Field::Keyword(field), pos, &source),
        Value::Unquoted(term) if term.has_wildcard() => {
            let pattern = wildcard(&term)?;
            if pattern.parts == [WildcardPart::AnyString] {
                Ok(Query::Exists { field })
            } else {
                Ok(Query::Wildcard {
                    field: Field::Keyword(field),
                    pattern,
                })
            }
        }
        Value::Unquoted(term) => Ok(Query::Keyword {
            field,
            value: term.text(),
        }),
        Value::Range(range) => unreachable_range(range.pos),
    }
}

/// Ranges are taken before `message_query`/`keyword_query`; this keeps
/// the match exhaustive without a panic.
fn unreachable_range(pos: usize) -> Result<Query, QueryError> {
    Err(QueryError::new(pos, "a range is not a value"))
}

fn regex_query(field: Field, pos: usize, source: &str) -> Result<Query, QueryError> {
    RegexPattern::new(source)
        .map(|pattern| Query::Regex { field, pattern })
        .map_err(|reason| {
            QueryError::new(
                pos,
                format!("invalid regular expression /{source}/: {reason}"),
            )
        })
}

/// Most `?` and `*` runs one wildcard term may hold. Backends compile a
/// wildcard into an automaton over the term dictionary whose size grows with
/// them (tantivy refused 56 `?` after a field prefix); past this, the query is refused here,
/// with the term's position, on every backend alike.
pub const MAX_WILDCARDS: usize = 32;

/// The normalised wildcard pattern of an unquoted term: adjacent literals
/// merged, runs of `*` collapsed, escaped characters literal; refused with
/// more than [`MAX_WILDCARDS`] wildcards.
fn wildcard(term: &Unquoted) -> Result<Wildcard, QueryError> {
    let mut parts: Vec<WildcardPart> = Vec::new();
    for ch in &term.chars {
        match (ch.escaped, ch.c, parts.last_mut()) {
            (false, '*', Some(WildcardPart::AnyString)) => {}
            (false, '*', _) => parts.push(WildcardPart::AnyString),
            (false, '?', _) => parts.push(WildcardPart::AnyChar),
            (_, c, Some(WildcardPart::Literal(s))) => s.push(c),
            (_, c, _) => parts.push(WildcardPart::Literal(c.to_string())),
        }
    }
    let wildcards = parts
        .iter()
        .filter(|p| !matches!(p, WildcardPart::Literal(_)))
        .count();
    if wildcards > MAX_WILDCARDS {
        return Err(QueryError::new(
            term.pos,
            format!(
                "`{}` has {wildcards} wildcards (`?` and runs of `*`); at most {MAX_WILDCARDS} are \
                 allowed in one term (a regular expression such as `/a.{{100}}b/` has no such limit)",
                term.text()
            ),
        ));
    }
    Ok(Wildcard { parts })
}

fn timestamp_query(op: Op, value: Value, now: Timestamp) -> Result<Query, QueryError> {
    let pos = value.pos();
    let (start, end) = match (op, value) {
        (_, Value::Regex { .. }) => {
            return Err(QueryError::new(
                pos,
                "regular expressions do not apply to `timestamp`; use a range like \
                 `timestamp:[2023-09-10 TO 2023-09-15]`",
            ))
        }
        (Op::Colon, Value::Unquoted(term)) if term.is_star() => return Ok(Query::All),
        (Op::Colon, Value::Range(range)) => (
            bound(&range.lower, range.lower_inclusive, now)?,
            bound(&range.upper, range.upper_inclusive, now)?,
        ),
        (_, Value::Range(_)) => {
            return Err(QueryError::new(
                pos,
                "a comparison takes one time, not a range",
            ))
        }
        (Op::Colon, value) => {
            let t = time_value(&value, now)?;
            (Bound::Included(t), Bound::Included(t))
        }
        (Op::Ge, value) => (bound(&value, true, now)?, Bound::Unbounded),
        (Op::Gt, value) => (bound(&value, false, now)?, Bound::Unbounded),
        (Op::Le, value) => (Bound::Unbounded, bound(&value, true, now)?),
        (Op::Lt, value) => (Bound::Unbounded, bound(&value, false, now)?),
    };
    Ok(Query::Range { start, end })
}

/// A range bound: `*` is unbounded, anything else a time.
fn bound(value: &Value, inclusive: bool, now: Timestamp) -> Result<Bound<Timestamp>, QueryError> {
    if matches!(value, Value::Unquoted(term) if term.is_star()) {
        return Ok(Bound::Unbounded);
    }
    let t = time_value(value, now)?;
    Ok(if inclusive {
        Bound::Included(t)
    } else {
        Bound::Excluded(t)
    })
}

/// A time value: RFC 3339, a bare date (midnight UTC) or `now[+-]N<unit>`.
fn time_value(value: &Value, now: Timestamp) -> Result<Timestamp, QueryError> {
    let pos = value.pos();
    let text = match value {
        Value::Unquoted(term) if term.has_wildcard() => {
            return Err(QueryError::new(
                pos,
                "wildcards do not apply to `timestamp`; use a range like \
                 `timestamp:[2023-09-10 TO 2023-09-15]`",
            ))
        }
        Value::Unquoted(term) => term.text(),
        Value::Quoted { text, .. } => text.clone(),
        Value::Regex { .. } | Value::Range(_) => {
            return Err(QueryError::new(pos, "expected a time"))
        }
    };
    parse_time(&text, now).map_err(|detail| {
        QueryError::new(
            pos,
            format!(
                "expected a time: RFC 3339 (`2023-09-15T08:00:00Z`), a date (`2023-09-15`) \
                 or a relative time (`now-15m`); {detail}"
            ),
        )
    })
}

/// Parses a time as the query language spells it: RFC 3339, a bare date
/// (midnight UTC), or `now`, `now-15m`, `now+1d` (units s, m, h, d, w)
/// resolved against `now`. The error says what was wrong, without position.
/// Also used for the HTTP API's `from`/`to` parameters.
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    if let Some(offset) = text.strip_prefix("now") {
        relative(text, offset, now)
    } else if text.contains(['T', 't', ' ']) {
        Timestamp::parse_rfc3339(text)
    } else {
        Timestamp::parse_date(text)
    }
}

/// `now`, `now-15m`, `now+1d`: units s, m, h, d, w.
fn relative(text: &str, offset: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    if offset.is_empty() {
        return Ok(now);
    }
    let (negative, rest) = match (offset.strip_prefix('-'), offset.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (_, Some(rest)) => (false, rest),
        _ => {
            return Err(TimeError::new(format!(
                "`{text}` should be `now`, `now-N<unit>` or `now+N<unit>`"
            )))
        }
    };
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (number, unit) = rest.split_at(digits);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => {
            return Err(TimeError::new(format!(
                "`{text}` should be a number followed by a unit s, m, h, d or w (`now-15m`)"
            )))
        }
    };
    if number.is_empty() {
        return Err(TimeError::new(format!(
            "`{text}` has no number before its unit (`now-15m`)"
        )));
    }
    let out_of_range = || {
        TimeError::new(format!(
            "`{text}` is outside the supported years 1678..2262"
        ))
    };
    let delta = number
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(seconds * NANOS_PER_SECOND))
        .ok_or_else(out_of_range)?;
    let nanos = if negative {
        now.as_nanos().checked_sub(delta)
    } else {
        now.as_nanos().checked_add(delta)
    };
    nanos.map(Timestamp::from_nanos).ok_or_else(out_of_range)
}
