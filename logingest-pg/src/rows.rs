//! Rows natively: the groups of a `stats` or `top` pipe as one search of
//! nested aggregations, instead of reading every matching record from PG.
//!
//! The tree, one level per group key, then the functions at the leaves:
//! - a keyword key is a `terms` aggregation on `kw` restricted to the path's
//!   terms (`include` of the `path\0` prefix; a record with several values
//!   falls in each one's bucket, as the reference groups it), beside a
//!   `filter` of the records without the path (the null group);
//! - a time bucket is a `histogram` on `ts_us` with the step in
//!   microseconds (steps are whole milliseconds, so the buckets are the
//!   reference's, aligned to the epoch, exact while `ts_us` is below 2^53);
//! - `count()` is a bucket's `doc_count`; `count(f)` a `filter` of `f:*`;
//!   `count_uniq(f)` a `terms` of `f`'s `kw` terms, every one; numbers a
//!   `terms` of `f`'s `numv` terms: each decodes to its number, its
//!   `doc_count` says in how many records, and a record holding a number
//!   `k` times carries `k - 1` more terms of it (`index.rs`), so sums and
//!   quantiles count it `k` times, as the evaluator does.
//!
//! Exactness is checked, not assumed: every `terms` must have returned all
//! its values (`sum_other_doc_count` 0, fewer than asked for), no record may
//! lie beyond the exact range of `ts_us`, and, when numbers are read, no
//! matching record may predate `numv` (documents indexed before it was
//! added lack it until a reindex). Otherwise, or when the cluster refuses
//! the search (`search.max_buckets`), [`rows`] answers `None` and the caller
//! reads records instead.

use logingest_core::keyword_term;
use logingest_core::number::Number;
use logingest_core::query::pipe::{Function, GroupKey};
use logingest_core::query::Query;
use logingest_core::rows::{Groups, Partial};
use logingest_core::{Cell, Result, Timestamp};
use serde_json::{json, Map, Value};

use crate::collect::{bad, path_terms as values, FACET_PAGE};
use crate::index::SearchIndex;
use crate::translate::{lucene_literal, to_dsl};

/// Most values one `terms` aggregation returns; a path with more makes
/// the rows come from records.
const MAX_TERMS: usize = FACET_PAGE;

/// `ts_us` is exact in the cluster's doubles below this.
const EXACT_US: i64 = 1 << 53;

/// Adds the groups of `dsl`'s matches to `groups` from one aggregation
/// search; `false` (nothing added) when the answer would not be exact or
/// the cluster refused it.
pub(crate) fn rows(index: &SearchIndex, dsl: Value, groups: &mut Groups<'_>) -> Result<bool> {
    let functions: Vec<Function> = groups.functions().cloned().collect();
    let mut aggs = Map::new();
    aggs.insert(
        "rows".to_owned(),
        json!({"filter": {"match_all": {}}, "aggs": level(groups.keys(), &functions)?}),
    );
    // Records whose `ts_us` a double cannot hold exactly.
    aggs.insert(
        "far".to_owned(),
        json!({"filter": {"bool": {"should": [
            {"range": {"ts_us": {"gte": EXACT_US}}},
            {"range": {"ts_us": {"lte": -EXACT_US}}},
        ], "minimum_should_match": 1}}}),
    );
    let numbers: Vec<Value> = functions
        .iter()
        .filter_map(number_field)
        .map(|f| json!({"prefix": {"num": keyword_term::prefix(f)}}))
        .collect();
    if !numbers.is_empty() {
        // Records with numbers read here but no `numv`: indexed before it.
        aggs.insert(
            "old".to_owned(),
            json!({"filter": {"bool": {
                "should": numbers,
                "minimum_should_match": 1,
                "must_not": [{"exists": {"field": "numv"}}],
            }}}),
        );
    }
    let body = json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": aggs,
    });
    let Some(answer) = index.search(&body)? else {
        return Ok(false);
    };
    if answer["_shards"]["total"].as_u64() == Some(0) {
        // No index yet: no records, no groups.
        return Ok(true);
    }
    let aggregations = &answer["aggregations"];
    let inexact = |name: &str| aggregations[name]["doc_count"].as_u64().unwrap_or(0) > 0;
    if inexact("far") || inexact("old") {
        return Ok(false);
    }
    let mut found = Vec::new();
    if !read_level(
        &aggregations["rows"],
        groups.keys(),
        &functions,
        &mut Vec::new(),
        &mut found,
    )? {
        return Ok(false);
    }
    for (key, partials) in found {
        groups.merge(key, partials)?;
    }
    Ok(true)
}

/// The named aggregations under one group of the keys before `keys[0]`:
/// the buckets of `keys[0]` (and the null group of a field), each holding
/// the next level; past the last key, the functions (`f0`, `f1`, …).
fn level(keys: &[GroupKey], functions: &[Function]) -> Result<Value> {
    let Some((key, rest)) = keys.split_first() else {
        return leaf(functions);
    };
    let inner = level(rest, functions)?;
    Ok(match key {
        GroupKey::Field(path) => json!({
            "values": nest(json!({"terms": terms("kw", path)}), &inner),
            "null": nest(json!({"filter": {"bool": {"must_not": [exists(path)?]}}}), &inner),
        }),
        GroupKey::Bucket { step, .. } => json!({
            "values": nest(json!({"histogram": {
                "field": "ts_us",
                "interval": step / 1000,
                "min_doc_count": 1,
            }}), &inner),
        }),
    })
}

/// `agg` with the named aggregations `inner` under it, if any.
fn nest(mut agg: Value, inner: &Value) -> Value {
    if inner.as_object().is_some_and(|aggs| !aggs.is_empty()) {
        agg["aggs"] = inner.clone();
    }
    agg
}

/// The named aggregations of the functions of one group; `count()` is the
/// group's own `doc_count`.
fn leaf(functions: &[Function]) -> Result<Value> {
    let mut aggs = Map::new();
    for (i, function) in functions.iter().enumerate() {
        let agg = match function {
            Function::Count => continue,
            Function::CountField(f) => json!({"filter": exists(f)?}),
            Function::CountUniq(f) => json!({"terms": terms("kw", f)}),
            other => match number_field(other) {
                Some(f) => json!({"terms": terms("numv", f)}),
                None => continue,
            },
        };
        aggs.insert(format!("f{i}"), agg);
    }
    Ok(Value::Object(aggs))
}

/// A `terms` aggregation over the terms of `path` in `field`.
fn terms(field: &str, path: &str) -> Value {
    let prefix = keyword_term::prefix(path);
    json!({
        "field": field,
        "include": format!("{}.*", lucene_literal(&prefix)),
        "size": MAX_TERMS,
        "shard_size": MAX_TERMS,
    })
}

/// The query of `path:*` (the record has the path or one below it).
fn exists(path: &str) -> Result<Value> {
    Ok(to_dsl(&Query::Exists {
        field: path.to_owned(),
    })?
    .dsl)
}

/// The field whose numbers `function` reads.
fn number_field(function: &Function) -> Option<&str> {
    match function {
        Function::Count | Function::CountField(_) | Function::CountUniq(_) => None,
        other => other.field(),
    }
}

/// A group found: its key cells and one partial per function.
type Found = (Vec<Cell>, Vec<Partial>);

/// Reads the groups under `agg` (the level of `keys[0]`), `key` holding
/// the cells of the levels above; false if a `terms` left values out.
fn read_level(
    agg: &Value,
    keys: &[GroupKey],
    functions: &[Function],
    key: &mut Vec<Cell>,
    found: &mut Vec<Found>,
) -> Result<bool> {
    let Some((first, rest)) = keys.split_first() else {
        return read_leaf(agg, functions, key, found);
    };
    let values = &agg["values"];
    let buckets = values["buckets"]
        .as_array()
        .ok_or_else(|| bad("buckets", agg))?;
    if let GroupKey::Field(_) = first {
        if !complete(values, buckets.len()) {
            return Ok(false);
        }
    }
    for bucket in buckets {
        let cell = match first {
            GroupKey::Field(path) => {
                let term = bucket["key"].as_str().ok_or_else(|| bad("key", bucket))?;
                let value = term
                    .strip_prefix(&keyword_term::prefix(path))
                    .ok_or_else(|| bad("key outside the path", bucket))?;
                Cell::Text(value.to_owned())
            }
            GroupKey::Bucket { step, .. } => {
                // Whole microseconds below 2^53 (checked): exact.
                let us = bucket["key"].as_f64().ok_or_else(|| bad("key", bucket))? as i64;
                let start = us.checked_mul(1000).filter(|s| s % step == 0);
                Cell::Time(Timestamp(start.ok_or_else(|| bad("bucket key", bucket))?))
            }
        };
        key.push(cell);
        let ok = read_level(bucket, rest, functions, key, found)?;
        key.pop();
        if !ok {
            return Ok(false);
        }
    }
    if let GroupKey::Field(_) = first {
        let null = &agg["null"];
        if null["doc_count"].as_u64().unwrap_or(0) > 0 {
            key.push(Cell::Null);
            let ok = read_level(null, rest, functions, key, found)?;
            key.pop();
            if !ok {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Reads the functions of one group (`agg`, its bucket); false if a
/// `terms` left values out.
fn read_leaf(
    agg: &Value,
    functions: &[Function],
    key: &[Cell],
    found: &mut Vec<Found>,
) -> Result<bool> {
    let group = agg;
    let records = group["doc_count"]
        .as_u64()
        .ok_or_else(|| bad("doc_count", agg))?;
    if records == 0 {
        return Ok(true);
    }
    let mut partials = Vec::with_capacity(functions.len());
    for (i, function) in functions.iter().enumerate() {
        let agg = &group[format!("f{i}")];
        let partial = match function {
            Function::Count => Partial::Count(records),
            Function::CountField(_) => Partial::Count(
                agg["doc_count"]
                    .as_u64()
                    .ok_or_else(|| bad("doc_count", agg))?,
            ),
            Function::CountUniq(path) => match values(agg, path)? {
                Some(values) => Partial::Values(values.into_iter().map(|(v, _)| v).collect()),
                None => return Ok(false),
            },
            other => {
                let path = number_field(other).unwrap_or_default();
                let Some(values) = values(agg, path)? else {
                    return Ok(false);
                };
                let mut numbers = Vec::new();
                for (term, count) in values {
                    // The number, then `\0k` on a record's k-th copy of it.
                    let number = term
                        .get(..16)
                        .and_then(Number::from_sortable)
                        .ok_or_else(|| bad("number term", agg))?;
                    numbers.extend(std::iter::repeat_n(number, count as usize));
                }
                Partial::Numbers(numbers)
            }
        };
        partials.push(partial);
    }
    found.push((key.to_vec(), partials));
    Ok(true)
}

/// Whether a `terms` answer of `returned` buckets holds every value.
fn complete(agg: &Value, returned: usize) -> bool {
    agg["sum_other_doc_count"].as_u64() == Some(0) && returned < MAX_TERMS
}
