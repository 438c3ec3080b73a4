//! The parser: tokens → [`Query`].
//!
//! A hand-written recursive-descent parser rather than a parser-combinator
//! crate: the grammar is five rules, errors must carry exact byte positions and
//! say what was expected, and the core crate should not take a dependency for
//! that. Precedence is encoded by the call chain `or → and → unary → primary`
//! (NOT binds tightest, then AND, then OR). Nesting (parentheses and `NOT`)
//! is limited to [`MAX_DEPTH`] levels so no input can overflow the stack.
//!
//! ```text
//! query   := ε | or
//! or      := and ("OR" and)*
//! and     := unary ("AND"? unary)*
//! unary   := ("NOT" | "-") unary | primary
//! primary := "(" or ")" | clause
//! ```
//!
//! Each clause is given its meaning (which depends on its field) by
//! `clause.rs` as soon as the parser reaches it, so errors come out in
//! left-to-right order.

use std::ops::Range;

use super::ast::Query;
use super::clause::{clause_query, FieldName};
use super::lexer::{Lexer, Token, TokenKind};
use super::pipe::Pipeline;
use crate::error::QueryError;
use crate::timestamp::Timestamp;

/// How deeply parentheses and `NOT`s may nest.
const MAX_DEPTH: usize = 64;

/// Parses a query; relative times are resolved against the system clock.
pub fn parse_query(text: &str) -> Result<Query, QueryError> {
    parse_query_at(text, Timestamp::now())
}

/// Parses a query; relative times (`now-15m`) are resolved against `now`.
///
/// The syntax is described in `docs/query-language.md`. Errors carry the byte
/// offset in `text` where the problem starts. A query with pipes
/// (`level:error | stats count()`) is refused at its first `|`: pipes are
/// read by [`parse_pipeline_at`].
pub fn parse_query_at(text: &str, now: Timestamp) -> Result<Query, QueryError> {
    let (query, pipe) = filter(text, now)?;
    match pipe {
        None => Ok(query),
        Some(pos) => Err(QueryError::new(
            pos,
            "pipes (`| stats ...`, `| top ...`, `| fields ...`) are not taken here: \
             this search takes a filter only, and the query API runs pipes",
        )),
    }
}

/// Parses the query of a record search: a filter, then optionally
/// `| fields a, b` (what each record returns; the last such pipe counts).
/// Pipes that make or order rows (`stats`, `top`, `sort`, `limit`) are
/// refused at the first `|`: rows come from the query API, and records
/// page with a search's own limit.
pub fn parse_search_at(
    text: &str,
    now: Timestamp,
) -> Result<(Query, Option<Vec<String>>), QueryError> {
    let pipeline = parse_pipeline_at(text, now)?;
    if pipeline
        .pipes
        .iter()
        .all(|p| matches!(p, super::pipe::Pipe::Fields(_)))
    {
        let fields = pipeline.fields().map(<[String]>::to_vec);
        return Ok((pipeline.filter, fields));
    }
    let (_, at) = filter(text, now)?;
    Err(QueryError::new(
        at.unwrap_or(0),
        "a record search takes a filter and `| fields ...`; `stats`, `top`, `sort` and \
         `limit` make rows, which the query API answers (records page with the search's \
         own limit)",
    ))
}

/// Parses a filter and the pipes after it (`level:error | stats count()
/// by (resourceId)`); a query without `|` is a pipeline without pipes.
pub fn parse_pipeline_at(text: &str, now: Timestamp) -> Result<Pipeline, QueryError> {
    let (filter, pipe) = filter(text, now)?;
    let pipes = match pipe {
        Some(pos) => super::pipe::parse::pipes(text, pos)?,
        None => Vec::new(),
    };
    Ok(Pipeline { filter, pipes })
}

/// The filter of `text`, and where its first `|` is (the pipes are not
/// read): for a client that chooses an endpoint by whether a query has
/// pipes, leaving their errors to the server.
pub fn parse_filter_at(text: &str, now: Timestamp) -> Result<(Query, Option<usize>), QueryError> {
    filter(text, now)
}

fn filter(text: &str, now: Timestamp) -> Result<(Query, Option<usize>), QueryError> {
    let mut parser = Parser {
        lexer: Lexer::new(text),
        peeked: None,
        depth: 0,
        group: None,
        now,
    };
    let query = match parser.peek()? {
        None => return Ok((Query::All, None)),
        Some(t) if t.kind == TokenKind::Pipe => Query::All,
        Some(_) => parser.or()?,
    };
    match parser.next()? {
        None => Ok((query, None)),
        Some(token) if token.kind == TokenKind::Pipe => Ok((query, Some(token.pos))),
        Some(token) => Err(QueryError::new(
            token.pos,
            format!("unexpected {} with no matching `(`", token.kind.describe()),
        )),
    }
}

/// One clause of a query's top-level conjunction, with where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Conjunct {
    /// Byte range of the clause in the query text (without surrounding spaces).
    pub span: Range<usize>,
    /// What the clause means.
    pub query: Query,
}

/// Splits a query into the clauses of its top-level `AND`, keeping each
/// clause's place in the text.
///
/// This is what a user interface needs to keep structured filters and the
/// query text in step: clauses it understands become filters, the others are
/// kept exactly as the user wrote them. A query whose top level is an `OR` is
/// one conjunct (the whole text); an empty query has none. Errors are those of
/// [`parse_query_at`].
///
/// Only the filter is split: the conjuncts end at the first `|`, and the
/// pipes after it are not read (see [`parse_pipeline_at`]).
pub fn parse_conjuncts(text: &str, now: Timestamp) -> Result<Vec<Conjunct>, QueryError> {
    let (whole, _) = filter(text, now)?;
    let mut parser = Parser {
        lexer: Lexer::new(text),
        peeked: None,
        depth: 0,
        group: None,
        now,
    };
    let mut conjuncts = Vec::new();
    while let Some(first) = parser.peek()? {
        if first.kind == TokenKind::Pipe {
            break;
        }
        if first.kind == TokenKind::And {
            parser.take()?;
            continue;
        }
        let start = first.pos;
        let query = parser.unary()?;
        let end = parser.lexer.offset();
        conjuncts.push(Conjunct {
            span: start..end,
            query,
        });
        if matches!(parser.peek()?, Some(t) if t.kind == TokenKind::Or) {
            // The whole text from its first token to the end of its last:
            // not `trim_end`, which would also cut a space a trailing `\`
            // escapes.
            let start = conjuncts[0].span.start;
            let mut lexer = Lexer::new(text);
            let mut end = start;
            while let Some(token) = lexer.next_token()? {
                if token.kind == TokenKind::Pipe {
                    break;
                }
                end = lexer.offset();
            }
            return Ok(vec![Conjunct {
                span: start..end,
                query: whole,
            }]);
        }
    }
    Ok(conjuncts)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The lookahead token once read (`Some(None)`: the end of the input).
    peeked: Option<Option<Token>>,
    depth: usize,
    /// The field of the `field:(...)` group being parsed: its clauses
    /// without a field take it.
    group: Option<FieldName>,
    now: Timestamp,
}

impl Parser<'_> {
    fn peek(&mut self) -> Result<Option<&Token>, QueryError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().and_then(Option::as_ref))
    }

    fn next(&mut self) -> Result<Option<Token>, QueryError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// The next token, known to exist because `peek` returned it.
    fn take(&mut self) -> Result<Token, QueryError> {
        let end = self.lexer.end();
        self.next()?
            .ok_or_else(|| QueryError::new(end, "expected a clause, found the end of the query"))
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut children = vec![self.and()?];
        while matches!(self.peek()?, Some(t) if t.kind == TokenKind::Or) {
            let op = self.take()?;
            self.expect_clause_after(&op)?;
            children.push(self.and()?);
        }
        Ok(collapse(children, Query::Or))
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut children = vec![self.unary()?];
        loop {
            match self.peek()?.map(|t| &t.kind) {
                Some(TokenKind::And) => {
                    let op = self.take()?;
                    self.expect_clause_after(&op)?;
                }
                Some(TokenKind::Or | TokenKind::RParen | TokenKind::Pipe) | None => break,
                Some(_) => {}
            }
            children.push(self.unary()?);
        }
        Ok(collapse(children, Query::And))
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if matches!(self.peek()?, Some(t) if matches!(t.kind, TokenKind::Not | TokenKind::Minus)) {
            let op = self.take()?;
            self.enter(op.pos)?;
            self.expect_clause_after(&op)?;
            let child = self.unary()?;
            self.depth -= 1;
            return Ok(Query::Not(Box::new(child)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        let token = self.take()?;
        match token.kind {
            TokenKind::Clause(mut clause) => {
                // The lexer reads no field inside a group.
                if let Some(group) = &self.group {
                    clause.field = Some(FieldName {
                        pos: token.pos,
                        name: group.name.clone(),
                    });
                }
                clause_query(clause, self.now)
            }
            TokenKind::LParen | TokenKind::FieldGroup(_) => {
                let outer = self.group.clone();
                let opening = match token.kind {
                    TokenKind::FieldGroup(field) => {
                        let opening = format!("`{}:(`", field.name);
                        self.group = Some(field);
                        opening
                    }
                    _ => "`(`".to_owned(),
                };
                self.enter(token.pos)?;
                let never_closed = || {
                    QueryError::new(
                        token.pos,
                        format!(
                            "this {opening} is never closed: expected `)` before the end of the query"
                        ),
                    )
                };
                match self.peek()? {
                    None => return Err(never_closed()),
                    Some(t) if t.kind == TokenKind::RParen => {
                        return Err(QueryError::new(
                            token.pos,
                            "empty parentheses: expected a clause between `(` and `)`",
                        ))
                    }
                    Some(_) => {}
                }
                let query = self.or()?;
                match self.next()? {
                    Some(t) if t.kind == TokenKind::RParen => {}
                    _ => return Err(never_closed()),
                }
                self.depth -= 1;
                self.group = outer;
                Ok(query)
            }
            TokenKind::RParen => Err(QueryError::new(
                token.pos,
                "unexpected `)` with no matching `(`",
            )),
            kind => Err(QueryError::new(
                token.pos,
                format!(
                    "expected a clause before {}, found nothing",
                    kind.describe()
                ),
            )),
        }
    }

    /// After an operator, the next token must start a clause.
    fn expect_clause_after(&mut self, op: &Token) -> Result<(), QueryError> {
        let end = self.lexer.end();
        let (pos, found) = match self.peek()? {
            None => (end, "the end of the query"),
            Some(t)
                if matches!(
                    t.kind,
                    TokenKind::And | TokenKind::Or | TokenKind::RParen | TokenKind::Pipe
                ) =>
            {
                (t.pos, t.kind.describe())
            }
            Some(_) => return Ok(()),
        };
        Err(QueryError::new(
            pos,
            format!(
                "expected a clause after {}, found {found}",
                op.kind.describe()
            ),
        ))
    }

    fn enter(&mut self, pos: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(QueryError::new(
                pos,
                format!("the query nests parentheses and `NOT` deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }
}

/// One child is itself; several make an `And`/`Or` node.
fn collapse(mut children: Vec<Query>, node: fn(Vec<Query>) -> Query) -> Query {
    if children.len() == 1 {
        children.pop().unwrap_or(Query::All)
    } else {
        node(children)
    }
}
