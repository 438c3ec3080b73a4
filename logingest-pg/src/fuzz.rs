//! Fuzz check of the AST → query DSL translation (feature `fuzzing`).
//!
//! The translation is pure, but whether its DSL selects what the reference
//! evaluator selects can only be seen on a live OpenSearch: that is the
//! differential test kit's job (`tests/conformance.rs`, run against the
//! services). What can be checked without one, on any query text the
//! fuzzer finds, is here so that the fuzz target (`fuzz/`, nightly) and
//! the stable replay of its seeds (the test below) run the same code:
//!
//! - no panic, and no refusal: every query that parses has a plan (exact,
//!   or a superset to verify), and a coarse plan without automata;
//! - the DSL prints as JSON that parses back to the same value;
//! - it is made only of the clauses the backend means to send, each in the
//!   shape OpenSearch expects: `term`s on `message` are single lowercase
//!   tokens as core's tokenizer makes them, `kw` terms, wildcards, prefixes
//!   and regexes start with their field's path and separator, `regexp`
//!   carries `flags: NONE` and the state limit, `raw` regexes start with
//!   the raw prefix, ranges have a bound of each side at most (`ts`
//!   nanoseconds, `num` terms of a path and 16 hex digits), and every
//!   `bool` list is non-empty, `should` with `minimum_should_match: 1`.

use logingest_core::query::parse_query_at;
use logingest_core::{tokenize, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::index::RAW_PREFIX;
use crate::translate::{coarse_dsl, to_dsl};

/// The `now` of relative times in fuzzed queries (2023-09-15T12:00:00Z).
const NOW: Timestamp = Timestamp(1_694_779_200_000_000_000);

/// Checks the DSL translation on one fuzz input, query text (see the
/// module doc). Panics when a property does not hold.
pub fn check_dsl(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(query) = parse_query_at(&text, NOW) else {
        return;
    };
    for (name, plan) in [
        ("plan", to_dsl(&query)),
        ("coarse plan", coarse_dsl(&query)),
    ] {
        let plan = plan.unwrap_or_else(|e| panic!("the {name} of {query} failed: {e}"));
        let dsl = plan.dsl;
        let printed = serde_json::to_string(&dsl).expect("DSL prints");
        // Without serde_json's nesting limit: the cluster has none as
        // low (see Cargo.toml, feature `fuzzing`).
        let mut parser = serde_json::Deserializer::from_str(&printed);
        parser.disable_recursion_limit();
        let back = Value::deserialize(&mut parser).expect("printed DSL parses");
        assert_eq!(back, dsl, "DSL does not survive printing: {printed}");
        if let Err(problem) = clause(&dsl) {
            panic!("malformed DSL ({name}) for {query}: {problem}\n  {printed}");
        }
    }
}

type Check = Result<(), String>;

/// The one member of `v`, an object of one member.
fn single(v: &Value) -> Result<(&str, &Value), String> {
    match v.as_object() {
        Some(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().expect("one member");
            Ok((k.as_str(), v))
        }
        _ => Err(format!("expected an object of one member, found {v}")),
    }
}

fn string<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} is not a string: {v}"))
}

/// Checks one query clause.
fn clause(v: &Value) -> Check {
    let (kind, body) = single(v)?;
    match kind {
        "match_all" | "match_none" if body == &Value::Object(Map::new()) => Ok(()),
        "term" => match single(body)? {
            ("message", token) => message_token(string(token, "term")?),
            ("kw", value) => keyword_text(string(value, "term")?),
            (field, _) => Err(format!("term on `{field}`")),
        },
        "match_phrase" => {
            let (field, phrase) = single(body)?;
            let phrase = phrase.as_object().ok_or("match_phrase body")?;
            let query = string(phrase.get("query").unwrap_or(&Value::Null), "phrase")?;
            if field != "message"
                || phrase.get("slop") != Some(&Value::from(0))
                || phrase.len() != 2
            {
                return Err(format!("match_phrase {body}"));
            }
            let tokens: Vec<&str> = query.split(' ').collect();
            if tokens.len() < 2 {
                return Err(format!("a phrase of one token: {query:?}"));
            }
            tokens.into_iter().try_for_each(message_token)
        }
        "wildcard" | "regexp" => {
            let (field, spec) = single(body)?;
            let spec = spec.as_object().ok_or("pattern body")?;
            let value = string(spec.get("value").unwrap_or(&Value::Null), "pattern")?;
            if kind == "regexp"
                && (spec.get("flags") != Some(&Value::from("NONE"))
                    || spec.get("max_determinized_states") != Some(&Value::from(100_000))
                    || spec.len() != 3)
            {
                return Err(format!("regexp options {body}"));
            }
            if kind == "wildcard" && spec.len() != 1 {
                return Err(format!("wildcard options {body}"));
            }
            match (kind, field) {
                ("wildcard", "message") => Ok(()),
                ("regexp", "raw") if value.starts_with(RAW_PREFIX) => Ok(()),
                (_, "kw") => keyword_pattern(value),
                _ => Err(format!("{kind} on `{field}`: {value:?}")),
            }
        }
        "prefix" => match single(body)? {
            ("kw", value) if !string(value, "prefix")?.is_empty() => Ok(()),
            _ => Err(format!("prefix {body}")),
        },
        "range" => match single(body)? {
            ("ts", bounds) => range(bounds, Value::is_i64, "nanoseconds"),
            ("num", bounds) => range(bounds, |b| b.as_str().is_some_and(number_term), "num terms"),
            _ => Err(format!("range {body}")),
        },
        "bool" => boolean(body),
        _ => Err(format!("unexpected clause `{kind}`: {body}")),
    }
}

/// A token of the `message` field: what core's tokenizer makes of itself.
///
/// Tokenizing is not idempotent for one character: `İ` (U+0130) lowercases
/// to `i` + U+0307 (combining dot above), a mark that is not alphanumeric,
/// so a token made from `İ` splits when tokenized again. It is still a
/// token as indexed (the indexer and the parser both split, then
/// lowercase), so that pair counts as one letter here.
fn message_token(token: &str) -> Check {
    let letters = token.replace("i\u{307}", "i");
    if tokenize(&letters) == [letters.as_str()] {
        Ok(())
    } else {
        Err(format!(
            "message term {token:?} is not one token as indexed"
        ))
    }
}

/// A `kw` term: `path\0value` with a non-empty path.
fn keyword_text(text: &str) -> Check {
    match text.split_once('\0') {
        Some((path, _)) if !path.is_empty() => Ok(()),
        _ => Err(format!("kw term without a path: {text:?}")),
    }
}

/// A pattern on `kw`: begins with the path (escaped) and the separator.
fn keyword_pattern(pattern: &str) -> Check {
    let separator = pattern
        .find('\0')
        .ok_or_else(|| format!("kw pattern without a path: {pattern:?}"))?;
    if separator == 0 {
        return Err(format!("kw pattern with an empty path: {pattern:?}"));
    }
    Ok(())
}

/// A `num` bound: a path and the separator, then 16 hex digits or nothing
/// (the first term of the path), or the end of the path's terms.
fn number_term(text: &str) -> bool {
    let hex = |n: &str| n.is_empty() || (n.len() == 16 && n.bytes().all(|b| b.is_ascii_hexdigit()));
    match text.split_once('\0') {
        Some((path, n)) => !path.is_empty() && hex(n),
        None => text.len() > 1 && text.ends_with('\u{1}'),
    }
}

/// A range of one bound on each side at most, each bound `valid`.
fn range(bounds: &Value, valid: fn(&Value) -> bool, what: &str) -> Check {
    let bounds = bounds.as_object().ok_or("range bounds")?;
    let lower = ["gt", "gte"]
        .iter()
        .filter(|k| bounds.contains_key(**k))
        .count();
    let upper = ["lt", "lte"]
        .iter()
        .filter(|k| bounds.contains_key(**k))
        .count();
    if bounds.is_empty() || lower > 1 || upper > 1 || lower + upper != bounds.len() {
        return Err(format!("range bounds {bounds:?}"));
    }
    match bounds.values().all(valid) {
        true => Ok(()),
        false => Err(format!("range bounds are not {what}: {bounds:?}")),
    }
}

fn boolean(body: &Value) -> Check {
    let body = body.as_object().ok_or("bool body")?;
    for (key, value) in body {
        match (key.as_str(), value) {
            ("filter" | "should" | "must_not", Value::Array(items)) if !items.is_empty() => {
                items.iter().try_for_each(clause)?;
            }
            ("minimum_should_match", v) if v == &Value::from(1) && body.contains_key("should") => {}
            _ => return Err(format!("bool member `{key}`: {value}")),
        }
    }
    match body.contains_key("should") == body.contains_key("minimum_should_match")
        && !body.is_empty()
    {
        true => Ok(()),
        false => Err(format!("bool {body:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::check_dsl;
    use logingest_core::testkit::fuzz::replay;

    /// The seeds of the `translate_dsl` fuzz target (`fuzz/corpus/`), so CI
    /// runs the check without nightly.
    #[test]
    fn translate_dsl_seeds() {
        replay(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/translate_dsl"),
            check_dsl,
        );
    }

    #[test]
    fn the_check_fails_on_a_malformed_clause() {
        assert!(super::clause(&serde_json::json!({"term": {"message": "Two words"}})).is_err());
        assert!(super::clause(&serde_json::json!({"bool": {"filter": []}})).is_err());
        assert!(super::clause(&serde_json::json!({"term": {"kw": "level\u{0}error"}})).is_ok());
    }
}
