//! The query language: syntax, AST and translation to native queries.
//!
//! `parse_query` turns text into a [`Query`]; `Display` on a [`Query`] prints
//! text that parses back to the same AST; [`translate`] walks an AST for a
//! backend's [`Translate`] implementation.

mod ast;
mod lexer;
mod parser;
mod print;
mod translate;

pub use ast::{Field, Query, RegexPattern, Wildcard, WildcardPart};
pub use parser::{parse_query, parse_query_at};
pub use translate::{translate, Translate};
