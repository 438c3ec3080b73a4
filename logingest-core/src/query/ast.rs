//! The query AST: what a query means, independent of its spelling.
//!
//! The parser produces it, the reference evaluator interprets it, and each
//! backend translates it into its native query through [`Translate`](crate::query::Translate).
//! No backend ever re-parses query strings. Relative times (`now-15m`) are
//! resolved when parsing, so a [`Query`] is a pure value: evaluating it twice
//! gives the same answer.

use std::fmt;
use std::ops::Bound;

use crate::number::Number;
use crate::timestamp::Timestamp;

/// A field a text-like condition applies to.
///
/// Deliberately exhaustive, as [`WildcardPart`] is: each backend must say
/// how it searches each kind, and a new kind would be a change of the
/// language that every backend's `match` should be forced to answer.
/// [`Query`], which grows with the language, is `#[non_exhaustive]`; a
/// backend meets it through [`Translate`](super::Translate).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// The full-text `message` field (token semantics).
    Message,
    /// A keyword field by dotted path: `level`, `metadata.parentResourceId`, `host`...
    /// Never `message` or `timestamp`.
    Keyword(String),
}

impl Field {
    /// The field's name as written in queries.
    pub fn name(&self) -> &str {
        match self {
            Field::Message => crate::record::fields::MESSAGE,
            Field::Keyword(path) => path,
        }
    }
}

/// One element of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WildcardPart {
    /// Literal text, matched exactly (a `*` or `?` here is a literal character).
    Literal(String),
    /// `?`: exactly one character (a Unicode scalar value).
    AnyChar,
    /// `*`: any sequence of characters, including none.
    AnyString,
}

/// A wildcard pattern. It always contains at least one `*` or `?` part, and
/// no two `Literal`s or two `AnyString`s are adjacent (the parser normalises).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Wildcard {
    /// The parts in order.
    pub parts: Vec<WildcardPart>,
}

impl Wildcard {
    /// Whether the whole of `text` matches the pattern.
    pub fn matches(&self, text: &str) -> bool {
        crate::eval::wildcard_matches(&self.parts, text)
    }

    /// The pattern with its literals lowercased like message tokens
    /// ([`crate::lowercase`]): a `message` wildcard matches lowercase tokens.
    pub fn lowercased(&self) -> Wildcard {
        let parts = self
            .parts
            .iter()
            .map(|p| match p {
                WildcardPart::Literal(s) => WildcardPart::Literal(crate::tokenize::lowercase(s)),
                other => other.clone(),
            })
            .collect();
        Wildcard { parts }
    }

    /// The literal runs of the pattern, e.g. for an index prefilter.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            WildcardPart::Literal(s) => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Why a regular expression does not compile: a one-line reason, e.g.
/// `unclosed group`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct RegexError {
    reason: String,
}

impl RegexError {
    /// The reason, as displayed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A compiled regular expression that remembers its source.
///
/// Equality and hashing use the source text only.
#[derive(Clone)]
pub struct RegexPattern {
    source: String,
    compiled: regex::Regex,
}

impl RegexPattern {
    /// Compiles `source` with Rust `regex` syntax (unanchored, case-sensitive
    /// unless the pattern says `(?i)`). The error is a one-line reason, e.g.
    /// `unclosed group`.
    pub fn new(source: &str) -> Result<Self, RegexError> {
        let compiled = regex::RegexBuilder::new(source)
            .size_limit(1 << 20)
            .dfa_size_limit(8 << 20)
            .build()
            .map_err(|e| {
                // Syntax errors span several lines (pattern, caret, "error: ...");
                // the last one says what is wrong.
                let text = e.to_string();
                let last = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                RegexError {
                    reason: last.trim().trim_start_matches("error: ").to_owned(),
                }
            })?;
        Ok(RegexPattern {
            source: source.to_owned(),
            compiled,
        })
    }

    /// The pattern as written between the slashes, with `\/` already turned into `/`.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the regex matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled.is_match(text)
    }
}

impl PartialEq for RegexPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for RegexPattern {}

impl std::hash::Hash for RegexPattern {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.source.hash(state)
    }
}

impl fmt::Debug for RegexPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegexPattern({:?})", self.source)
    }
}

/// A parsed query. See `docs/query-language.md` for the syntax and
/// docs/query-language.md for the semantics this type encodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Query {
    /// Matches every record (the empty query, `*`, `message:*`, `timestamp:*`).
    All,
    /// Exact, case-sensitive match of a whole keyword value (any value of a
    /// multi-valued path).
    Keyword {
        /// Dotted path of a keyword field.
        field: String,
        /// The value, compared byte for byte.
        value: String,
    },
    /// The message contains these tokens in this order, adjacent. Tokens are
    /// already lowercased; one token is a plain term query. No tokens matches
    /// nothing (a value like `"!!"` that has no alphanumeric character).
    Phrase {
        /// Lowercased tokens, in order.
        tokens: Vec<String>,
    },
    /// For [`Field::Message`]: some single token matches the (lowercased)
    /// pattern. For a keyword field: some whole value matches the pattern.
    Wildcard {
        /// The field matched.
        field: Field,
        /// The pattern.
        pattern: Wildcard,
    },
    /// Unanchored regex search in the raw field value (any value of a
    /// multi-valued keyword path).
    Regex {
        /// The field searched.
        field: Field,
        /// The regex.
        pattern: RegexPattern,
    },
    /// `timestamp` within bounds.
    Range {
        /// Lower bound.
        start: Bound<Timestamp>,
        /// Upper bound.
        end: Bound<Timestamp>,
    },
    /// Some value at the keyword path was a JSON number within bounds
    /// (`metadata.http.status:>=500`, `metadata.duration_ms:[100 TO 500]`);
    /// strings, even `"500"`, never are. See [`crate::number`].
    NumberRange {
        /// Dotted path of a keyword field.
        field: String,
        /// Lower bound.
        start: Bound<Number>,
        /// Upper bound.
        end: Bound<Number>,
    },
    /// The keyword path has a value, or some path below it does (`field:*`).
    Exists {
        /// Dotted path.
        field: String,
    },
    /// All of the sub-queries (non-empty).
    And(Vec<Query>),
    /// Any of the sub-queries (non-empty).
    Or(Vec<Query>),
    /// Not the sub-query.
    Not(Box<Query>),
}

impl Query {
    /// `self AND other`, flattening nested conjunctions and dropping `All`.
    pub fn and(self, other: Query) -> Query {
        match (self, other) {
            (Query::All, q) | (q, Query::All) => q,
            (Query::And(mut a), Query::And(b)) => {
                a.extend(b);
                Query::And(a)
            }
            (Query::And(mut a), q) => {
                a.push(q);
                Query::And(a)
            }
            (q, Query::And(mut b)) => {
                b.insert(0, q);
                Query::And(b)
            }
            (a, b) => Query::And(vec![a, b]),
        }
    }

    /// A time range `[start, end)` as a query; `All` when both are open.
    pub fn time_range(start: Option<Timestamp>, end: Option<Timestamp>) -> Query {
        match (start, end) {
            (None, None) => Query::All,
            (s, e) => Query::Range {
                start: s.map_or(Bound::Unbounded, Bound::Included),
                end: e.map_or(Bound::Unbounded, Bound::Excluded),
            },
        }
    }
}
