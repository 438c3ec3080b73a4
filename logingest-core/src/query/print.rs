//! Printing a [`Query`] as query text that parses back to the same AST.
//!
//! Used to show users the query the engine understood, to log queries, and to
//! hand a query to another process as text. The printer is deliberately
//! simple rather than minimal: keyword values and phrases are always quoted,
//! every `And`/`Or` inside another node is parenthesised, and every character
//! that could mean something in an unquoted wildcard is backslash-escaped.
//! `parse_query(&q.to_string()) == Ok(q)` holds for every AST the parser
//! produces (checked by a property test in `query/tests.rs`).

use std::fmt::{self, Display, Formatter, Write};
use std::ops::Bound;

use super::ast::{Query, Wildcard, WildcardPart};
use crate::record::fields::{MESSAGE, TIMESTAMP};
use crate::timestamp::Timestamp;

impl Display for Query {
    /// Query text for this AST: `level:"error" AND (message:"failed" OR -traceId:*)`.
    ///
    /// `And([])` prints as `*` and `Or([])` as `NOT *` (what they match); the
    /// parser never produces them.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Query::All => f.write_str("*"),
            Query::Keyword { field, value } => {
                write!(f, "{field}:")?;
                write_quoted(f, value)
            }
            Query::Phrase { tokens } => {
                write!(f, "{MESSAGE}:")?;
                write_quoted(f, &tokens.join(" "))
            }
            Query::Wildcard { field, pattern } => {
                write!(f, "{}:", field.name())?;
                write_wildcard(f, pattern)
            }
            Query::Regex { field, pattern } => {
                write!(f, "{}:/", field.name())?;
                write_regex(f, pattern.as_str())?;
                f.write_char('/')
            }
            Query::Range { start, end } => write_range(f, start, end),
            Query::NumberRange { field, start, end } => {
                write!(f, "{field}:")?;
                write_bounds(f, start, end)
            }
            Query::Exists { field } => write!(f, "{field}:*"),
            Query::And(children) => write_list(f, children, " AND ", "*"),
            Query::Or(children) => write_list(f, children, " OR ", "NOT *"),
            Query::Not(child) => {
                f.write_str("NOT ")?;
                write_child(f, child)
            }
        }
    }
}

/// A child of `And`, `Or` or `Not`: parenthesised if it is itself `And`/`Or`,
/// because the parser does not flatten parentheses.
fn write_child(f: &mut Formatter<'_>, query: &Query) -> fmt::Result {
    match query {
        Query::And(_) | Query::Or(_) => write!(f, "({query})"),
        _ => write!(f, "{query}"),
    }
}

fn write_list(f: &mut Formatter<'_>, children: &[Query], sep: &str, empty: &str) -> fmt::Result {
    if children.is_empty() {
        return f.write_str(empty);
    }
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        write_child(f, child)?;
    }
    Ok(())
}

/// `"..."` with `\` and `"` escaped.
fn write_quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in text.chars() {
        if c == '"' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('"')
}

/// An unquoted pattern; literal characters that the lexer would treat
/// specially are escaped.
fn write_wildcard(f: &mut Formatter<'_>, pattern: &Wildcard) -> fmt::Result {
    let mut first = true;
    for part in &pattern.parts {
        match part {
            WildcardPart::AnyString => f.write_char('*')?,
            WildcardPart::AnyChar => f.write_char('?')?,
            WildcardPart::Literal(text) => {
                for c in text.chars() {
                    if needs_escape(c) || (first && c == '-') {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                    first = false;
                }
            }
        }
        first = false;
    }
    Ok(())
}

/// Whether `c` must be escaped in an unquoted value.
fn needs_escape(c: char) -> bool {
    c.is_whitespace() || "()[]{}<>:\"\\/*?|".contains(c)
}

/// A regex source with `/` written `\/`; other `\x` pairs are kept as they are
/// so the second character is never taken for the closing slash.
fn write_regex(f: &mut Formatter<'_>, source: &str) -> fmt::Result {
    let mut chars = source.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                f.write_char('\\')?;
                if let Some(next) = chars.next() {
                    f.write_char(next)?;
                }
            }
            '/' => f.write_str("\\/")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// `timestamp:[a TO b]`, `{`/`}` for exclusive bounds, `*` for unbounded.
fn write_range(
    f: &mut Formatter<'_>,
    start: &Bound<Timestamp>,
    end: &Bound<Timestamp>,
) -> fmt::Result {
    write!(f, "{TIMESTAMP}:")?;
    write_bounds(f, start, end)
}

/// `[a TO b]`, `{`/`}` for exclusive bounds, `*` for unbounded.
fn write_bounds<T: Display>(
    f: &mut Formatter<'_>,
    start: &Bound<T>,
    end: &Bound<T>,
) -> fmt::Result {
    match start {
        Bound::Included(t) => write!(f, "[{t}")?,
        Bound::Excluded(t) => write!(f, "{{{t}")?,
        Bound::Unbounded => f.write_str("[*")?,
    }
    f.write_str(" TO ")?;
    match end {
        Bound::Included(t) => write!(f, "{t}]"),
        Bound::Excluded(t) => write!(f, "{t}}}"),
        Bound::Unbounded => f.write_str("*]"),
    }
}
