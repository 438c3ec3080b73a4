//! The lexer: query text → operators, parentheses and whole clauses.
//!
//! The boolean part of the language (`AND`, `OR`, `NOT`, `-`, parentheses) is
//! tiny; nearly all of the syntax lives inside one clause: `field:value`,
//! comparisons, quoted strings, `/regex/`, `[a TO b]` and backslash escapes.
//! So the lexer reads a *whole clause* as one token and the parser only sees a
//! flat stream of operators, parentheses and clauses. Every token and every
//! part of a clause keeps the byte offset where it starts, because a query
//! error must say where it is.
//!
//! The lexer is pulled one token at a time by the parser, so the error
//! reported is always the leftmost one. It never interprets values (that is
//! field-dependent, see `clause.rs`); it only records what was written,
//! including which characters of an unquoted term were escaped, since `\*` and
//! `*` mean different things.

use super::clause::{Char, Clause, FieldName, Op, Range, Unquoted, Value};
use crate::error::QueryError;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `NOT`
    Not,
    /// `-` directly before a clause or group.
    Minus,
    /// `field:(`: a group whose values all take this field.
    FieldGroup(FieldName),
    /// A whole clause.
    Clause(Clause),
    /// `|`: the filter ends, pipes follow.
    Pipe,
}

impl TokenKind {
    /// How an error message names this token.
    pub fn describe(&self) -> &'static str {
        match self {
            TokenKind::LParen => "`(`",
            TokenKind::RParen => "`)`",
            TokenKind::And => "`AND`",
            TokenKind::Or => "`OR`",
            TokenKind::Not => "`NOT`",
            TokenKind::Minus => "`-`",
            TokenKind::FieldGroup(_) => "`field:(`",
            TokenKind::Clause(_) => "a clause",
            TokenKind::Pipe => "`|`",
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// Byte offset.
    pub pos: usize,
    /// The token.
    pub kind: TokenKind,
}

/// Splits query text into tokens, one at a time.
pub(crate) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    /// Open parentheses of the `field:(...)` group being read (0: none).
    /// Inside one, a term is a value, read as after `field:`.
    group: usize,
}

/// Characters that end an unquoted term wherever they appear.
fn ends_term(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || c == '|'
}

impl<'a> Lexer<'a> {
    /// A lexer at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Lexer {
            text,
            pos: 0,
            group: 0,
        }
    }

    /// Byte offset of the end of the input.
    pub fn end(&self) -> usize {
        self.text.len()
    }

    /// Byte offset just after the last token read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// How an error message names what starts at `pos`: a short excerpt or
    /// "the end of the query".
    pub fn found(&self, pos: usize) -> String {
        let rest = self.text.get(pos..).unwrap_or("");
        match rest.chars().next() {
            None => "the end of the query".to_owned(),
            Some(c) if c.is_whitespace() => "a space".to_owned(),
            Some(_) => {
                let word: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .take(20)
                    .collect();
                format!("`{word}`")
            }
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// The next token, `None` at the end of the input.
    pub fn next_token(&mut self) -> Result<Option<Token>, QueryError> {
        self.skip_whitespace();
        let pos = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let kind = match c {
            '(' => {
                self.bump();
                if self.group > 0 {
                    self.group += 1;
                }
                TokenKind::LParen
            }
            ')' => {
                self.bump();
                self.group = self.group.saturating_sub(1);
                TokenKind::RParen
            }
            '|' => {
                self.bump();
                TokenKind::Pipe
            }
            '-' => {
                self.bump();
                if self.peek().is_some_and(|c| !ends_term(c) || c == '(') {
                    TokenKind::Minus
                } else {
                    return Err(QueryError::new(
                        pos,
                        format!(
                            "`-` must be directly followed by the clause it negates \
                             (`-level:debug`), found {}",
                            self.found(self.pos)
                        ),
                    ));
                }
            }
            '"' | '/' => TokenKind::Clause(Clause {
                field: None,
                op: Op::Colon,
                value: self.value(pos)?,
            }),
            _ if self.group > 0 => self.group_value(pos)?,
            _ => self.term()?,
        };
        Ok(Some(Token { pos, kind }))
    }

    /// A term starting with an ordinary character: an operator, a bare word,
    /// or `field<op>value`.
    fn term(&mut self) -> Result<TokenKind, QueryError> {
        let head = self.unquoted(&[':', '<', '>'])?;
        let Some(sep @ (':' | '<' | '>')) = self.peek() else {
            return Ok(match head.plain().as_deref() {
                Some("AND") => TokenKind::And,
                Some("OR") => TokenKind::Or,
                Some("NOT") => TokenKind::Not,
                _ => TokenKind::Clause(Clause {
                    field: None,
                    op: Op::Colon,
                    value: Value::Unquoted(head),
                }),
            });
        };
        let field = field_name(&head, sep, self.pos)?;
        let op = self.operator();
        if op == Op::Colon && self.peek() == Some('(') {
            self.bump();
            self.group = 1;
            return Ok(TokenKind::FieldGroup(field));
        }
        let value = self.value(field.pos)?;
        Ok(TokenKind::Clause(Clause {
            field: Some(field),
            op,
            value,
        }))
    }

    /// A term inside a field group: an operator, a comparison (`>=500`),
    /// or a value read as after `field:` (a range, or an unquoted run that
    /// `:`, `<` and `>` do not end: `url:(http://x)`).
    fn group_value(&mut self, pos: usize) -> Result<TokenKind, QueryError> {
        if matches!(self.peek(), Some('<' | '>')) {
            let op = self.operator();
            return Ok(TokenKind::Clause(Clause {
                field: None,
                op,
                value: self.value(pos)?,
            }));
        }
        if matches!(self.peek(), Some('[' | '{')) {
            return Ok(TokenKind::Clause(Clause {
                field: None,
                op: Op::Colon,
                value: self.value(pos)?,
            }));
        }
        let value = self.unquoted(&[])?;
        if let Some(op) = match value.plain().as_deref() {
            Some("AND") => Some(TokenKind::And),
            Some("OR") => Some(TokenKind::Or),
            Some("NOT") => Some(TokenKind::Not),
            _ => None,
        } {
            return Ok(op);
        }
        let field_group = value.chars.last().is_some_and(|c| c.c == ':' && !c.escaped);
        if field_group && self.peek() == Some('(') {
            return Err(QueryError::new(
                pos,
                format!(
                    "`{}(` inside a field group: a group holds values only, each taking the group's field",
                    &self.text[pos..self.pos]
                ),
            ));
        }
        Ok(TokenKind::Clause(Clause {
            field: None,
            op: Op::Colon,
            value: Value::Unquoted(value),
        }))
    }

    /// Reads `:`, `:>=`, `>=`, `>`... (the lexer is on `:`, `<` or `>`).
    fn operator(&mut self) -> Op {
        if self.peek() == Some(':') {
            self.bump();
            if !matches!(self.peek(), Some('<' | '>')) {
                return Op::Colon;
            }
        }
        let greater = self.bump() == Some('>');
        let equal = self.peek() == Some('=');
        if equal {
            self.bump();
        }
        match (greater, equal) {
            (true, true) => Op::Ge,
            (true, false) => Op::Gt,
            (false, true) => Op::Le,
            (false, false) => Op::Lt,
        }
    }

    /// A value: quoted, regex, range or unquoted. `clause_start` is where the
    /// clause began, to quote it in the "missing value" error.
    fn value(&mut self, clause_start: usize) -> Result<Value, QueryError> {
        let pos = self.pos;
        let value = match self.peek() {
            Some('"') => Value::Quoted {
                pos,
                text: self.quoted()?,
            },
            Some('/') => Value::Regex {
                pos,
                source: self.regex()?,
            },
            Some('[' | '{') => Value::Range(Box::new(self.range()?)),
            Some(c) if !ends_term(c) => return Ok(Value::Unquoted(self.unquoted(&[])?)),
            _ => {
                return Err(QueryError::new(
                    pos,
                    format!(
                        "expected a value after `{}`, found {}",
                        &self.text[clause_start..pos],
                        self.found(pos)
                    ),
                ))
            }
        };
        match self.peek() {
            Some(c) if !ends_term(c) => Err(QueryError::new(
                self.pos,
                format!(
                    "expected a space or `)` after the value that starts at byte {pos}, found {}",
                    self.found(self.pos)
                ),
            )),
            _ => Ok(value),
        }
    }

    /// An unquoted run up to whitespace, a parenthesis or one of `stops`;
    /// a backslash makes the next character literal.
    fn unquoted(&mut self, stops: &[char]) -> Result<Unquoted, QueryError> {
        let start = self.pos;
        let mut chars = Vec::new();
        while let Some(c) = self.peek() {
            if ends_term(c) || stops.contains(&c) {
                break;
            }
            let pos = self.pos;
            self.bump();
            if c == '\\' {
                let Some(escaped) = self.bump() else {
                    return Err(QueryError::new(
                        pos,
                        "a backslash at the end of the query escapes nothing \
                         (write `\\\\` for a backslash)",
                    ));
                };
                chars.push(Char {
                    c: escaped,
                    escaped: true,
                    pos,
                });
            } else {
                chars.push(Char {
                    c,
                    escaped: false,
                    pos,
                });
            }
        }
        Ok(Unquoted { pos: start, chars })
    }

    /// A `"quoted"` string: `\"` and `\\` are escapes, any other backslash
    /// stays with the character after it.
    fn quoted(&mut self) -> Result<String, QueryError> {
        self.delimited('"', "quoted string", |out, c| {
            if c != '"' && c != '\\' {
                out.push('\\');
            }
            out.push(c);
        })
    }

    /// A `/regex/`: `\/` is a slash, any other `\x` pair goes to the regex as is.
    fn regex(&mut self) -> Result<String, QueryError> {
        self.delimited('/', "regular expression", |out, c| {
            if c != '/' {
                out.push('\\');
            }
            out.push(c);
        })
    }

    /// Text between two `delim`s; `escape` decides what `\c` becomes.
    fn delimited(
        &mut self,
        delim: char,
        what: &str,
        escape: impl Fn(&mut String, char),
    ) -> Result<String, QueryError> {
        let open = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                Some(c) if c == delim => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c) => escape(&mut out, c),
                    None => break,
                },
                Some(c) => out.push(c),
                None => break,
            }
        }
        Err(QueryError::new(
            open,
            format!("unterminated {what}: the `{delim}` here is never closed"),
        ))
    }

    /// `[a TO b]`, `{a TO b}` or a mix (the lexer is on the opening bracket).
    fn range(&mut self) -> Result<Range, QueryError> {
        let pos = self.pos;
        let lower_inclusive = self.bump() == Some('[');
        self.skip_whitespace();
        let lower = self.bound("lower")?;
        self.skip_whitespace();
        let to = self.pos;
        let word = self.unquoted(&[']', '}'])?;
        if word.plain().as_deref() != Some("TO") {
            return Err(QueryError::new(
                to,
                format!(
                    "expected `TO` after the range's lower bound, found {}",
                    self.found(to)
                ),
            ));
        }
        self.skip_whitespace();
        let upper = self.bound("upper")?;
        self.skip_whitespace();
        let upper_inclusive = match self.peek() {
            Some(']') => true,
            Some('}') => false,
            _ => {
                return Err(QueryError::new(
                    self.pos,
                    format!(
                        "expected `]` or `}}` to close the range opened at byte {pos}, found {}",
                        self.found(self.pos)
                    ),
                ))
            }
        };
        self.bump();
        Ok(Range {
            pos,
            lower,
            lower_inclusive,
            upper,
            upper_inclusive,
        })
    }

    /// One bound of a range: quoted, or unquoted up to whitespace or a bracket.
    fn bound(&mut self, which: &str) -> Result<Value, QueryError> {
        let pos = self.pos;
        match self.peek() {
            Some('"') => Ok(Value::Quoted {
                pos,
                text: self.quoted()?,
            }),
            Some(c) if !ends_term(c) && c != ']' && c != '}' => {
                Ok(Value::Unquoted(self.unquoted(&[']', '}'])?))
            }
            _ => Err(QueryError::new(
                pos,
                format!(
                    "expected the range's {which} bound, found {}",
                    self.found(pos)
                ),
            )),
        }
    }
}

/// Validates `head` as a field name: Unicode letters and digits and
/// `_ . @ $ -`, not starting with `-`. `sep_pos` is where `sep` is.
fn field_name(head: &Unquoted, sep: char, sep_pos: usize) -> Result<FieldName, QueryError> {
    let Some(first) = head.chars.first() else {
        return Err(QueryError::new(
            sep_pos,
            format!("expected a field name before `{sep}` (quote a value that contains `{sep}`)"),
        ));
    };
    let name = head.text();
    let bad = head.chars.iter().find(|c| {
        c.escaped || !(c.c.is_alphanumeric() || matches!(c.c, '_' | '.' | '@' | '$' | '-'))
    });
    let problem = match bad {
        Some(c) if c.escaped => Some((c.pos, "a backslash".to_owned())),
        Some(c) => Some((c.pos, format!("`{}`", c.c))),
        None if first.c == '-' => Some((first.pos, "a leading `-`".to_owned())),
        None => None,
    };
    match problem {
        None => Ok(FieldName {
            pos: head.pos,
            name,
        }),
        Some((pos, what)) => Err(QueryError::new(
            pos,
            format!(
                "`{name}` is not a valid field name: it contains {what}; field names are made of \
                 letters, digits and `_ . @ $ -` (quote a value that contains `{sep}`)"
            ),
        )),
    }
}
