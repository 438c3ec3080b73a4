//! Search-cluster answers → pages, histograms and facets, and the request
//! bodies that ask for them.
//!
//! - **Pages**: sort `(ts, seq)` in the requested order, `search_after` the
//!   cursor, `size` = limit + 1 (the extra hit says whether a next page
//!   exists), `track_total_hits: true` for an exact total (the total ignores
//!   `search_after`). Only the sort values are read; sources come from PG.
//! - **Histograms**: the `histogram` aggregation computes in doubles; at
//!   1.7e18 ns a double is 256 ns coarse, so on `ts` records near a bucket
//!   edge would land in the wrong bucket (`date_histogram` needs a date
//!   field, and `date_nanos` cannot hold times before 1970). So: on `ts_us`
//!   (whole microseconds, exact as doubles) when the request's start and
//!   width are whole microseconds, which is provably exact; otherwise a
//!   `filters` aggregation of one exact `range` query per bucket.
//! - **Facets**: first a `terms` aggregation restricted to the path's terms;
//!   its answer is exact when no index left a value out
//!   (`sum_other_doc_count` 0, fewer values than asked). Otherwise a
//!   `composite` aggregation over `kw`, starting right after
//!   the key `path` (so at the first `path\0…` term) and stopping at the
//!   first key outside the path. Composite counts are exact across indices,
//!   unlike `terms`, whose per-index top lists are merged approximately.
//!   Each document counts once per distinct value (doc values are sets).

use logingest_core::keyword_term;
use logingest_core::{Error, HistogramRequest, Order, Result, SearchRequest};
use serde_json::{json, Value};

use crate::translate::lucene_literal;

/// Most buckets one composite page asks for (`search.max_buckets` is 65,535).
pub(crate) const FACET_PAGE: usize = 10_000;

/// Whether the search ran on no index at all (none exists yet: nothing was
/// ever delivered, or retention removed every day). Such an answer carries
/// no aggregations and may carry no total; it means "no records".
fn no_index(answer: &Value) -> bool {
    answer["_shards"]["total"].as_u64() == Some(0)
}

pub(crate) fn bad(what: &str, answer: &Value) -> Error {
    let mut text = answer.to_string();
    text.truncate(500);
    Error::backend_msg(false, format!("unexpected search answer ({what}): {text}"))
}

/// The body of one page of `request`, filtered by `dsl`.
pub(crate) fn page_body(dsl: Value, request: &SearchRequest) -> Value {
    let order = match request.order {
        Order::Asc => "asc",
        Order::Desc => "desc",
    };
    let mut body = json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": request.limit.saturating_add(1),
        "track_total_hits": true,
        "_source": false,
        "sort": [{"ts": {"order": order}}, {"seq": {"order": order}}],
    });
    if let Some(cursor) = request.cursor {
        body["search_after"] = json!([cursor.timestamp.0, cursor.seq]);
    }
    body
}

/// `(total, [(ts, seq)])` of a page answer.
pub(crate) fn page(answer: &Value) -> Result<(u64, Vec<(i64, u64)>)> {
    if no_index(answer) {
        return Ok((0, Vec::new()));
    }
    let total = answer["hits"]["total"]["value"]
        .as_u64()
        .ok_or_else(|| bad("hits.total", answer))?;
    if answer["hits"]["total"]["relation"].as_str() != Some("eq") {
        return Err(bad("total not exact", answer));
    }
    let hits = answer["hits"]["hits"]
        .as_array()
        .ok_or_else(|| bad("hits", answer))?;
    let ranked = hits
        .iter()
        .map(|h| {
            let sort = &h["sort"];
            match (sort[0].as_i64(), sort[1].as_u64()) {
                (Some(ts), Some(seq)) => Ok((ts, seq)),
                _ => Err(bad("sort values", h)),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((total, ranked))
}

/// `2^53`: integers below it (in magnitude) are exact as doubles.
const EXACT_IN_DOUBLE: i64 = 1 << 53;

/// `(start, width)` in microseconds when a `histogram` aggregation on `ts_us`
/// counts exactly: start and width are whole microseconds and every
/// microsecond value in the window is exact as a double (1685–2255). Then
/// `floor((t - start) / width)` in nanoseconds equals the same in whole
/// microseconds (`t = t_us·1000 + r`, `0 ≤ r < 1000`, and adding `r/1000 < 1`
/// to an integer numerator never crosses a multiple of an integer width), and
/// `floor` of a double quotient of integers below 2^53 is exact.
fn microsecond_grid(request: &HistogramRequest) -> Option<(i64, i64)> {
    let width = request.bucket_width();
    let (start, end) = (request.start.0, request.end.0);
    if start % 1000 != 0 || width % 1000 != 0 {
        return None;
    }
    let limit = EXACT_IN_DOUBLE - 1;
    let ok = |us: i64| (-limit..=limit).contains(&us);
    let (start_us, end_us, width_us) = (start / 1000, end.div_euclid(1000) + 1, width / 1000);
    (ok(start_us) && ok(end_us) && ok(width_us)).then_some((start_us, width_us))
}

/// The body of a histogram: a `histogram` aggregation on `ts_us` where that
/// is exact (see [`microsecond_grid`]), else one exact `range` filter per
/// bucket (`filters`, which costs matching records × buckets).
pub(crate) fn histogram_body(dsl: Value, request: &HistogramRequest) -> Value {
    let aggs = match microsecond_grid(request) {
        Some((start_us, width_us)) => json!({"buckets": {"histogram": {
            "field": "ts_us",
            "interval": width_us,
            "offset": start_us.rem_euclid(width_us),
            "min_doc_count": 1,
        }}}),
        None => {
            let width = i128::from(request.bucket_width());
            let (start, end) = (i128::from(request.start.0), i128::from(request.end.0));
            let filters: Vec<Value> = (0..request.bucket_count())
                .map(|i| {
                    let lo = start + i as i128 * width;
                    let hi = (lo + width).min(end);
                    json!({"range": {"ts": {"gte": lo as i64, "lt": hi as i64}}})
                })
                .collect();
            json!({"buckets": {"filters": {"filters": filters}}})
        }
    };
    json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": aggs,
    })
}

/// The counts of a histogram answer, in bucket order.
pub(crate) fn histogram(answer: &Value, request: &HistogramRequest) -> Result<Vec<u64>> {
    let buckets = request.bucket_count();
    if no_index(answer) {
        return Ok(vec![0; buckets]);
    }
    let list = answer["aggregations"]["buckets"]["buckets"]
        .as_array()
        .ok_or_else(|| bad("histogram buckets", answer))?;
    let Some((start_us, width_us)) = microsecond_grid(request) else {
        if list.len() != buckets {
            return Err(bad("bucket count", answer));
        }
        return list
            .iter()
            .map(|b| b["doc_count"].as_u64().ok_or_else(|| bad("doc_count", b)))
            .collect();
    };
    let mut counts = vec![0u64; buckets];
    for b in list {
        // Keys are whole microseconds below 2^53: exact in the double.
        let key = b["key"].as_f64().ok_or_else(|| bad("key", b))? as i64;
        let count = b["doc_count"].as_u64().ok_or_else(|| bad("doc_count", b))?;
        let i = (key - start_us).div_euclid(width_us);
        match usize::try_from(i).ok().and_then(|i| counts.get_mut(i)) {
            Some(slot) => *slot += count,
            None if count == 0 => {}
            None => return Err(bad("bucket outside the window", b)),
        }
    }
    Ok(counts)
}

/// The body of a `terms` aggregation over the values of `path` (an
/// `include` regex on the `path\0` prefix, evaluated on the term
/// dictionary), asking for up to [`FACET_PAGE`] values from every index.
pub(crate) fn facet_terms_body(dsl: Value, path: &str) -> Value {
    let prefix = keyword_term::prefix(path);
    json!({
        "query": {"bool": {"filter": [dsl, {"prefix": {"kw": &prefix}}]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": {"values": {"terms": terms_of_path("kw", path, FACET_PAGE)}},
    })
}

/// The body of a `terms` aggregation over the terms of `path` in `field`
/// (`kw` values, `numv` numbers), up to `size` of them from every index.
pub(crate) fn terms_of_path(field: &str, path: &str, size: usize) -> Value {
    let prefix = keyword_term::prefix(path);
    json!({
        "field": field,
        "include": format!("{}.*", lucene_literal(&prefix)),
        "size": size,
        "shard_size": size,
    })
}

/// Whether a `terms` answer `agg` of `returned` buckets, asked for `size`,
/// holds every value: no index left one out, and fewer came back.
pub(crate) fn holds_every_term(agg: &Value, returned: usize, size: usize) -> bool {
    agg["sum_other_doc_count"].as_u64() == Some(0) && returned < size
}

/// Every `(value, count)` of a `terms` answer, if it holds every value with
/// its exact count: no index left a value out (`sum_other_doc_count` is 0)
/// and fewer values than asked for came back. Otherwise `None`.
pub(crate) fn facet_terms(answer: &Value, path: &str) -> Result<Option<Vec<(String, u64)>>> {
    if no_index(answer) {
        return Ok(Some(Vec::new()));
    }
    path_terms(&answer["aggregations"]["values"], path, FACET_PAGE)
}

/// The values of `path` (its terms less the `path\0` prefix) in the
/// `terms` aggregation `agg` of `size` buckets, with their counts; `None`
/// unless it holds every value.
pub(crate) fn path_terms(
    agg: &Value,
    path: &str,
    size: usize,
) -> Result<Option<Vec<(String, u64)>>> {
    let buckets = agg["buckets"]
        .as_array()
        .ok_or_else(|| bad("terms buckets", agg))?;
    if agg["sum_other_doc_count"].as_u64().is_none() {
        return Err(bad("sum_other_doc_count", agg));
    }
    if !holds_every_term(agg, buckets.len(), size) {
        return Ok(None);
    }
    let prefix = keyword_term::prefix(path);
    buckets
        .iter()
        .map(|b| {
            let key = b["key"].as_str().ok_or_else(|| bad("terms key", b))?;
            let value = key
                .strip_prefix(&prefix)
                .ok_or_else(|| bad("terms key outside the path", b))?;
            let count = b["doc_count"].as_u64().ok_or_else(|| bad("doc_count", b))?;
            Ok((value.to_owned(), count))
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The body of one facet page: values of `path` after `after` (a whole
/// `kw` term), among documents matching `dsl` that have a value at `path`.
pub(crate) fn facet_body(dsl: Value, path: &str, after: &str) -> Value {
    let has_path = json!({"prefix": {"kw": keyword_term::prefix(path)}});
    json!({
        "query": {"bool": {"filter": [dsl, has_path]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": {"values": {"composite": {
            "size": FACET_PAGE,
            "sources": [{"v": {"terms": {"field": "kw"}}}],
            "after": {"v": after},
        }}},
    })
}

/// Values with their counts, and the key to continue after (if any).
pub(crate) type FacetPage = (Vec<(String, u64)>, Option<String>);

/// The `(value, count)` pairs of `path` in a facet page, and whether more
/// may follow (the page was full and never left the path).
pub(crate) fn facet_page(answer: &Value, path: &str) -> Result<FacetPage> {
    let buckets = answer["aggregations"]["values"]["buckets"]
        .as_array()
        .ok_or_else(|| bad("composite buckets", answer))?;
    let prefix = keyword_term::prefix(path);
    let mut values = Vec::new();
    let mut last = None;
    for b in buckets {
        let key = b["key"]["v"]
            .as_str()
            .ok_or_else(|| bad("composite key", b))?;
        let Some(value) = key.strip_prefix(&prefix) else {
            // Keys are sorted: everything after this is another path.
            return Ok((values, None));
        };
        let count = b["doc_count"].as_u64().ok_or_else(|| bad("doc_count", b))?;
        values.push((value.to_owned(), count));
        last = Some(key.to_owned());
    }
    let more = if buckets.len() >= FACET_PAGE {
        last
    } else {
        None
    };
    Ok((values, more))
}

#[cfg(test)]
mod tests {
    use super::*;
    use logingest_core::query::Query;
    use logingest_core::Timestamp;

    #[test]
    fn microsecond_grid_only_where_exact() {
        let h = |start: i64, end: i64, n| {
            HistogramRequest::new(Query::All, Timestamp(start), Timestamp(end), n)
        };
        let day = 1_694_736_000_000_000_000;
        assert_eq!(
            microsecond_grid(&h(day, day + 60_000_000_000, 60)),
            Some((day / 1000, 1_000_000))
        );
        assert_eq!(
            microsecond_grid(&h(day + 1, day + 60_000_000_001, 60)),
            None,
            "start"
        );
        assert_eq!(
            microsecond_grid(&h(day, day + 60_000_000_001, 60)),
            None,
            "width"
        );
        assert_eq!(
            microsecond_grid(&h(i64::MIN + 808, 0, 1)),
            None,
            "1677 is beyond 2^53 µs"
        );
        assert!(microsecond_grid(&h(-1000, 1000, 2)).is_some());
    }
}
