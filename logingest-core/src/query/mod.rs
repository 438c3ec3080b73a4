//! The query language: syntax, AST and translation to native queries.
//!
//! `parse_query` turns text into a [`Query`]; `Display` on a [`Query`] prints
//! text that parses back to the same AST; [`translate()`] walks an AST for a
//! backend's [`Translate`] implementation. The syntax is specified in
//! `docs/query-language.md`; parsing is split into `lexer` (text → tokens with
//! byte positions), `parser` (the boolean grammar) and `clause` (what a
//! clause means for its field).

mod ast;
mod clause;
mod lexer;
mod parser;
pub mod pipe;
mod print;
mod translate;

#[cfg(test)]
mod tests;

pub use ast::{Field, Query, RegexError, RegexPattern, Wildcard, WildcardPart};
pub use clause::parse_time;
pub use parser::{
    parse_conjuncts, parse_filter_at, parse_pipeline_at, parse_query, parse_query_at,
    parse_search_at, Conjunct,
};
pub use pipe::Pipeline;
pub use translate::{translate, Translate};
