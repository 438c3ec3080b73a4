//! Scoped read keys (server issue acceptance 3): a read key limited to some
//! `resourceId` patterns never sees another resource, whatever the query
//! (OR / NOT tricks included), through any read path: search hits and
//! totals, cursor pages, histogram totals, facets on `resourceId` and
//! `level`, and live tail. Roles × endpoints: tests/roles.rs.

mod common;

use std::time::{Duration, Instant};

use common::keys::*;
use common::{encode, Server, SseEvent};
use serde_json::{json, Value};

/// Records of the scoped-key tests: (resourceId, how many).
const RESOURCES: [(Option<&str>, usize); 6] = [
    (Some("server-10"), 3),
    (Some("server-11"), 4),
    (Some("server-2"), 5),
    (Some("svc-b"), 6),
    (Some("svc-c"), 7),
    (None, 2),
];
const LEVELS: [&str; 3] = ["error", "info", "warn"];

fn scoped_records() -> Vec<Value> {
    let mut records = Vec::new();
    let mut n = 0;
    for (resource, count) in RESOURCES {
        for _ in 0..count {
            let mut record = json!({
                "timestamp": format!("2024-03-01T10:{:02}:00Z", n),
                "level": LEVELS[n % 3],
                "message": format!("scoped record {n}"),
                "metadata": {"n": n},
            });
            if let Some(resource) = resource {
                record["resourceId"] = json!(resource);
            }
            records.push(record);
            n += 1;
        }
    }
    records
}

/// What a key limited to `allowed` may see of `records`.
fn visible<'a>(records: &'a [Value], allowed: &dyn Fn(&str) -> bool) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["resourceId"].as_str().is_some_and(allowed))
        .collect()
}

fn get_ok(server: &Server, path: &str, key: &str) -> Value {
    let a = server.get(path, Some(key));
    assert_eq!(a.status, 200, "{path}: {}", a.text);
    a.json()
}

/// Every read path of `key` agrees with `allowed`.
fn assert_scope(server: &Server, key: &str, records: &[Value], allowed: &dyn Fn(&str) -> bool) {
    let mine = visible(records, allowed);
    let count_where = |pred: &dyn Fn(&Value) -> bool| mine.iter().filter(|r| pred(r)).count();
    // (query, how many of the key's own records match it)
    let queries: Vec<(&str, usize)> = vec![
        ("", mine.len()),
        ("*", mine.len()),
        ("scoped", mine.len()),
        ("resourceId:*", mine.len()),
        ("NOT resourceId:*", 0),
        (
            "NOT resourceId:server-1*",
            count_where(&|r| !r["resourceId"].as_str().unwrap().starts_with("server-1")),
        ),
        ("resourceId:svc-c", 0),
        ("resourceId:server-2", 0),
        (
            "resourceId:svc-c OR resourceId:server-10",
            count_where(&|r| r["resourceId"] == "server-10"),
        ),
        ("resourceId:svc-b OR NOT resourceId:svc-b", mine.len()),
        ("NOT (NOT resourceId:svc-c)", 0),
        (
            "-resourceId:server-10",
            count_where(&|r| r["resourceId"] != "server-10"),
        ),
        ("level:error", count_where(&|r| r["level"] == "error")),
        ("level:error OR level:info OR level:warn", mine.len()),
        ("metadata.n:*", mine.len()),
        ("(a OR NOT a) OR resourceId:svc-c", mine.len()),
    ];
    for (q, want) in queries {
        let page = get_ok(
            server,
            &format!("/api/search?limit=10000&q={}", encode(q)),
            key,
        );
        let hits = page["hits"].as_array().expect("hits");
        for hit in hits {
            let resource = hit["resourceId"].as_str().unwrap_or("<none>");
            assert!(allowed(resource), "q=`{q}`: saw {resource}: {hit}");
        }
        assert_eq!(page["total"], want, "q=`{q}` total");
        assert_eq!(hits.len(), want, "q=`{q}` hits");

        let hist = get_ok(
            server,
            &format!("/api/histogram?buckets=7&q={}", encode(q)),
            key,
        );
        let sum: u64 = hist["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(
            (hist["total"].as_u64(), sum),
            (Some(want as u64), want as u64),
            "histogram q=`{q}`"
        );
        let bounded = get_ok(
            server,
            &format!(
                "/api/histogram?buckets=3&from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z&q={}",
                encode(q)
            ),
            key,
        );
        assert_eq!(bounded["total"], want, "histogram with bounds q=`{q}`");

        for field in ["resourceId", "level"] {
            let facets = get_ok(
                server,
                &format!("/api/facets?field={field}&size=100&q={}", encode(q)),
                key,
            );
            let values = facets["values"].as_array().unwrap();
            let total: u64 = values.iter().map(|v| v["count"].as_u64().unwrap()).sum();
            assert_eq!(total, want as u64, "facets {field} q=`{q}`: {facets}");
            if field == "resourceId" {
                for v in values {
                    assert!(
                        allowed(v["value"].as_str().unwrap()),
                        "facets q=`{q}`: {facets}"
                    );
                }
            }
        }
    }

    // Exact facet counts over everything the key may see.
    let facets = get_ok(server, "/api/facets?field=resourceId&size=100", key);
    let mut want: Vec<(String, u64)> = RESOURCES
        .iter()
        .filter_map(|(r, n)| r.filter(|r| allowed(r)).map(|r| (r.to_owned(), *n as u64)))
        .collect();
    want.sort();
    let mut got: Vec<(String, u64)> = facets["values"]
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
    got.sort();
    assert_eq!(got, want, "resourceId facets");
    let levels = get_ok(server, "/api/facets?field=level&size=100", key);
    for v in levels["values"].as_array().unwrap() {
        let want = mine.iter().filter(|r| r["level"] == v["value"]).count();
        assert_eq!(v["count"], want, "level facet {v}");
    }

    // Stats rows count only what the key may see, as facets do.
    let rows = get_ok(
        server,
        &format!(
            "/api/query?q={}",
            encode("| stats count() as n by (resourceId)")
        ),
        key,
    );
    assert_eq!(rows["columns"], json!(["resourceId", "n"]));
    let mut got: Vec<(String, u64)> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| !row[0].is_null())
        .map(|row| {
            (
                row[0].as_str().unwrap().to_owned(),
                row[1].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want, "stats rows by resourceId");

    // Paging with a cursor stays inside the scope and finds each record once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..100 {
        let page = get_ok(
            server,
            &format!("/api/search?limit=2&order=asc&cursor={}", encode(&cursor)),
            key,
        );
        for hit in page["hits"].as_array().unwrap() {
            assert!(
                allowed(hit["resourceId"].as_str().unwrap_or("<none>")),
                "{hit}"
            );
            seen.push(hit["metadata"]["n"].as_u64().unwrap());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let want: Vec<u64> = mine
        .iter()
        .map(|r| r["metadata"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, want, "cursor pages");
}

#[test]
fn scoped_read_keys_never_see_other_resources() {
    let (server, _auth) = start_with_auth();
    let records = scoped_records();
    let body: String = records.iter().map(|r| format!("{r}\n")).collect();
    let a = server.post("/logs?refresh=wait_for", body.as_bytes(), &[], Some(INGEST));
    assert_eq!(
        (a.status, a.json()["accepted"].as_u64()),
        (200, Some(27)),
        "{}",
        a.text
    );

    // The unscoped read key and admin see everything.
    for key in [READ, ADMIN] {
        assert_eq!(get_ok(&server, "/api/search?limit=1", key)["total"], 27);
        assert_eq!(
            get_ok(&server, "/api/search?limit=1&q=resourceId:svc-c", key)["total"],
            7
        );
    }
    assert_scope(&server, READ_SERVER1, &records, &|r| {
        r.starts_with("server-1")
    });
    assert_scope(&server, READ_SVCB, &records, &|r| r == "svc-b");
}

/// Collects the data of tail events until `want` records arrived.
fn collect(tail: &common::Sse, want: usize, what: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut got = Vec::new();
    while got.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let event: SseEvent = tail.next(left).unwrap_or_else(|| {
            panic!(
                "{what}: only {} of {want} records within 60 s: {got:?}",
                got.len()
            )
        });
        assert_ne!(event.event, "lagged", "{what}: {event:?}");
        if event.event.is_empty() {
            got.push(serde_json::from_str(&event.data).expect("event data is a record"));
        }
    }
    got
}

fn subscribe(server: &Server, q: &str, key: &str) -> common::Sse {
    let tail = server
        .sse(&format!("/api/tail?q={}", encode(q)), Some(key))
        .unwrap_or_else(|a| panic!("tail {q}: {} {}", a.status, a.text));
    let ready = tail.next(Duration::from_secs(30)).expect("ready event");
    assert_eq!(ready.event, "ready");
    tail
}

#[test]
fn live_tail_of_a_scoped_key_carries_only_its_resources() {
    let (server, _auth) = start_with_auth();
    let all = subscribe(&server, "", ADMIN);
    let scoped = subscribe(&server, "", READ_SERVER1);
    let scoped_q = subscribe(
        &server,
        "resourceId:svc-c OR NOT resourceId:server-11",
        READ_SERVER1,
    );
    let svcb = subscribe(&server, "*", READ_SVCB);

    let rec = |resource: &str, n: usize| json!({"message": format!("tail {n}"), "resourceId": resource, "metadata": {"n": n}});
    // Forbidden and allowed records, in separate requests and mixed in one.
    let requests: Vec<Vec<Value>> = vec![
        vec![rec("svc-c", 0), rec("server-2", 1)],
        vec![rec("server-10", 2)],
        vec![
            rec("svc-b", 3),
            rec("server-11", 4),
            rec("svc-c", 5),
            rec("server-100", 6),
        ],
        vec![json!({"message": "tail 7 without resource", "metadata": {"n": 7}})],
    ];
    for (i, records) in requests.iter().enumerate() {
        let body: String = records.iter().map(|r| format!("{r}\n")).collect();
        let a = server.post("/logs", body.as_bytes(), &[], Some(INGEST));
        assert_eq!(a.status, 200, "request {i}: {}", a.text);
    }
    // Once the unscoped subscriber has all 8, every batch has been published;
    // the sentinel sent after that is published after all of them, so a
    // subscriber that received it has already filtered every earlier batch.
    let everything = collect(&all, 8, "admin tail");
    assert_eq!(everything.len(), 8);
    let sentinel = json!({"message": "sentinel", "resourceId": "server-1-sentinel", "n": 99});
    let sentinel_b = json!({"message": "sentinel", "resourceId": "svc-b", "n": 99});
    let body = format!("{sentinel}\n{sentinel_b}\n");
    assert_eq!(
        server
            .post("/logs", body.as_bytes(), &[], Some(INGEST))
            .status,
        200
    );

    let n_of = |records: &[Value]| -> Vec<u64> {
        let mut ns: Vec<u64> = records
            .iter()
            .map(|r| r["metadata"]["n"].as_u64().unwrap_or(99))
            .collect();
        ns.sort();
        ns
    };
    let got = collect(&scoped, 4, "server-1* tail");
    assert_eq!(n_of(&got), vec![2, 4, 6, 99], "server-1* tail: {got:?}");
    let got = collect(&scoped_q, 3, "server-1* tail with q");
    assert_eq!(n_of(&got), vec![2, 6, 99], "server-1* tail with q: {got:?}");
    let got = collect(&svcb, 2, "svc-b tail");
    assert_eq!(n_of(&got), vec![3, 99], "svc-b tail: {got:?}");
    for r in got {
        assert_eq!(r["resourceId"], "svc-b");
    }
}
