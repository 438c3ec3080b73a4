//! Search-cluster answers → pages, histograms and facets, and the request
//! bodies that ask for them.
//!
//! - **Pages**: sort `(ts, seq)` in the requested order, `search_after` the
//!   cursor, `size` = limit + 1 (the extra hit says whether a next page
//!   exists), `track_total_hits: true` for an exact total (the total ignores
//!   `search_after`). Only the sort values are read; sources come from PG.
//! - **Histograms**: a `filters` aggregation of one exact `range` query per
//!   bucket. The `histogram` aggregation would be simpler but computes in
//!   doubles: at 1.7e18 ns a double is 256 ns coarse, so records near a bucket
//!   edge land in the wrong bucket; `date_histogram` needs a date field,
//!   and `date_nanos` cannot hold times before 1970.
//! - **Facets**: a `composite` aggregation over `kw`, starting right after
//!   the key `path` (so at the first `path\0…` term) and stopping at the
//!   first key outside the path. Composite counts are exact across indices,
//!   unlike `terms`, whose per-index top lists are merged approximately.
//!   Each document counts once per distinct value (doc values are sets).

use logingest_core::{Error, HistogramRequest, Order, Result, SearchRequest};
use serde_json::{json, Value};

use crate::index::KW_SEPARATOR;

/// Most buckets one composite page asks for (`search.max_buckets` is 65,535).
const FACET_PAGE: usize = 10_000;

fn bad(what: &str, answer: &Value) -> Error {
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

/// The body of a histogram: one exact range filter per bucket.
pub(crate) fn histogram_body(dsl: Value, request: &HistogramRequest) -> Value {
    let width = i128::from(request.bucket_width());
    let (start, end) = (i128::from(request.start.0), i128::from(request.end.0));
    let filters: Vec<Value> = (0..request.bucket_count())
        .map(|i| {
            let lo = start + i as i128 * width;
            let hi = (lo + width).min(end);
            json!({"range": {"ts": {"gte": lo as i64, "lt": hi as i64}}})
        })
        .collect();
    json!({
        "query": {"bool": {"filter": [dsl]}},
        "size": 0,
        "track_total_hits": false,
        "aggs": {"buckets": {"filters": {"filters": filters}}},
    })
}

/// The counts of a histogram answer, in bucket order.
pub(crate) fn histogram(answer: &Value, buckets: usize) -> Result<Vec<u64>> {
    let list = answer["aggregations"]["buckets"]["buckets"]
        .as_array()
        .ok_or_else(|| bad("filters buckets", answer))?;
    if list.len() != buckets {
        return Err(bad("bucket count", answer));
    }
    list.iter()
        .map(|b| b["doc_count"].as_u64().ok_or_else(|| bad("doc_count", b)))
        .collect()
}

/// The body of one facet page: values of `path` after `after` (a whole
/// `kw` term), among documents matching `dsl` that have a value at `path`.
pub(crate) fn facet_body(dsl: Value, path: &str, after: &str) -> Value {
    let has_path = json!({"prefix": {"kw": format!("{path}{KW_SEPARATOR}")}});
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
    let prefix = format!("{path}{KW_SEPARATOR}");
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
