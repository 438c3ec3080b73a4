//! Seeded random queries over every operator, drawn from a corpus.
//!
//! Values come from the corpus itself (field values, message tokens,
//! timestamps), so most queries match something and range bounds fall
//! exactly on record times, where off-by-one errors live. A few values are
//! made up, so queries that match nothing occur too.

use std::collections::BTreeMap;
use std::ops::Bound;

use rand::seq::IndexedRandom;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::number::Number;
use crate::query::pipe::{Function, GroupKey, Named, Pipe, Quantile, SortKey, Stats, Top};
use crate::query::{Field, Pipeline, Query, RegexPattern, Wildcard, WildcardPart};
use crate::record::Record;
use crate::timestamp::{Timestamp, NANOS_PER_SECOND};
use crate::tokenize::tokenize;

/// What queries are drawn from.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// Keyword values by path.
    keywords: BTreeMap<String, Vec<String>>,
    /// Tokenized messages (non-empty ones).
    messages: Vec<Vec<String>>,
    /// Record timestamps.
    times: Vec<Timestamp>,
    /// JSON numbers by path.
    numbers: BTreeMap<String, Vec<Number>>,
}

impl Vocabulary {
    /// Collects values from `records`.
    pub fn new(records: &[Record]) -> Self {
        let mut keywords: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut messages = Vec::new();
        let mut numbers: BTreeMap<String, Vec<Number>> = BTreeMap::new();
        for r in records {
            for (path, n) in r.all_numbers() {
                let values = numbers.entry(path.to_owned()).or_default();
                if values.len() < 200 && !values.contains(&n) {
                    values.push(n);
                }
            }
            for (path, value) in r.keywords() {
                // Unique per record (span ids) would rarely match; keep a sample.
                let values = keywords.entry(path.clone()).or_default();
                if values.len() < 200 && !values.contains(value) {
                    values.push(value.clone());
                }
            }
            let tokens = tokenize(r.message());
            if !tokens.is_empty() && tokens.len() < 200 {
                messages.push(tokens);
            }
        }
        let times = records.iter().map(Record::timestamp).collect();
        Vocabulary {
            keywords,
            messages,
            times,
            numbers,
        }
    }

    /// A random path with numbers (sometimes one without) and two bounds
    /// drawn from its numbers or just beside them.
    fn number_range(&self, rng: &mut ChaCha8Rng) -> Query {
        let paths: Vec<&String> = self.numbers.keys().collect();
        let field = match paths.choose(rng) {
            Some(p) if rng.random_bool(0.9) => (*p).clone(),
            _ => self.path(rng),
        };
        let values = self.numbers.get(&field).map_or(&[][..], Vec::as_slice);
        let pick = |rng: &mut ChaCha8Rng| {
            let n = values.choose(rng).map_or(0.0, |n| n.get());
            let n = match rng.random_range(0..6) {
                0 => n - 0.5,
                1 => n + 1.0,
                _ => n,
            };
            Number::new(n).unwrap_or_else(|| Number::new(0.0).expect("finite"))
        };
        let (a, b) = (pick(rng), pick(rng));
        let (lo, hi) = if rng.random_bool(0.95) && a > b {
            (b, a)
        } else {
            (a, b)
        };
        Query::NumberRange {
            field,
            start: bound(rng, lo),
            end: bound(rng, hi),
        }
    }

    /// A random time bound drawn from the corpus (or just beside a record time).
    pub fn time(&self, rng: &mut ChaCha8Rng) -> Timestamp {
        let t = self.times.choose(rng).copied().unwrap_or(Timestamp(0));
        match rng.random_range(0..6) {
            0 => Timestamp(t.0 - 1),
            1 => Timestamp(t.0 + 1),
            _ => t,
        }
    }

    fn path(&self, rng: &mut ChaCha8Rng) -> String {
        if rng.random_bool(0.05) {
            return "no.such.field".to_owned();
        }
        let paths: Vec<&String> = self.keywords.keys().collect();
        paths
            .choose(rng)
            .map_or_else(|| "level".to_owned(), |p| (*p).clone())
    }

    fn value(&self, rng: &mut ChaCha8Rng, path: &str) -> String {
        match self.keywords.get(path).and_then(|v| v.choose(rng)) {
            Some(v) if rng.random_bool(0.95) => v.clone(),
            _ => "no-such-value".to_owned(),
        }
    }

    fn tokens(&self, rng: &mut ChaCha8Rng) -> Vec<String> {
        let Some(message) = self.messages.choose(rng) else {
            return vec!["nothing".to_owned()];
        };
        let len = rng.random_range(1..=3usize.min(message.len()));
        let start = rng.random_range(0..=message.len() - len);
        let mut tokens = message[start..start + len].to_vec();
        if rng.random_bool(0.1) {
            tokens.reverse();
        }
        tokens
    }
}

/// A random row-making pipeline over `filter`: `stats` of one to three
/// functions (or `top`), grouped by up to two keyword paths and a time
/// bucket, sometimes sorted by a random column and limited.
pub fn random_pipeline(rng: &mut ChaCha8Rng, vocab: &Vocabulary, filter: Query) -> Pipeline {
    let numeric: Vec<&String> = vocab.numbers.keys().collect();
    let number_path = |rng: &mut ChaCha8Rng| match numeric.choose(rng) {
        Some(p) if rng.random_bool(0.85) => (*p).clone(),
        _ => vocab.path(rng),
    };
    let mut by = Vec::new();
    for _ in 0..rng.random_range(0..=2) {
        let key = GroupKey::Field(vocab.path(rng));
        if !by.contains(&key) {
            by.push(key);
        }
    }
    if rng.random_bool(0.3) {
        let (step, written) = *[(3_600, "1h"), (420, "7m"), (86_400, "1d")]
            .choose(rng)
            .expect("non-empty");
        by.push(GroupKey::Bucket {
            step: step * NANOS_PER_SECOND,
            written: written.to_owned(),
        });
    }
    let (first, mut columns) = if rng.random_bool(0.2) && !by.is_empty() {
        let columns: Vec<String> = by
            .iter()
            .map(GroupKey::name)
            .chain(["count".to_owned()])
            .collect();
        let n = rng.random_range(1..=5);
        (Pipe::Top(Top { n, by }), columns)
    } else {
        let mut functions = Vec::new();
        for i in 0..rng.random_range(1..=3) {
            let function = match rng.random_range(0..8) {
                0 => Function::Count,
                1 => Function::CountField(vocab.path(rng)),
                2 => Function::CountUniq(vocab.path(rng)),
                3 => Function::Sum(number_path(rng)),
                4 => Function::Avg(number_path(rng)),
                5 => Function::Min(number_path(rng)),
                6 => Function::Max(number_path(rng)),
                _ => {
                    let q = *[0.0, 0.25, 0.5, 0.9, 0.99, 1.0]
                        .choose(rng)
                        .expect("non-empty");
                    Function::Quantile(Quantile::new(q).expect("in [0, 1]"), number_path(rng))
                }
            };
            // Named by position, so that no two columns share a name.
            functions.push(Named {
                function,
                name: format!("f{i}"),
                explicit: true,
            });
        }
        let columns = by
            .iter()
            .map(GroupKey::name)
            .chain(functions.iter().map(|f| f.name.clone()))
            .collect();
        (Pipe::Stats(Stats { functions, by }), columns)
    };
    let mut pipes = vec![first];
    if rng.random_bool(0.4) {
        let column = columns.swap_remove(rng.random_range(0..columns.len()));
        pipes.push(Pipe::Sort(vec![SortKey {
            column,
            descending: rng.random_bool(0.5),
        }]));
    }
    if rng.random_bool(0.3) {
        pipes.push(Pipe::Limit(rng.random_range(1..=6)));
    }
    Pipeline { filter, pipes }
}

/// A random query of at most `depth` levels of AND/OR/NOT.
pub fn random_query(rng: &mut ChaCha8Rng, vocab: &Vocabulary, depth: u32) -> Query {
    if depth == 0 || rng.random_bool(0.45) {
        return random_leaf(rng, vocab);
    }
    match rng.random_range(0..3) {
        0 => Query::Not(Box::new(random_query(rng, vocab, depth - 1))),
        kind => {
            let n = rng.random_range(2..=3);
            let children = (0..n)
                .map(|_| random_query(rng, vocab, depth - 1))
                .collect();
            if kind == 1 {
                Query::And(children)
            } else {
                Query::Or(children)
            }
        }
    }
}

/// `query` if it has a regex; otherwise `query` combined with a random
/// regex leaf (AND, OR, AND NOT, or the leaf alone), so that a run can make
/// a share of its queries exercise regexes, the construct backends
/// translate least directly.
pub fn with_regex(rng: &mut ChaCha8Rng, vocab: &Vocabulary, query: Query) -> Query {
    if has_regex(&query) {
        return query;
    }
    let leaf = regex_leaf(rng, vocab);
    match rng.random_range(0..4) {
        0 => leaf,
        1 => Query::And(vec![query, leaf]),
        2 => Query::Or(vec![leaf, query]),
        _ => Query::And(vec![query, Query::Not(Box::new(leaf))]),
    }
}

/// Whether `query` has a regex anywhere.
pub fn has_regex(query: &Query) -> bool {
    match query {
        Query::Regex { .. } => true,
        Query::And(c) | Query::Or(c) => c.iter().any(has_regex),
        Query::Not(c) => has_regex(c),
        _ => false,
    }
}

fn regex_leaf(rng: &mut ChaCha8Rng, vocab: &Vocabulary) -> Query {
    if rng.random_bool(0.5) {
        Query::Regex {
            field: Field::Message,
            pattern: message_regex(rng, vocab),
        }
    } else {
        let field = vocab.path(rng);
        let value = vocab.value(rng, &field);
        Query::Regex {
            field: Field::Keyword(field),
            pattern: keyword_regex(rng, &value),
        }
    }
}

fn random_leaf(rng: &mut ChaCha8Rng, vocab: &Vocabulary) -> Query {
    match rng.random_range(0..15) {
        0 => Query::All,
        1 | 2 => {
            let field = vocab.path(rng);
            let value = vocab.value(rng, &field);
            Query::Keyword { field, value }
        }
        3..=5 => Query::Phrase {
            tokens: vocab.tokens(rng),
        },
        6 => {
            let token = vocab.tokens(rng).swap_remove(0);
            Query::Wildcard {
                field: Field::Message,
                pattern: wildcard_from(rng, &token),
            }
        }
        7 => {
            let field = vocab.path(rng);
            let value = vocab.value(rng, &field);
            Query::Wildcard {
                field: Field::Keyword(field),
                pattern: wildcard_from(rng, &value),
            }
        }
        8 | 9 => regex_leaf(rng, vocab),
        10 | 11 => {
            let (a, b) = (vocab.time(rng), vocab.time(rng));
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            Query::Range {
                start: bound(rng, lo),
                end: bound(rng, hi),
            }
        }
        12 => {
            let mut field = vocab.path(rng);
            if rng.random_bool(0.3) {
                if let Some((parent, _)) = field.rsplit_once('.') {
                    field = parent.to_owned();
                }
            }
            Query::Exists { field }
        }
        13 => vocab.number_range(rng),
        _ => Query::Phrase { tokens: Vec::new() },
    }
}

fn bound<T>(rng: &mut ChaCha8Rng, t: T) -> Bound<T> {
    match rng.random_range(0..5) {
        0 => Bound::Unbounded,
        1 | 2 => Bound::Included(t),
        _ => Bound::Excluded(t),
    }
}

/// A wildcard pattern made from `text` by replacing a prefix, suffix, infix
/// or single characters with `*`/`?`.
fn wildcard_from(rng: &mut ChaCha8Rng, text: &str) -> Wildcard {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let lit = |s: &[char]| WildcardPart::Literal(s.iter().collect());
    let n = chars.len();
    match rng.random_range(0..5) {
        0 if n > 1 => {
            let cut = rng.random_range(1..n);
            parts.push(lit(&chars[..cut]));
            parts.push(WildcardPart::AnyString);
        }
        1 if n > 1 => {
            let cut = rng.random_range(1..n);
            parts.push(WildcardPart::AnyString);
            parts.push(lit(&chars[cut..]));
        }
        2 if n > 2 => {
            let a = rng.random_range(1..n - 1);
            parts.push(WildcardPart::AnyString);
            parts.push(lit(&chars[a..a + 1]));
            parts.push(WildcardPart::AnyString);
        }
        3 if n > 0 => {
            let at = rng.random_range(0..n);
            if at > 0 {
                parts.push(lit(&chars[..at]));
            }
            parts.push(WildcardPart::AnyChar);
            if at + 1 < n {
                parts.push(lit(&chars[at + 1..]));
            }
        }
        _ => {
            parts.push(WildcardPart::AnyString);
            parts.push(lit(&chars[..n.min(1)]));
            parts.push(WildcardPart::AnyChar);
            parts.push(WildcardPart::AnyString);
        }
    }
    parts.retain(|p| !matches!(p, WildcardPart::Literal(s) if s.is_empty()));
    Wildcard { parts }
}

fn message_regex(rng: &mut ChaCha8Rng, vocab: &Vocabulary) -> RegexPattern {
    let word = regex::escape(&vocab.tokens(rng).swap_remove(0));
    let other = regex::escape(&vocab.tokens(rng).swap_remove(0));
    let templates = [
        word.clone(),
        format!("(?i){word}"),
        format!("^{word}"),
        format!("{word}$"),
        r"\d{3,}".to_owned(),
        r"[A-Z]{2,}".to_owned(),
        r"\s\s".to_owned(),
        r"^$".to_owned(),
        r"日本|café".to_owned(),
        // Constructs Lucene cannot express (the pg backend verifies them).
        r"conn(ect|ection)\b".to_owned(),
        format!(r"\b{word}\b"),
        format!(r"(?i)\b{word}"),
        format!(r"{word}\B"),
        format!("(?m)^{word}"),
        format!("(?m){word}$"),
        format!(r"(?i)\b({word}|{other})\b"),
        r"(?i)\d+\b".to_owned(),
        r"\b\d{2,}\b".to_owned(),
        r"(?m)^[a-z]+[:.]".to_owned(),
        r"[[:alpha:]]+\d\b".to_owned(),
        format!("{word}|^{other}$"),
    ];
    RegexPattern::new(templates.choose(rng).expect("non-empty")).expect("template regexes compile")
}

fn keyword_regex(rng: &mut ChaCha8Rng, value: &str) -> RegexPattern {
    let prefix = regex::escape(&value.chars().take(3).collect::<String>());
    let infix = regex::escape(&value.chars().skip(1).take(3).collect::<String>());
    let templates = [
        format!("^{prefix}"),
        infix.clone(),
        r"-\d+$".to_owned(),
        r"(?i)^server".to_owned(),
        r"^(true|false)$".to_owned(),
        r"\.".to_owned(),
        // Constructs Lucene cannot express (the pg backend verifies them).
        format!(r"\b{prefix}"),
        format!(r"(?i){infix}\B"),
        format!("(?m)^{prefix}"),
        r"\d\b".to_owned(),
        r"\b(true|false)\b".to_owned(),
    ];
    RegexPattern::new(templates.choose(rng).expect("non-empty")).expect("template regexes compile")
}
