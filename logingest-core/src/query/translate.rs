//! The bridge from the AST to a backend's native query.
//!
//! A backend implements [`Translate`] (one method per AST node, leaves and
//! combinators) and calls [`translate`], which walks the tree bottom-up. The
//! walk lives here once, so a backend writes only its constructors and never
//! re-parses query strings.

use std::ops::Bound;

use super::ast::{Field, Query, RegexPattern, Wildcard};
use crate::error::Result;
use crate::number::Number;
use crate::timestamp::Timestamp;

/// Builds a native query of type `Output` from AST nodes.
///
/// Every method may fail with [`crate::Error::InvalidQuery`] (a construct the
/// backend cannot express) or another error; the walk stops at the first.
///
/// As the language grows ([`Query`] is `#[non_exhaustive]`), new methods
/// come with a default that refuses the construct with a precise error, so
/// a backend written against an older version still compiles and says
/// what it cannot search.
pub trait Translate {
    /// The backend's native query type.
    type Output;

    /// Matches every record.
    fn all(&mut self) -> Result<Self::Output>;
    /// Exact keyword match.
    fn keyword(&mut self, field: &str, value: &str) -> Result<Self::Output>;
    /// Message tokens adjacent in order (one token: a term; none: nothing).
    fn phrase(&mut self, tokens: &[String]) -> Result<Self::Output>;
    /// Wildcard on a message token or a whole keyword value.
    fn wildcard(&mut self, field: &Field, pattern: &Wildcard) -> Result<Self::Output>;
    /// Unanchored regex on the raw value.
    fn regex(&mut self, field: &Field, pattern: &RegexPattern) -> Result<Self::Output>;
    /// Timestamp range.
    fn range(&mut self, start: Bound<Timestamp>, end: Bound<Timestamp>) -> Result<Self::Output>;
    /// A JSON number at the keyword path within bounds. The default
    /// refuses the query: a backend written before numeric comparisons
    /// existed says it cannot search them.
    fn number_range(
        &mut self,
        field: &str,
        start: Bound<Number>,
        end: Bound<Number>,
    ) -> Result<Self::Output> {
        let _ = (start, end);
        Err(crate::Error::InvalidQuery(crate::QueryError::new(
            0,
            format!("this backend cannot compare numbers (`{field}:>=...`)"),
        )))
    }
    /// The keyword path or something below it exists.
    fn exists(&mut self, field: &str) -> Result<Self::Output>;
    /// Conjunction of translated children (at least one).
    fn and(&mut self, children: Vec<Self::Output>) -> Result<Self::Output>;
    /// Disjunction of translated children (at least one).
    fn or(&mut self, children: Vec<Self::Output>) -> Result<Self::Output>;
    /// Negation of a translated child.
    fn not(&mut self, child: Self::Output) -> Result<Self::Output>;
}

/// Translates `query` bottom-up with `t`.
pub fn translate<T: Translate + ?Sized>(query: &Query, t: &mut T) -> Result<T::Output> {
    match query {
        Query::All => t.all(),
        Query::Keyword { field, value } => t.keyword(field, value),
        Query::Phrase { tokens } => t.phrase(tokens),
        Query::Wildcard { field, pattern } => t.wildcard(field, pattern),
        Query::Regex { field, pattern } => t.regex(field, pattern),
        Query::Range { start, end } => t.range(*start, *end),
        Query::NumberRange { field, start, end } => t.number_range(field, *start, *end),
        Query::Exists { field } => t.exists(field),
        Query::And(children) => {
            let children = children
                .iter()
                .map(|c| translate(c, t))
                .collect::<Result<Vec<_>>>()?;
            t.and(children)
        }
        Query::Or(children) => {
            let children = children
                .iter()
                .map(|c| translate(c, t))
                .collect::<Result<Vec<_>>>()?;
            t.or(children)
        }
        Query::Not(child) => {
            let child = translate(child, t)?;
            t.not(child)
        }
    }
}
