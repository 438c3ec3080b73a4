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
//! matching document may predate `numv` (documents indexed before it lack
//! it, and the `format` mark, until a reindex). Otherwise, or when the cluster refuses
//! the search (`search.max_buckets`), [`rows`] answers `None` and the caller
//! reads records instead.

use logingest_core::keyword_term;
use logingest_core::number::Number;
use logingest_core::query::pipe::{Function, GroupKey};
use logingest_core::query::Query;
use logingest_core::rows::{too_large, Groups, Partial};
use logingest_core::{Cell, Result, Timestamp};
use serde_json::{json, Map, Value};

use crate::collect::{
    bad, facet_terms, facet_terms_body, holds_every_term, path_terms, terms_of_path, FACET_PAGE,
};
use crate::index::SearchIndex;
use crate::translate::to_dsl;

/// Most values of a group key one `terms` aggregation returns; a key with
/// more makes the rows come from records.
const KEY_TERMS: usize = FACET_PAGE;

/// Most values of a function's field in one group (`count_uniq`,
/// numbers): the cluster's default limit of buckets in a whole answer,
/// which splits a search that needs more (see [`rows`]).
const LEAF_TERMS: usize = 65_535;

/// `ts_us` is exact in the cluster's doubles below this.
const EXACT_US: i64 = 1 << 53;

/// Most searches one request's rows may take when the cluster refuses
/// the first for its bucket limit and the first key's values are split.
const MAX_SEARCHES: usize = 64;

/// Which values of the first key (a field) one search groups by.
#[derive(Debug, Clone)]
struct Slice {
    /// These values only (`None`: every one).
    values: Option<Vec<String>>,
    /// And the null group.
    null: bool,
}

/// What one search did.
enum Answer {
    /// Its groups were added to the [`Collected`].
    Found,
    /// Not exact: the rows must come from records.
    Inexact,
    /// Refused for a limit of the cluster (`search.max_buckets`).
    Refused,
}

/// Adds the groups of `dsl`'s matches to `groups` from aggregation
/// searches; `false` (nothing added) when the answer would not be exact
/// or the cluster refused it. One search when the estimate of its buckets
/// ([`slices`]) fits the cluster's limit; otherwise one per slice of the
/// first key's values, and a slice the cluster still refuses is split in
/// halves (at most [`MAX_SEARCHES`] searches in all).
/// `budget` bounds the numbers the answers hold (each pair of a number and
/// its count becomes that many numbers).
pub(crate) fn rows(
    index: &SearchIndex,
    dsl: Value,
    groups: &mut Groups<'_>,
    budget: usize,
) -> Result<bool> {
    let functions: Vec<Function> = groups.functions().cloned().collect();
    let keys = groups.keys();
    let every = Slice {
        values: None,
        null: true,
    };
    let mut pending = match slices(index, &dsl, keys, &functions)? {
        Some(slices) if slices.len() > MAX_SEARCHES => return Ok(false),
        Some(slices) => slices,
        None => vec![every],
    };
    let mut found = Collected {
        groups: Vec::new(),
        numbers_left: budget / size_of::<Number>(),
        budget,
    };
    let mut searches = 0;
    while let Some(slice) = pending.pop() {
        searches += 1;
        if searches > MAX_SEARCHES {
            return Ok(false);
        }
        match search(index, &dsl, keys, &functions, &slice, &mut found)? {
            Answer::Found => {}
            Answer::Inexact => return Ok(false),
            Answer::Refused => {
                // Estimates can be low: split what was refused (a
                // refusal costs the cluster as much as the search).
                let Some(GroupKey::Field(path)) = keys.first() else {
                    return Ok(false);
                };
                let values = match slice.values {
                    Some(values) => values,
                    None => match key_values(index, &dsl, path)? {
                        Some(values) => values,
                        None => return Ok(false),
                    },
                };
                if values.len() < 2 {
                    return Ok(false);
                }
                let (a, b) = values.split_at(values.len() / 2);
                pending.push(Slice {
                    values: Some(a.to_vec()),
                    null: slice.null,
                });
                pending.push(Slice {
                    values: Some(b.to_vec()),
                    null: false,
                });
            }
        }
    }
    for (key, partials) in found.groups {
        groups.merge(key, partials)?;
    }
    Ok(true)
}

/// About how many buckets one search may make: half the cluster's
/// default limit, for the estimates' error.
const SLICE_BUCKETS: u64 = 30_000;

/// The slices of the first key's values to search one at a time, from an
/// estimate of each value's buckets (its groups, and for each function
/// read as terms the `cardinality` of the field, which counts every
/// path's terms and so errs high); `None` for one search of everything:
/// the first key is not a field, or the estimate fits [`SLICE_BUCKETS`].
/// A refused search costs the cluster as much as a successful one (it
/// fails when the buckets are counted, at the end), so estimating first
/// saves seconds when the rows are many.
fn slices(
    index: &SearchIndex,
    dsl: &Value,
    keys: &[GroupKey],
    functions: &[Function],
) -> Result<Option<Vec<Slice>>> {
    let Some(GroupKey::Field(_)) = keys.first() else {
        return Ok(None);
    };
    let leaves: Vec<(usize, &str)> = functions
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f {
            Function::CountUniq(_) => Some((i, "kw")),
            other => number_field(other).map(|_| (i, "numv")),
        })
        .collect();
    if keys.len() < 2 && leaves.is_empty() {
        return Ok(None);
    }
    let mut cardinalities = Map::new();
    for (i, field) in leaves {
        cardinalities.insert(
            format!("f{i}"),
            json!({"cardinality": {"field": field, "precision_threshold": 1_000}}),
        );
    }
    let body = json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": {"rows": {"filter": {"match_all": {}},
            "aggs": level(keys, &Value::Object(cardinalities), None)?}},
    });
    let Some(answer) = index.search(&body)? else {
        return Ok(None);
    };
    let first = &answer["aggregations"]["rows"];
    let buckets = first["values"]["buckets"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if !holds_every_term(&first["values"], buckets.len(), KEY_TERMS) {
        // Slices list the values they take: a value left out here would
        // be in none. One search, whose own answer says if it is exact.
        return Ok(None);
    }
    let mut slices = Vec::new();
    let null = buckets_below(&first["null"]);
    let (mut values, mut sum, mut total) = (Vec::new(), null, null);
    for bucket in buckets {
        let Some(term) = bucket["key"].as_str() else {
            return Ok(None);
        };
        let n = buckets_below(bucket);
        total += n;
        if sum + n > SLICE_BUCKETS && !values.is_empty() {
            slices.push(std::mem::take(&mut values));
            sum = 0;
        }
        values.push(term.to_owned());
        sum += n;
    }
    slices.push(values);
    if total <= SLICE_BUCKETS {
        return Ok(None);
    }
    Ok(Some(
        slices
            .into_iter()
            .enumerate()
            .map(|(i, values)| Slice {
                values: Some(values),
                null: i == 0,
            })
            .collect(),
    ))
}

/// The estimated buckets under one bucket of an estimate: a group for each
/// bucket of the last key, plus its cardinalities.
fn buckets_below(bucket: &Value) -> u64 {
    if bucket["doc_count"].as_u64().unwrap_or(0) == 0 {
        return 0;
    }
    let mut n = 0;
    let mut leaf = true;
    for name in ["values", "null"] {
        let child = &bucket[name];
        if let Some(children) = child["buckets"].as_array() {
            leaf = false;
            n += children.iter().map(buckets_below).sum::<u64>();
        } else if child.is_object() {
            leaf = false;
            n += buckets_below(child);
        }
    }
    if leaf {
        let values: u64 = bucket
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(name, _)| name.starts_with('f'))
            .filter_map(|(_, agg)| agg["value"].as_u64())
            .sum();
        n = 1 + values;
    }
    n
}

/// Every value of `path` among `dsl`'s matches, as whole `kw` terms;
/// `None` if there are more than one answer holds (the facets' search).
fn key_values(index: &SearchIndex, dsl: &Value, path: &str) -> Result<Option<Vec<String>>> {
    let Some(answer) = index.search(&facet_terms_body(dsl.clone(), path))? else {
        return Ok(None);
    };
    let prefix = keyword_term::prefix(path);
    Ok(facet_terms(&answer, path)?.map(|values| {
        values
            .into_iter()
            .map(|(v, _)| format!("{prefix}{v}"))
            .collect()
    }))
}

/// The groups of one slice of the first key's values, in one search.
fn search(
    index: &SearchIndex,
    dsl: &Value,
    keys: &[GroupKey],
    functions: &[Function],
    slice: &Slice,
    found: &mut Collected,
) -> Result<Answer> {
    let mut aggs = Map::new();
    aggs.insert(
        "rows".to_owned(),
        json!({"filter": {"match_all": {}}, "aggs": level(keys, &leaf(functions)?, Some(slice))?}),
    );
    // Records whose `ts_us` a double cannot hold exactly.
    aggs.insert(
        "far".to_owned(),
        json!({"filter": {"bool": {"should": [
            {"range": {"ts_us": {"gte": EXACT_US}}},
            {"range": {"ts_us": {"lte": -EXACT_US}}},
        ], "minimum_should_match": 1}}}),
    );
    if functions.iter().any(|f| number_field(f).is_some()) {
        // Documents indexed before `numv` (they lack the `format` mark).
        aggs.insert(
            "old".to_owned(),
            json!({"filter": {"bool": {"must_not": [{"exists": {"field": "format"}}]}}}),
        );
    }
    let body = json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": aggs,
    });
    let Some(answer) = index.search(&body)? else {
        return Ok(Answer::Refused);
    };
    if answer["_shards"]["total"].as_u64() == Some(0) {
        // No index yet: no records, no groups.
        return Ok(Answer::Found);
    }
    let aggregations = &answer["aggregations"];
    let inexact = |name: &str| aggregations[name]["doc_count"].as_u64().unwrap_or(0) > 0;
    if inexact("far") || inexact("old") {
        return Ok(Answer::Inexact);
    }
    let complete = read_level(
        &aggregations["rows"],
        keys,
        functions,
        &mut Vec::new(),
        found,
    )?;
    Ok(if complete {
        Answer::Found
    } else {
        Answer::Inexact
    })
}

/// The named aggregations under one group of the keys before `keys[0]`:
/// the buckets of `keys[0]` (and the null group of a field), each holding
/// the next level; past the last key, `leaf` (the functions, `f0`, `f1`,
/// …, or their estimates).
/// `slice`, for the first key only, narrows its values.
fn level(keys: &[GroupKey], leaf: &Value, slice: Option<&Slice>) -> Result<Value> {
    let Some((key, rest)) = keys.split_first() else {
        return Ok(leaf.clone());
    };
    let inner = level(rest, leaf, None)?;
    Ok(match key {
        GroupKey::Field(path) => {
            let mut terms = terms_of_path("kw", path, KEY_TERMS);
            if let Some(values) = slice.and_then(|s| s.values.as_ref()) {
                terms["include"] = json!(values);
            }
            let mut aggs = json!({"values": nest(json!({"terms": terms}), &inner)});
            if slice.is_none_or(|s| s.null) {
                aggs["null"] = nest(
                    json!({"filter": {"bool": {"must_not": [has_values(path)]}}}),
                    &inner,
                );
            }
            aggs
        }
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
            Function::CountUniq(f) => json!({"terms": terms_of_path("kw", f, LEAF_TERMS)}),
            other => match number_field(other) {
                Some(f) => json!({"terms": terms_of_path("numv", f, LEAF_TERMS)}),
                None => continue,
            },
        };
        aggs.insert(format!("f{i}"), agg);
    }
    Ok(Value::Object(aggs))
}

/// The query of the records with a value at `path` itself (the null group
/// is the others, as the reference's: a record with only paths below
/// `path` has no value of it).
fn has_values(path: &str) -> Value {
    json!({"prefix": {"kw": keyword_term::prefix(path)}})
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

/// The groups the searches found, and how many numbers they may still
/// hold within the budget.
struct Collected {
    groups: Vec<Found>,
    numbers_left: usize,
    budget: usize,
}

/// Reads the groups under `agg` (the level of `keys[0]`), `key` holding
/// the cells of the levels above; false if a `terms` left values out.
fn read_level(
    agg: &Value,
    keys: &[GroupKey],
    functions: &[Function],
    key: &mut Vec<Cell>,
    found: &mut Collected,
) -> Result<bool> {
    let Some((first, rest)) = keys.split_first() else {
        return read_leaf(agg, functions, key, found);
    };
    let values = &agg["values"];
    let buckets = values["buckets"]
        .as_array()
        .ok_or_else(|| bad("buckets", agg))?;
    if let GroupKey::Field(_) = first {
        if !holds_every_term(values, buckets.len(), KEY_TERMS) {
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
                // A start the reference saturates (before 1677): from records.
                let Some(start) = us.checked_mul(1000).filter(|s| s % step == 0) else {
                    return Ok(false);
                };
                Cell::Time(Timestamp(start))
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
        // Absent when the search's slice leaves the null group out.
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
    found: &mut Collected,
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
            Function::CountUniq(path) => match path_terms(agg, path, LEAF_TERMS)? {
                Some(values) => Partial::Values(values.into_iter().map(|(v, _)| v).collect()),
                None => return Ok(false),
            },
            other => {
                let path = number_field(other).unwrap_or_default();
                let Some(values) = path_terms(agg, path, LEAF_TERMS)? else {
                    return Ok(false);
                };
                let total: u64 = values.iter().map(|(_, count)| count).sum();
                found.numbers_left = usize::try_from(total)
                    .ok()
                    .and_then(|total| found.numbers_left.checked_sub(total))
                    .ok_or_else(|| too_large(found.budget))?;
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
    found.groups.push((key.to_vec(), partials));
    Ok(true)
}
