//! (being written)
use super::ast::Query;
use crate::error::QueryError;
use crate::timestamp::Timestamp;
/// Parses a query; relative times are resolved against the system clock.
pub fn parse_query(text: &str) -> Result<Query, QueryError> { parse_query_at(text, Timestamp::now()) }
/// Parses a query; relative times (`now-15m`) are resolved against `now`.
pub fn parse_query_at(_text: &str, _now: Timestamp) -> Result<Query, QueryError> { todo!() }
