//! Rust regex → Lucene regular expression.
//!
//! Elasticsearch and OpenSearch run Lucene's regular expressions, which
//! differ from Rust's: a Lucene pattern always matches a *whole* value, has
//! no `^`/`$`, no word boundaries or look-around, no inline flags, and
//! reserves characters Rust treats as literals. [`to_lucene`] parses the Rust
//! pattern with `regex-syntax` (the parser of the `regex` crate itself) and
//! prints its HIR as Lucene syntax, so the two agree by construction:
//!
//! - literal characters that are operators in Lucene (with `flags: NONE`)
//!   are escaped with `\`; letters and digits never are (`\d`, `\w`… are
//!   classes there), and a literal backslash is written as `(\\){1}` (see
//!   [`literal`] for the OpenSearch `wildcard`-field quirk this avoids);
//! - classes are printed as code-point ranges (or their complement, if
//!   shorter), so `.` (no `\n`), `\d`, `\w`, `\s` and case folding from
//!   `(?i)` keep Rust's Unicode meaning exactly;
//! - the search is unanchored: each top-level alternative gets `.*` on the
//!   sides it is not anchored (`^` at its start, `$` at its end), so the
//!   Lucene pattern matches a whole value exactly when the Rust regex
//!   matches somewhere in it.
//!
//! What Lucene cannot express exactly: `^`/`$` elsewhere than at the ends
//! of a top-level alternative, multi-line anchors (`(?m)`), word boundaries
//! (`\b`, `\B`), byte-oriented classes (`(?-u)` beyond ASCII) and classes
//! that match nothing. [`to_lucene_superset`] then translates the pattern
//! without them, which matches a superset, and says so: the backend
//! verifies the candidates (`crate::verify`). The translated pattern is
//! meant for the `regexp` query with `flags: NONE`.

use regex_syntax::hir::{
    Capture, Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look, Repetition,
};

/// A Lucene regular expression equivalent to a Rust regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuceneRegex {
    /// The pattern, already wrapped so that it matches whole values.
    pub pattern: String,
    /// The one whole value the pattern matches, when it matches exactly
    /// one (`^abc$`): Lucene then compiles it to a single-string automaton,
    /// which OpenSearch's `wildcard` field compares by the pattern's text.
    pub single: Option<String>,
}

/// A Rust regex construct Lucene cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The construct, as a user would recognise it (`\b`, `(?m)`, ...).
    pub construct: String,
}

fn unsupported(construct: impl Into<String>) -> Unsupported {
    Unsupported {
        construct: construct.into(),
    }
}

/// Translates `pattern` (Rust syntax, unanchored) exactly, or names the
/// construct Lucene cannot express.
#[cfg(test)]
fn to_lucene(pattern: &str) -> Result<LuceneRegex, Unsupported> {
    translate(&parse(pattern)?)
}

/// A Lucene translation of a pattern that may match more than it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superset {
    /// The Lucene pattern: everything the Rust pattern matches, and more
    /// unless `exact`.
    pub regex: LuceneRegex,
    /// Whether it matches exactly what the Rust pattern matches.
    pub exact: bool,
}

/// Translates `pattern` exactly if Lucene can express it; otherwise
/// translates a relaxed pattern that matches a superset: assertions Lucene
/// lacks (`\b`, `\B`, `(?m)` anchors, ...) are dropped, then, if an anchor
/// still sits where Lucene cannot anchor, every anchor. Dropping an
/// assertion only removes a condition, so every value the pattern matches
/// still matches. The caller verifies candidates with the pattern itself.
pub fn to_lucene_superset(pattern: &str) -> Result<Superset, Unsupported> {
    let hir = parse(pattern)?;
    if let Ok(regex) = translate(&hir) {
        return Ok(Superset { regex, exact: true });
    }
    let regex = translate(&relax(&hir, false))
        .or_else(|_| translate(&relax(&hir, true)))
        // Nothing is left to refuse; should that ever change, the widest
        // superset is still right.
        .unwrap_or_else(|_| LuceneRegex {
            pattern: ".*".into(),
            single: None,
        });
    Ok(Superset {
        regex,
        exact: false,
    })
}

fn parse(pattern: &str) -> Result<Hir, Unsupported> {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| unsupported(format!("a pattern Rust does not accept ({e})")))
}

/// `hir` without what Lucene cannot express, matching a superset of it:
/// assertions other than `^`/`$` (and those too with `anchors`) become the
/// empty pattern; a class that matches nothing or only bytes beyond ASCII
/// becomes any character; a literal that is not UTF-8, any string.
fn relax(hir: &Hir, anchors: bool) -> Hir {
    match hir.kind() {
        HirKind::Look(Look::Start | Look::End) if !anchors => hir.clone(),
        HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(lit) if std::str::from_utf8(&lit.0).is_err() => {
            Hir::repetition(Repetition {
                min: 0,
                max: None,
                greedy: true,
                sub: Box::new(any_char()),
            })
        }
        HirKind::Class(Class::Bytes(c)) if c.ranges().iter().any(|r| r.end() > 0x7f) => any_char(),
        HirKind::Class(Class::Unicode(c)) if c.ranges().is_empty() => any_char(),
        HirKind::Class(Class::Bytes(c)) if c.ranges().is_empty() => any_char(),
        HirKind::Repetition(rep) => Hir::repetition(Repetition {
            sub: Box::new(relax(&rep.sub, anchors)),
            ..rep.clone()
        }),
        HirKind::Capture(cap) => Hir::capture(Capture {
            sub: Box::new(relax(&cap.sub, anchors)),
            ..cap.clone()
        }),
        HirKind::Concat(parts) => Hir::concat(parts.iter().map(|p| relax(p, anchors)).collect()),
        HirKind::Alternation(parts) => {
            Hir::alternation(parts.iter().map(|p| relax(p, anchors)).collect())
        }
        _ => hir.clone(),
    }
}

/// Any one character, `\n` included.
fn any_char() -> Hir {
    Hir::class(Class::Unicode(ClassUnicode::new([ClassUnicodeRange::new(
        '\0',
        char::MAX,
    )])))
}

fn translate(hir: &Hir) -> Result<LuceneRegex, Unsupported> {
    let alts = expand(hir)?;
    let single = single_of_all(&alts);
    let printed: Vec<String> = alts
        .iter()
        .map(|a| {
            let body = if a.body.is_empty() { "()" } else { &a.body };
            format!(
                "{}{body}{}",
                if a.start { "" } else { ".*" },
                if a.end { "" } else { ".*" }
            )
        })
        .collect();
    let pattern = match printed.as_slice() {
        [one] => one.clone(),
        _ => printed
            .iter()
            .map(|a| format!("({a})"))
            .collect::<Vec<_>>()
            .join("|"),
    };
    Ok(LuceneRegex { pattern, single })
}

/// One way a pattern can match: anchored at the text's start and/or end or
/// not, and the Lucene text of what it consumes.
#[derive(Debug, Clone)]
struct Alt {
    start: bool,
    end: bool,
    body: String,
    /// The one string `body` matches, if it matches exactly one.
    single: Option<String>,
}

/// Most alternatives an expansion of anchors may produce.
const MAX_ALTS: usize = 64;

const ANCHOR_INSIDE: &str =
    "`^` or `$` where text may precede or follow it (Lucene patterns cannot anchor there)";

/// The pattern as a union of [`Alt`]s. Anchors may sit at the ends of the
/// pattern or of alternatives (`^a$|^b$`, which the parser turns into
/// `^(a$|b$)`): alternations that contain anchors are distributed over the
/// concatenation around them. An anchor with text on its outer side
/// (`a^b`), or inside a repetition, is refused.
fn expand(hir: &Hir) -> Result<Vec<Alt>, Unsupported> {
    if !has_anchor(hir) {
        let mut body = String::new();
        print(hir, &mut body)?;
        return Ok(vec![Alt {
            start: false,
            end: false,
            body,
            single: single_of(hir),
        }]);
    }
    match hir.kind() {
        HirKind::Look(Look::Start) => Ok(vec![Alt {
            start: true,
            end: false,
            body: String::new(),
            single: Some(String::new()),
        }]),
        HirKind::Look(Look::End) => Ok(vec![Alt {
            start: false,
            end: true,
            body: String::new(),
            single: Some(String::new()),
        }]),
        HirKind::Look(look) => Err(unsupported(look_name(*look))),
        HirKind::Capture(cap) => Ok(expand(&cap.sub)?
            .into_iter()
            .map(|a| Alt {
                body: if a.body.is_empty() {
                    a.body
                } else {
                    format!("({})", a.body)
                },
                ..a
            })
            .collect()),
        HirKind::Alternation(branches) => {
            let mut out = Vec::new();
            for branch in branches {
                out.extend(expand(branch)?);
                if out.len() > MAX_ALTS {
                    return Err(unsupported("too many anchored alternatives"));
                }
            }
            Ok(out)
        }
        HirKind::Concat(parts) => {
            let mut acc = vec![Alt {
                start: false,
                end: false,
                body: String::new(),
                single: Some(String::new()),
            }];
            for part in parts {
                let next = expand(part)?;
                let mut joined = Vec::with_capacity(acc.len() * next.len());
                for a in &acc {
                    for b in &next {
                        joined.push(join(a, b)?);
                    }
                }
                if joined.len() > MAX_ALTS {
                    return Err(unsupported("too many anchored alternatives"));
                }
                acc = joined;
            }
            Ok(acc)
        }
        // Repetitions of anchors and the like.
        _ => Err(unsupported(ANCHOR_INSIDE)),
    }
}

/// `a` followed by `b`.
fn join(a: &Alt, b: &Alt) -> Result<Alt, Unsupported> {
    // `$` then more text, or text then `^`: refused (satisfiable only when
    // the other side matches nothing, which is not worth the analysis).
    if (a.end && !b.body.is_empty()) || (b.start && !a.body.is_empty()) {
        return Err(unsupported(ANCHOR_INSIDE));
    }
    Ok(Alt {
        start: a.start || b.start,
        end: a.end || b.end,
        body: format!("{}{}", a.body, b.body),
        single: match (&a.single, &b.single) {
            (Some(x), Some(y)) => Some(format!("{x}{y}")),
            _ => None,
        },
    })
}

/// The one string all of `alts` match as whole values, if they match
/// exactly one: each is anchored at both ends and matches the same string.
fn single_of_all(alts: &[Alt]) -> Option<String> {
    let first = alts.first()?;
    alts.iter()
        .all(|a| a.start && a.end && a.single.is_some() && a.single == first.single)
        .then(|| first.single.clone())
        .flatten()
}

fn has_anchor(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Look(_) => true,
        HirKind::Repetition(rep) => has_anchor(&rep.sub),
        HirKind::Capture(cap) => has_anchor(&cap.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(has_anchor),
        _ => false,
    }
}

/// The one string `hir` (without anchors) matches, if it matches exactly one.
fn single_of(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Empty => Some(String::new()),
        HirKind::Literal(lit) => String::from_utf8(lit.0.to_vec()).ok(),
        HirKind::Class(Class::Unicode(c)) => match c.ranges() {
            [r] if r.start() == r.end() => Some(r.start().to_string()),
            _ => None,
        },
        HirKind::Class(Class::Bytes(c)) => match c.ranges() {
            [r] if r.start() == r.end() && r.start() < 0x80 => {
                Some(char::from(r.start()).to_string())
            }
            _ => None,
        },
        HirKind::Look(_) => None,
        HirKind::Repetition(rep) => {
            let sub = single_of(&rep.sub)?;
            if sub.is_empty() {
                Some(sub)
            } else if rep.max == Some(rep.min) {
                Some(sub.repeat(rep.min as usize))
            } else {
                None
            }
        }
        HirKind::Capture(cap) => single_of(&cap.sub),
        HirKind::Concat(parts) => parts.iter().map(single_of).collect(),
        HirKind::Alternation(alts) => {
            let first = single_of(&alts[0])?;
            alts[1..]
                .iter()
                .all(|a| single_of(a).as_ref() == Some(&first))
                .then_some(first)
        }
    }
}

fn print(hir: &Hir, out: &mut String) -> Result<(), Unsupported> {
    match hir.kind() {
        HirKind::Empty => out.push_str("()"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0)
                .map_err(|_| unsupported("a byte that is not UTF-8 ((?-u) escapes)"))?;
            for c in text.chars() {
                literal(c, out);
            }
        }
        HirKind::Class(class) => print_class(class, out)?,
        HirKind::Look(look) => return Err(unsupported(look_name(*look))),
        HirKind::Repetition(rep) => {
            out.push('(');
            print(&rep.sub, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => out.push_str(&format!("{{{n},}}")),
                (n, Some(m)) if n == m => out.push_str(&format!("{{{n}}}")),
                (n, Some(m)) => out.push_str(&format!("{{{n},{m}}}")),
            }
        }
        HirKind::Capture(cap) => {
            out.push('(');
            print(&cap.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for part in parts {
                print(part, out)?;
            }
        }
        HirKind::Alternation(alts) => {
            out.push('(');
            for (i, alt) in alts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                print(alt, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

/// The characters escaped in literals: Lucene's operators (with `flags:
/// NONE`) and `/`, `^`, `$`, which are not operators in Lucene but which
/// OpenSearch's `wildcard` field unescapes along with them when it compares
/// a single-string pattern to a value. Nothing else is escaped: that
/// comparison keeps any other backslash.
const ESCAPED: &[char] = &[
    '.', '^', '$', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/', '"',
];

/// A literal character. A backslash becomes `(\\){1}`: Lucene merges
/// adjacent characters (and one-character classes) into one string, in
/// which OpenSearch's `wildcard` field reads a backslash as an escape when it
/// derives the n-grams a value must contain, and then misses values; a
/// repetition is never merged.
fn literal(c: char, out: &mut String) {
    if c == '\\' {
        out.push_str("(\\\\){1}");
        return;
    }
    if ESCAPED.contains(&c) {
        out.push('\\');
    }
    out.push(c);
}

/// A character inside a class: `\\`, `]`, `[`, `^` and `-` are escaped.
fn class_literal(c: char, out: &mut String) {
    if matches!(c, '\\' | ']' | '[' | '^' | '-' | '"') {
        out.push('\\');
    }
    out.push(c);
}

/// `text` with the escapes of [`literal`] for a pattern that matches only
/// this one string (no classes: OpenSearch's `wildcard` field compares such
/// a pattern's text, unescaped, to the value). `None` if `text` holds a
/// character that cannot be written that way (`\\`, `"`).
pub fn single_string_pattern(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\\' || c == '"' {
            return None;
        }
        if ESCAPED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Some(out)
}

/// The largest code point.
const MAX: u32 = 0x10_FFFF;

fn print_class(class: &Class, out: &mut String) -> Result<(), Unsupported> {
    let ranges: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
        Class::Bytes(c) => {
            if c.ranges().iter().any(|r| r.end() > 0x7f) {
                return Err(unsupported("a byte class beyond ASCII ((?-u))"));
            }
            c.ranges()
                .iter()
                .map(|r| (u32::from(r.start()), u32::from(r.end())))
                .collect()
        }
    };
    if ranges.is_empty() {
        return Err(unsupported("a character class that matches nothing"));
    }
    // The complement within the code points, skipping the surrogate gap
    // (no text holds a lone surrogate).
    let mut gaps = Vec::new();
    let mut next = 0u32;
    for &(lo, hi) in &ranges {
        if lo > next {
            gaps.push((next, lo - 1));
        }
        next = hi + 1;
    }
    if next <= MAX {
        gaps.push((next, MAX));
    }
    gaps.retain(|&(lo, hi)| !(lo >= 0xD800 && hi <= 0xDFFF));
    if gaps.is_empty() {
        out.push('.');
        return Ok(());
    }
    let (negate, list) = if gaps.len() < ranges.len() {
        (true, &gaps)
    } else {
        (false, &ranges)
    };
    out.push('[');
    if negate {
        out.push('^');
    }
    for &(mut lo, hi) in list {
        if lo == u32::from('\\') && hi > lo {
            // Lucene 9.12 reads `\\` in a class as a whole item that cannot
            // start a range: `[\\-\]]` would be `\`, `-` and `]`.
            out.push_str(r"\\");
            lo += 1;
        }
        class_char(lo, out);
        if hi != lo {
            out.push('-');
            class_char(hi, out);
        }
    }
    out.push(']');
    Ok(())
}

fn class_char(cp: u32, out: &mut String) {
    // Surrogate code points cannot be written; clamp to the nearest scalar
    // values (no text contains them, so the class means the same).
    let c = char::from_u32(cp)
        .or_else(|| char::from_u32(if cp < 0xDC00 { 0xD7FF } else { 0xE000 }))
        .unwrap_or('\u{FFFD}');
    class_literal(c, out);
}

fn look_name(look: Look) -> String {
    match look {
        Look::Start | Look::End => ANCHOR_INSIDE.into(),
        Look::StartLF | Look::EndLF | Look::StartCRLF | Look::EndCRLF => {
            "multi-line anchors (`(?m)` with `^` or `$`)".into()
        }
        Look::WordAscii | Look::WordUnicode => "a word boundary (`\\b`)".into(),
        Look::WordAsciiNegate | Look::WordUnicodeNegate => "a non-word-boundary (`\\B`)".into(),
        _ => "a word-boundary assertion (`\\b{start}`, `\\<`, ...)".into(),
    }
}

#[cfg(test)]
mod tests;
