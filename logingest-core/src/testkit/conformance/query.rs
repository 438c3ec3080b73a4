//! Cases about searching: query forms, time edges, order, cursors, text.

use std::collections::HashSet;

use super::{all_sources, assert_query, q, reference_sources};
use crate::backend::{Backend, Order, SearchRequest, TimeRange};
use crate::query::Query;
use crate::record::Record;
use crate::testkit::corpus::{self, records};
use crate::testkit::harness::{write_all, Harness};
use crate::timestamp::Timestamp;

/// Records that several cases search: the sample record of docs/query-language.md, near misses of
/// it, and random records.
fn fixture() -> Vec<Record> {
    let mut texts = vec![corpus::PRODUCT_SAMPLE.to_owned()];
    texts.extend([
        r#"{"level":"Error","message":"failed to Connect to db","resourceId":"server-12345","timestamp":"2023-09-10T00:00:00Z","metadata":{"parentResourceId":"server-1234","retries":3}}"#,
        r#"{"level":"info","message":"connect failed to","resourceId":"server-1234","timestamp":"2023-09-15T23:59:59Z","traceId":"abc-xyz-123"}"#,
        r#"{"level":"error","message":"Connection to 10.251.73.220:50010 failed","resourceId":"dfs.DataNode$PacketResponder","timestamp":"2023-09-16T00:00:00Z","metadata":{"tags":["a","b c"],"ok":true}}"#,
        r#"{"level":"warn","message":"Failed to connect to DB","resourceId":"server-1234","timestamp":"2023-09-09T23:59:59.999999999Z","host":"h1"}"#,
    ].map(str::to_owned));
    let mut all = records(&texts.join("\n"));
    all.extend(corpus::random_records(21, 200));
    all
}

/// The four sample queries of docs/query-language.md and their combinations return exactly the
/// expected records of a fixed corpus.
pub fn sample_queries_of_product<H: Harness>(h: &mut H) {
    let records = records(&[
        corpus::PRODUCT_SAMPLE,
        r#"{"level":"info","message":"connected","resourceId":"server-1234","timestamp":"2023-09-12T00:00:00Z"}"#,
        r#"{"level":"error","message":"Failed to connect to cache","resourceId":"server-9","timestamp":"2023-09-20T00:00:00Z"}"#,
        r#"{"level":"debug","message":"Failed to start","resourceId":"server-9","timestamp":"2023-09-01T00:00:00Z"}"#,
    ].join("\n"));
    write_all(h.backend(), &records, 10);
    let cases = [
        ("level:error", 2),
        (r#"message:"Failed to connect""#, 2),
        (r#""Failed to connect""#, 2),
        ("resourceId:server-1234", 2),
        (
            "timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]",
            2,
        ),
        (
            r#"level:error AND message:"Failed to connect" AND resourceId:server-1234 AND timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]"#,
            1,
        ),
        ("level:error OR resourceId:server-1234", 3),
        ("NOT level:error", 2),
        ("-level:error resourceId:server-1234", 1),
        ("resourceId:/^server-\\d+$/", 4),
        ("message:/(?i)^failed to (connect|start)/ -level:debug", 2),
    ];
    for (text, count) in cases {
        assert_eq!(assert_query(h, &records, text), count, "query `{text}`");
    }
}

/// Every syntactic form of the query language, against the reference evaluator.
pub fn every_query_form<H: Harness>(h: &mut H) {
    let records = fixture();
    write_all(h.backend(), &records, 64);
    let queries = [
        "",
        "*",
        "message:*",
        "timestamp:*",
        "level:*",
        "metadata:*",
        "metadata.retries:*",
        "nope:*",
        "level:error",
        "level:Error",
        "level:ERROR",
        "resourceId:\"dfs.DataNode$PacketResponder\"",
        "resourceId:server-1234",
        "resourceId:server-12*",
        "resourceId:*1234",
        "resourceId:server-123?",
        "resourceId:*Node*",
        "resourceId:\"server-12*\"",
        "traceId:abc-xyz-123",
        "traceId:\"t?*x\"",
        "traceId:t\\?\\*x",
        "metadata.parentResourceId:server-1234",
        "metadata.retries:3",
        "metadata.ok:true",
        "metadata.tags:a",
        "metadata.tags:\"b c\"",
        "metadata.a.b:prod",
        "host:h1",
        "host:host-*",
        "failed",
        "FAILED",
        "connect",
        "conn*",
        "*nect",
        "c?nnect",
        "*onn*",
        "message:10.251.73.220",
        "message:\"10.251.73.220:50010\"",
        "\"failed to connect\"",
        "\"connect failed\"",
        "\"to connect to\"",
        "message:\"Failed to connect to DB\"",
        "caf*",
        "日本語",
        "straße",
        "\"!!!\"",
        "message:/Failed/",
        "message:/(?i)failed/",
        "message:/^Failed to/",
        "message:/DB$/",
        "message:/\\d+\\.\\d+/",
        "resourceId:/server-1/",
        "resourceId:/^server-1234$/",
        "resourceId:/\\$/",
        "metadata.retries:/^\\d$/",
        "timestamp:[2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z]",
        "timestamp:{2023-09-10T00:00:00Z TO 2023-09-15T23:59:59Z}",
        "timestamp:[2023-09-10 TO 2023-09-16}",
        "timestamp>=2023-09-15T08:00:00Z",
        "timestamp>2023-09-15T08:00:00Z",
        "timestamp<2023-09-10",
        "timestamp<=2023-09-10",
        "timestamp:[* TO 2023-09-12]",
        "timestamp:[2023-09-16 TO *]",
        "timestamp:2023-09-15T08:00:00Z",
        "timestamp>=now-3650d",
        "timestamp<now-1h",
        "level:error AND connect",
        "level:error connect",
        "level:error OR level:warn",
        "NOT level:error",
        "-level:error",
        "-level:*",
        "NOT NOT level:error",
        "level:error OR level:warn connect",
        "(level:error OR level:warn) connect",
        "failed AND NOT (resourceId:server-1234 OR host:h1)",
        "-(failed connect) -level:info",
    ];
    for text in queries {
        assert_query(h, &records, text);
    }
}

/// Time bounds are exact to the nanosecond: inclusive and exclusive ends of
/// query ranges and of the request window `[start, end)`.
pub fn time_range_edges<H: Harness>(h: &mut H) {
    let t = Timestamp::parse_rfc3339("2023-09-15T08:00:00Z").expect("time");
    let texts: Vec<String> = [-1i64, 0, 1]
        .iter()
        .map(|d| {
            format!(
                r#"{{"message":"edge {d}","timestamp":"{}"}}"#,
                Timestamp(t.0 + d).to_rfc3339()
            )
        })
        .collect();
    let records = records(&texts.join("\n"));
    write_all(h.backend(), &records, 3);
    let b = h.backend();
    let count = |query: &str, time: TimeRange| {
        let page = b
            .search(&SearchRequest::new(q(query)).time(time))
            .expect("search");
        page.total
    };
    let all = TimeRange::default();
    let at = t.to_rfc3339();
    assert_eq!(count(&format!("timestamp:[{at} TO {at}]"), all), 1);
    assert_eq!(count(&format!("timestamp:{{{at} TO *]"), all), 1);
    assert_eq!(count(&format!("timestamp:[{at} TO *]"), all), 2);
    assert_eq!(count(&format!("timestamp:[* TO {at}}}"), all), 1);
    assert_eq!(count(&format!("timestamp>={at}"), all), 2);
    assert_eq!(count(&format!("timestamp>{at}"), all), 1);
    assert_eq!(count(&format!("timestamp<={at}"), all), 2);
    assert_eq!(count(&format!("timestamp<{at}"), all), 1);
    assert_eq!(count(&format!("timestamp:{at}"), all), 1);
    assert_eq!(
        count(
            "*",
            TimeRange {
                start: Some(t),
                end: None
            }
        ),
        2
    );
    assert_eq!(
        count(
            "*",
            TimeRange {
                start: None,
                end: Some(t)
            }
        ),
        1
    );
    assert_eq!(
        count(
            "*",
            TimeRange {
                start: Some(t),
                end: Some(t)
            }
        ),
        0
    );
    assert_eq!(
        count(
            "*",
            TimeRange {
                start: Some(t),
                end: Some(Timestamp(t.0 + 1))
            }
        ),
        1
    );
}

/// Records with equal timestamps come in sequence order: descending for
/// `Desc`, ascending for `Asc`.
pub fn ordering_ties_follow_sequence<H: Harness>(h: &mut H) {
    let texts: Vec<String> = (0..30)
        .map(|i| {
            format!(
                r#"{{"message":"tie {i}","timestamp":"2023-09-15T08:00:0{}Z"}}"#,
                i % 3
            )
        })
        .collect();
    let records = records(&texts.join("\n"));
    write_all(h.backend(), &records, 7);
    let want_desc = reference_sources(&records, &Query::All, TimeRange::default());
    for limit in [1, 4, 30, 100] {
        let desc = all_sources(
            h.backend(),
            &Query::All,
            TimeRange::default(),
            Order::Desc,
            limit,
        );
        assert_eq!(desc, want_desc, "desc order, page size {limit}");
        let mut asc = all_sources(
            h.backend(),
            &Query::All,
            TimeRange::default(),
            Order::Asc,
            limit,
        );
        asc.reverse();
        assert_eq!(asc, want_desc, "asc order, page size {limit}");
    }
}

/// Walking `next_cursor` visits every match exactly once, for every page size.
pub fn cursor_pages_never_skip_or_repeat<H: Harness>(h: &mut H) {
    let records = corpus::random_records(31, 400);
    write_all(h.backend(), &records, 50);
    for (text, limit) in [
        ("*", 7),
        ("*", 1),
        ("level:info OR level:error", 13),
        ("-level:info", 400),
        ("*", 399),
    ] {
        let query = q(text);
        let want = reference_sources(&records, &query, TimeRange::default());
        assert_eq!(
            all_sources(
                h.backend(),
                &query,
                TimeRange::default(),
                Order::Desc,
                limit
            ),
            want,
            "`{text}` limit {limit}"
        );
    }
    let last = h
        .backend()
        .search(&SearchRequest::new(Query::All).limit(400))
        .expect("search");
    assert!(
        last.next_cursor.is_none(),
        "a complete page must not offer a next cursor"
    );
}

/// While another thread keeps writing and refreshing, a cursor walk still
/// returns every record that existed when it began exactly once, and never
/// returns any record twice.
pub fn cursor_pages_under_concurrent_ingest<H: Harness>(h: &mut H) {
    let initial = corpus::random_records(41, 300);
    write_all(h.backend(), &initial, 100);
    let backend = h.backend();
    let extra = corpus::random_records(42, 300);
    for order in [Order::Desc, Order::Asc] {
        let seen = std::thread::scope(|s| {
            let writer = s.spawn(|| {
                for chunk in extra.chunks(10) {
                    backend.write_batch(chunk).expect("concurrent write");
                    backend.refresh().expect("concurrent refresh");
                }
            });
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let request = SearchRequest::new(Query::All)
                    .order(order)
                    .limit(9)
                    .cursor(cursor);
                let page = backend.search(&request).expect("search during ingest");
                seen.extend(page.hits.iter().map(|hit| hit.seq));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            writer.join().expect("writer thread");
            seen
        });
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "a record was returned twice ({order:?})"
        );
        assert!(
            seen.len() >= initial.len(),
            "records were skipped ({order:?}): {} < {}",
            seen.len(),
            initial.len()
        );
    }
    let initial_sources: HashSet<&str> = initial.iter().map(|r| r.source()).collect();
    let everything = all_sources(
        backend,
        &Query::All,
        TimeRange::default(),
        Order::Desc,
        1000,
    );
    let found = everything
        .iter()
        .filter(|s| initial_sources.contains(s.as_str()))
        .count();
    assert!(found >= initial_sources.len());
}

/// `total` counts every match, not just the page.
pub fn total_is_exact_beyond_the_page<H: Harness>(h: &mut H) {
    let records = corpus::random_records(51, 2_500);
    write_all(h.backend(), &records, 500);
    for text in ["*", "level:info", "-level:info", "conn*"] {
        let query = q(text);
        let want = reference_sources(&records, &query, TimeRange::default()).len() as u64;
        let page = h
            .backend()
            .search(&SearchRequest::new(query).limit(10))
            .expect("search");
        assert_eq!(page.total, want, "total of `{text}`");
        assert_eq!(page.hits.len() as u64, want.min(10));
    }
}

/// Non-ASCII text is tokenized, lowercased and matched like ASCII.
pub fn unicode_text_and_values<H: Harness>(h: &mut H) {
    let records = records(&[
        r#"{"message":"Ünïcode CAFÉ naïve 日本語テキスト ΣΊΣΥΦΟΣ","resourceId":"ünï/cödé","level":"错误","timestamp":"2023-09-15T08:00:00Z"}"#,
        r#"{"message":"cafe naive","resourceId":"uni/code","timestamp":"2023-09-15T08:00:01Z"}"#,
        r#"{"message":"emoji 😀 between🙂words","metadata":{"ключ":"значение"},"timestamp":"2023-09-15T08:00:02Z"}"#,
    ].join("\n"));
    write_all(h.backend(), &records, 3);
    let cases = [
        ("café", 1),
        ("CAFÉ", 1),
        ("cafe", 1),
        ("ünïcode", 1),
        ("日本語テキスト", 1),
        ("σίσυφοσ", 1),
        ("caf*", 2),
        ("?af?", 2),
        ("resourceId:ünï/cödé", 1),
        ("resourceId:ünï*", 1),
        ("level:错误", 1),
        ("resourceId:/ö/", 1),
        ("between", 1),
        ("\"between words\"", 1),
        ("metadata.ключ:значение", 1),
        ("message:/😀/", 1),
    ];
    for (text, count) in cases {
        assert_eq!(assert_query(h, &records, text), count, "query `{text}`");
    }
}

/// Wildcards whose automaton would be huge: many `?` after a `*` and a
/// multi-byte literal (`.*ä.{22}b` determinizes into millions of states).
/// The records and `(query, count)` pairs of [`complex_wildcards`].
pub fn complex_wildcard_cases() -> (Vec<Record>, Vec<(&'static str, usize)>) {
    let records = records(&[
        r#"{"message":"ääääääääääääääääääääääääb and more","metadata":{"long":"ääääääääääääääääääääääääb"},"timestamp":"2023-09-15T08:00:02Z"}"#,
        r#"{"message":"äb","metadata":{"long":"äääb"},"timestamp":"2023-09-15T08:00:03Z"}"#,
    ].join("\n"));
    let cases = vec![
        ("metadata.long:*ä??????????????????????b", 1),
        ("metadata.long:*ä????????????????????????b", 0),
        ("metadata.long:ä*?b", 2),
        ("ä*ä????????????????????b", 1),
        ("Ä*Ä????????????????????B", 1),
        ("*ä????????????????????b", 1),
    ];
    (records, cases)
}

/// The queries of [`complex_wildcard_cases`] run and return exactly what the
/// reference evaluator selects (a backend whose search engine refuses such
/// an automaton verifies candidates instead).
pub fn complex_wildcards<H: Harness>(h: &mut H) {
    let (records, cases) = complex_wildcard_cases();
    write_all(h.backend(), &records, 2);
    for (text, count) in cases {
        assert_eq!(assert_query(h, &records, text), count, "query `{text}`");
    }
}

/// Messages of hundreds of kilobytes, with tokens far longer than 40 bytes,
/// are stored whole and every token is searchable.
pub fn large_messages<H: Harness>(h: &mut H) {
    let long_token = "x".repeat(300);
    let mut message = String::new();
    for i in 0..20_000 {
        message.push_str(&format!("word{i} "));
    }
    message.push_str(&long_token);
    message.push_str(" the end");
    let text =
        serde_json::json!({"message": message, "timestamp": "2023-09-15T08:00:00Z"}).to_string();
    let records = records(&text);
    write_all(h.backend(), &records, 1);
    for query in [
        "word0",
        "word19999",
        long_token.as_str(),
        "\"word19999 xxx\"",
        "\"the end\"",
        "word1999?",
        "message:/x{300} the end$/",
    ] {
        let expect = usize::from(!query.starts_with("\"word19999 xxx"));
        assert_eq!(assert_query(h, &records, query), expect, "query `{query}`");
    }
    let hit = h
        .backend()
        .search(&SearchRequest::new(q("word0")))
        .expect("search");
    assert_eq!(hit.hits[0].source.len(), text.len());
}
