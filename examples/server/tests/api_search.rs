//! `GET /api/search`, `/api/histogram` and `/api/facets` against the real
//! server: the sample queries of docs/query-language.md with exact totals, time bounds (RFC
//! 3339 and relative), limit, order, and cursor paging through 10,000 hits.

mod common;

use std::collections::HashSet;

use common::{encode, Server, SAMPLE};
use serde_json::Value;

/// The sample record of docs/query-language.md and seven neighbours around each requirement's
/// edges (case, token order, range bounds, prefixes of `server-1234`).
const RECORDS: [&str; 8] = [
    SAMPLE,
    r#"{"level":"error","message":"Failed to connect to cache","resourceId":"server-5678","timestamp":"2023-09-12T10:00:00Z","commit":"5e53aaa","metadata":{"parentResourceId":"server-0987"}}"#,
    r#"{"level":"info","message":"Connected to DB","resourceId":"server-1234","timestamp":"2023-09-14T12:00:00Z","metadata":{"parentResourceId":"server-0001"}}"#,
    r#"{"level":"warn","message":"connect failed: retrying","resourceId":"server-1234","timestamp":"2023-09-16T00:00:00Z"}"#,
    r#"{"level":"error","message":"Disk full","resourceId":"server-9999","timestamp":"2023-09-09T23:59:59Z"}"#,
    r#"{"level":"Error","message":"Failed to connect to queue","resourceId":"server-1234","timestamp":"2023-09-15T23:59:59Z"}"#,
    r#"{"level":"debug","message":"failed TO CONNECT again","resourceId":"server-12345","timestamp":"2023-09-10T00:00:00Z"}"#,
    r#"{"level":"info","message":"Failed to  connect","resourceId":"server-1234","timestamp":"2023-10-01T00:00:00Z","host":"web-1"}"#,
];

fn with_records() -> Server {
    let server = Server::start();
    assert_eq!(server.ingest(RECORDS.join("\n").as_bytes()), 8);
    server
}

/// The 0-based indexes into `RECORDS` of the hits of a page.
fn which(page: &Value) -> Vec<usize> {
    page["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| {
            let text = serde_json::to_string(hit).unwrap();
            RECORDS
                .iter()
                .position(|r| serde_json::from_str::<Value>(r).unwrap() == *hit)
                .unwrap_or_else(|| panic!("unknown hit {text}"))
        })
        .collect()
}

#[test]
fn the_queries_of_product_md_find_the_sample() {
    let server = with_records();
    for q in [
        "level:error",
        r#"message:"Failed to connect""#,
        "resourceId:server-1234",
        "timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]",
        r#"level:error "Failed to connect" -resourceId:server-0987"#,
        "metadata.parentResourceId:server-09* AND commit:/^5e53/",
    ] {
        let answer = server.get(&format!("/api/search?q={}", encode(q)), None);
        assert_eq!(answer.status, 200, "{q}: {}", answer.text);
        assert!(
            answer.text.contains(SAMPLE),
            "{q}: the sample must come back byte for byte: {}",
            answer.text
        );
    }
}

#[test]
fn queries_have_exact_totals_and_hits() {
    let server = with_records();
    let range = "timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]";
    let cases: Vec<(String, Vec<usize>)> = vec![
        ("level:error".into(), vec![0, 1, 4]),
        (r#"message:"Failed to connect""#.into(), vec![0, 1, 5, 6, 7]),
        (r#""Failed to connect""#.into(), vec![0, 1, 5, 6, 7]),
        ("resourceId:server-1234".into(), vec![0, 2, 3, 5, 7]),
        (range.into(), vec![0, 1, 2, 5, 6]),
        (
            "timestamp:{2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z}".into(),
            vec![0, 1, 2],
        ),
        (r#"level:error AND "Failed to connect""#.into(), vec![0, 1]),
        (
            format!("level:error AND resourceId:server-1234 AND {range}"),
            vec![0],
        ),
        (
            "level:error OR resourceId:server-1234".into(),
            vec![0, 1, 2, 3, 4, 5, 7],
        ),
        ("NOT level:error".into(), vec![2, 3, 5, 6, 7]),
        ("-level:error".into(), vec![2, 3, 5, 6, 7]),
        (
            r#"resourceId:server-1234 NOT "Failed to connect""#.into(),
            vec![2, 3],
        ),
        (
            "(level:error OR level:warn) AND timestamp:[2023-09-10 TO 2023-09-16]".into(),
            vec![0, 1, 3],
        ),
        (
            r#"level:Error OR message:"connect failed""#.into(),
            vec![3, 5],
        ),
        ("message:/Failed to .*(DB|cache)/".into(), vec![0, 1]),
        ("/^Failed/".into(), vec![0, 1, 5, 7]),
        ("/(?i)^failed/".into(), vec![0, 1, 5, 6, 7]),
        ("resourceId:/^server-\\d{5}$/".into(), vec![6]),
        (
            "metadata.parentResourceId:server-09* AND commit:/^5e53/".into(),
            vec![0, 1],
        ),
        ("metadata.parentResourceId:server-0987".into(), vec![0, 1]),
        ("resourceId:server-12*".into(), vec![0, 2, 3, 5, 6, 7]),
        (
            "traceId:abc-xyz-123 spanId:span-456 commit:5e5342f".into(),
            vec![0],
        ),
        ("traceId:*".into(), vec![0]),
        ("host:web-1".into(), vec![7]),
        ("timestamp>=2023-09-15T08:00:00Z".into(), vec![0, 3, 5, 7]),
        ("conn*".into(), vec![0, 1, 2, 3, 5, 6, 7]),
        ("*".into(), (0..8).collect()),
        (String::new(), (0..8).collect()),
    ];
    for (q, mut expected) in cases {
        let page = server.search(&q, "&limit=100&order=asc");
        assert_eq!(page["total"], expected.len(), "total of `{q}`: {page}");
        let mut got = which(&page);
        got.sort_unstable();
        expected.sort_unstable();
        assert_eq!(got, expected, "hits of `{q}`");
        assert_eq!(page["next_cursor"], Value::Null, "`{q}`");
        assert!(page["took_ms"].is_u64(), "`{q}`: {page}");
    }
}

#[test]
fn from_and_to_take_rfc3339_and_relative_times() {
    let server = with_records();
    // Three more without a timestamp: they are filed at the receive time.
    server.ingest(
        b"{\"message\":\"recent a\"}\n{\"message\":\"recent b\"}\n{\"message\":\"recent c\"}",
    );
    let total = |params: &str| -> u64 {
        let answer = server.get(&format!("/api/search?{params}"), None);
        assert_eq!(answer.status, 200, "{params}: {}", answer.text);
        answer.json()["total"].as_u64().unwrap()
    };
    assert_eq!(total(""), 11);
    // `from` inclusive, `to` exclusive.
    assert_eq!(
        total("from=2023-09-10T00:00:00Z&to=2023-09-15T23:59:59Z"),
        4
    );
    assert_eq!(
        total("from=2023-09-10T00:00:00Z&to=2023-09-16T00:00:00Z"),
        5
    );
    assert_eq!(total("from=2023-09-16T00:00:00Z&to=2023-09-17"), 1);
    // Offsets and bare dates are accepted.
    assert_eq!(total("from=2023-09-15T10:00:00%2B02:00&to=2023-09-15"), 0);
    assert_eq!(total("from=2023-09-15T09:59:59%2B02:00&to=2023-09-16"), 2);
    // Relative times; ANDed with `q`.
    assert_eq!(total("from=now-1h"), 3);
    assert_eq!(total("to=now-1h"), 8);
    assert_eq!(total("from=now-1h&to=now%2B1h"), 3);
    assert_eq!(total("q=recent&from=now-1d"), 3);
    assert_eq!(total("q=level:error&from=now-1d"), 0);
    assert_eq!(total("q=level:error&to=now-1d"), 3);
    // Empty values mean "unbounded".
    assert_eq!(total("from=&to="), 11);
}

#[test]
fn limit_and_order() {
    let server = with_records();
    let desc = server.search("", "&limit=100");
    assert_eq!(which(&desc), vec![7, 3, 5, 0, 2, 1, 6, 4]);
    let asc = server.search("", "&order=asc");
    assert_eq!(which(&asc), vec![4, 6, 1, 2, 0, 5, 3, 7]);
    let explicit = server.search("", "&order=desc");
    assert_eq!(which(&explicit), which(&desc));

    let first = server.search("", "&limit=3");
    assert_eq!(which(&first), vec![7, 3, 5]);
    assert_eq!(first["total"], 8, "total ignores the limit");
    let cursor = first["next_cursor"].as_str().expect("more follow");
    let second = server.search("", &format!("&limit=3&cursor={cursor}"));
    assert_eq!(which(&second), vec![0, 2, 1]);
    assert_eq!(second["total"], 8);
    let cursor = second["next_cursor"].as_str().expect("more follow");
    let third = server.search("", &format!("&limit=3&cursor={cursor}"));
    assert_eq!(which(&third), vec![6, 4]);
    assert_eq!(third["next_cursor"], Value::Null);

    // Default 100, at most 10000.
    let many: String = (0..150)
        .map(|i| format!("{{\"message\":\"filler {i}\"}}\n"))
        .collect();
    server.ingest(many.as_bytes());
    let page = server.search("filler", "");
    assert_eq!(page["hits"].as_array().unwrap().len(), 100);
    assert_eq!(page["total"], 150);
    assert!(page["next_cursor"].is_string());
    let page = server.search("filler", "&limit=10000");
    assert_eq!(page["hits"].as_array().unwrap().len(), 150);
    assert_eq!(page["next_cursor"], Value::Null);
}

/// `(timestamp, n)` of record `n` of the paging corpus: many records share
/// a timestamp, so ties are broken by ingest order.
fn paging_timestamp(n: usize) -> String {
    let s = (n * 7) % 3000;
    format!("2023-01-01T00:{:02}:{:02}Z", s / 60, s % 60)
}

#[test]
fn cursor_paging_through_10000_results() {
    const N: usize = 10_000;
    let server = Server::start();
    for chunk in (0..N).collect::<Vec<_>>().chunks(2_500) {
        let body: String = chunk
            .iter()
            .map(|&n| {
                format!(
                    "{{\"timestamp\":\"{}\",\"message\":\"paging record\",\"metadata\":{{\"n\":{n}}}}}\n",
                    paging_timestamp(n)
                )
            })
            .collect();
        let answer = server.post(
            "/logs?refresh=wait_for",
            body.as_bytes(),
            &[("Content-Type", "application/x-ndjson")],
            None,
        );
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["accepted"], chunk.len());
    }
    // Requests were sequential, so ingest order is `n` order.
    let mut asc: Vec<usize> = (0..N).collect();
    asc.sort_by_key(|&n| (paging_timestamp(n), n));
    let desc: Vec<usize> = asc.iter().rev().copied().collect();

    for (order, expected) in [("asc", asc), ("desc", desc)] {
        let mut seen = Vec::with_capacity(N);
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut extra = format!("&limit=700&order={order}");
            if let Some(c) = &cursor {
                extra.push_str(&format!("&cursor={c}"));
            }
            let page = server.search("paging", &extra);
            pages += 1;
            assert_eq!(page["total"], N, "page {pages} ({order})");
            let hits = page["hits"].as_array().expect("hits");
            seen.extend(
                hits.iter()
                    .map(|h| h["metadata"]["n"].as_u64().unwrap() as usize),
            );
            match page["next_cursor"].as_str() {
                Some(c) => {
                    assert_eq!(hits.len(), 700, "a page with more after it is full");
                    cursor = Some(c.to_owned());
                }
                None => break,
            }
            assert!(pages <= N / 700 + 1, "paging does not end ({order})");
        }
        assert_eq!(pages, N.div_ceil(700), "{order}");
        let distinct: HashSet<usize> = seen.iter().copied().collect();
        assert_eq!(distinct.len(), seen.len(), "no duplicates ({order})");
        assert_eq!(seen.len(), N, "none missing ({order})");
        assert!(
            seen == expected,
            "order is (timestamp, ingest order) {order}"
        );
    }
}

#[test]
fn histogram_counts_per_bucket() {
    let server = with_records();
    let answer = server.get(
        "/api/histogram?from=2023-09-09T00:00:00Z&to=2023-09-17T00:00:00Z&buckets=8",
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let h = answer.json();
    let counts: Vec<u64> = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    // One bucket a day from the 9th: 9th, 10th, 12th, 14th, 15th ×2, 16th.
    assert_eq!(counts, vec![1, 1, 0, 1, 0, 1, 2, 1]);
    assert_eq!(h["total"], 7);
    assert_eq!(h["start"], "2023-09-09T00:00:00Z");
    assert_eq!(h["interval_ms"], 86_400_000.0);
    assert_eq!(h["buckets"][1]["start"], "2023-09-10T00:00:00Z");
    assert!(h["took_ms"].is_u64());

    // With a query.
    let h = server
        .get(
            &format!(
                "/api/histogram?q={}&from=2023-09-09T00:00:00Z&to=2023-09-17T00:00:00Z&buckets=8",
                encode("level:error")
            ),
            None,
        )
        .json();
    let counts: Vec<u64> = h["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![1, 0, 0, 1, 0, 0, 1, 0]);

    // Without bounds: the span of the stored records, 60 buckets by default.
    let h = server.get("/api/histogram", None).json();
    assert_eq!(h["total"], 8, "{h}");
    assert_eq!(h["start"], "2023-09-09T23:59:59Z");
    let n = h["buckets"].as_array().unwrap().len();
    assert!((1..=60).contains(&n), "{n} buckets");
    let h = server.get("/api/histogram?buckets=3", None).json();
    assert_eq!(h["buckets"].as_array().unwrap().len(), 3, "{h}");
    assert_eq!(h["total"], 8);
}

#[test]
fn facets_give_top_values_with_counts() {
    let server = with_records();
    let answer = server.get("/api/facets", None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let f = answer.json();
    assert_eq!(f["field"], "level", "level by default");
    let values: Vec<(String, u64)> = f["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(values[0], ("error".to_owned(), 3), "{f}");
    assert_eq!(values[1], ("info".to_owned(), 2), "{f}");
    assert_eq!(values.len(), 5, "{f}");
    assert_eq!(values.iter().map(|v| v.1).sum::<u64>(), 8);
    assert!(f["took_ms"].is_u64());

    let facet = |params: &str| -> Vec<(String, u64)> {
        let answer = server.get(&format!("/api/facets?{params}"), None);
        assert_eq!(answer.status, 200, "{params}: {}", answer.text);
        answer.json()["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["value"].as_str().unwrap().to_owned(),
                    v["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        facet("field=resourceId&size=1"),
        vec![("server-1234".to_owned(), 5)]
    );
    assert_eq!(
        facet(&format!(
            "field=metadata.parentResourceId&q={}",
            encode("level:error")
        )),
        vec![("server-0987".to_owned(), 2)]
    );
    let mut day = facet("field=level&from=2023-09-15T00:00:00Z&to=2023-09-16T00:00:00Z");
    day.sort();
    assert_eq!(day, vec![("Error".to_owned(), 1), ("error".to_owned(), 1)]);
    assert_eq!(facet("field=nosuchfield"), vec![]);
}

#[test]
fn parse_splits_a_query_into_its_clauses() {
    let server = Server::start();
    let q = "  level:error AND (a OR b) -traceId:* \"failed to\" timestamp>=now-1h ";
    let answer = server.get(&format!("/api/parse?q={}", encode(q)), None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json = answer.json();
    let clauses = json["clauses"].as_array().expect("clauses");
    let texts: Vec<&str> = clauses
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "level:error",
            "(a OR b)",
            "-traceId:*",
            "\"failed to\"",
            "timestamp>=now-1h"
        ]
    );
    for clause in clauses {
        let (start, end) = (
            clause["start"].as_u64().unwrap(),
            clause["end"].as_u64().unwrap(),
        );
        assert_eq!(
            &q[start as usize..end as usize],
            clause["text"].as_str().unwrap()
        );
    }
    assert_eq!(
        clauses[0]["query"],
        serde_json::json!({"type": "keyword", "field": "level", "value": "error"})
    );
    assert_eq!(clauses[1]["query"]["type"], "or");
    assert_eq!(clauses[2]["query"]["child"]["type"], "exists");
    assert_eq!(
        clauses[3]["query"]["tokens"],
        serde_json::json!(["failed", "to"])
    );
    assert_eq!(clauses[4]["query"]["start"]["inclusive"], true);
    assert!(clauses[4]["query"]["end"].is_null());
    assert!(json["query"]
        .as_str()
        .unwrap()
        .starts_with(r#"level:"error" AND (message:"a" OR message:"b")"#));

    let numbers = server.get(
        &format!("/api/parse?q={}", encode("metadata.http.status:{499 TO *]")),
        None,
    );
    assert_eq!(
        numbers.json()["clauses"][0]["query"],
        serde_json::json!({"type": "number_range", "field": "metadata.http.status",
            "start": {"number": 499.0, "inclusive": false}, "end": null})
    );

    // The same errors as search, with the byte position.
    let bad = server.get(&format!("/api/parse?q={}", encode("level:error AND")), None);
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["position"], 15);
    let unknown = server.get("/api/parse?q=a&limit=1", None);
    assert_eq!(unknown.status, 400, "{}", unknown.text);
    assert!(
        unknown.text.contains("unknown parameter `limit`"),
        "{}",
        unknown.text
    );
}

#[test]
fn ui_files_are_served_and_unknown_ones_are_404() {
    let server = Server::start();
    let page = server.get_with("/", &[("Accept", "text/html")], None);
    assert_eq!(page.status, 200);
    // Relative URLs under the <base> of the mount path (here the root).
    assert!(page.text.contains(r#"<base href="/">"#), "{}", page.text);
    assert!(page.text.contains(r#"src="ui/app.js""#), "{}", page.text);
    let script = server.get("/ui/app.js", None);
    assert_eq!(script.status, 200);
    assert!(script.text.contains("import "));
    let missing = server.get("/ui/nope.js", None);
    assert_eq!(missing.status, 404);
    assert!(
        missing.text.contains("no UI file `nope.js`"),
        "{}",
        missing.text
    );
}
