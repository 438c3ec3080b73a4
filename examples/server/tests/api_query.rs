//! `GET`/`POST /api/query` against the real server: the rows of `stats` and
//! `top` pipes, numeric comparisons in their filter, and the refusals that
//! point a query at the endpoint that runs it.

mod common;

use common::{encode, Server};
use serde_json::{json, Value};

const RECORDS: [&str; 6] = [
    r#"{"message":"a","timestamp":"2023-09-15T08:00:10Z","level":"error","resourceId":"api","metadata":{"http":{"status":503},"ms":120}}"#,
    r#"{"message":"b","timestamp":"2023-09-15T08:00:50Z","level":"error","resourceId":"api","metadata":{"http":{"status":500},"ms":80.5}}"#,
    r#"{"message":"c","timestamp":"2023-09-15T08:01:10Z","level":"info","resourceId":"db","metadata":{"http":{"status":200},"ms":3}}"#,
    r#"{"message":"d","timestamp":"2023-09-15T08:01:20Z","level":"error","resourceId":"db","metadata":{"http":{"status":"500"},"ms":"7"}}"#,
    r#"{"message":"e","timestamp":"2023-09-15T08:02:00Z","level":"warn","resourceId":"web","metadata":{"http":{"status":404}}}"#,
    r#"{"message":"f","timestamp":"2023-09-15T08:02:30Z","level":"info","metadata":{"ms":[1,2]}}"#,
];

fn with_records() -> Server {
    let server = Server::start();
    assert_eq!(
        server.ingest(RECORDS.join("\n").as_bytes()),
        RECORDS.len() as u64
    );
    server
}

fn query(server: &Server, q: &str) -> Value {
    let answer = server.get(&format!("/api/query?q={}", encode(q)), None);
    assert_eq!(answer.status, 200, "{q}: {}", answer.text);
    answer.json()
}

#[test]
fn stats_rows_by_field_and_time_bucket() {
    let server = with_records();
    let rows = query(
        &server,
        "level:error | stats count() as n, max(metadata.ms) by (resourceId)",
    );
    assert_eq!(
        rows["columns"],
        json!(["resourceId", "n", "max(metadata.ms)"])
    );
    // `db`'s only error holds `ms` as text: no number, so null.
    assert_eq!(rows["rows"], json!([["api", 2, 120.0], ["db", 1, null]]));
    assert!(rows["took_ms"].is_u64());

    let rows = query(
        &server,
        "| stats count(), quantile(0.5, metadata.ms) as p50 by (bucket(timestamp, 1m))",
    );
    assert_eq!(
        rows["rows"],
        json!([
            ["2023-09-15T08:00:00Z", 2, 80.5],
            ["2023-09-15T08:01:00Z", 2, 3.0],
            ["2023-09-15T08:02:00Z", 2, 1.0]
        ])
    );

    // Numeric comparisons in the filter: the text "500" is not a number.
    let rows = query(
        &server,
        "metadata.http.status:>=500 | stats count_uniq(resourceId), count()",
    );
    assert_eq!(rows["rows"], json!([[1, 2]]));

    let top = query(&server, "| top 2 by (level) | sort by (level desc)");
    assert_eq!(top["columns"], json!(["level", "count"]));
    assert_eq!(top["rows"], json!([["info", 2], ["error", 3]]));

    // A time window, and the POST form for long queries.
    let body = json!({
        "q": "| stats count() by (level) | limit 1",
        "from": "2023-09-15T08:01:00Z",
        "to": "2023-09-15T08:02:00Z",
    });
    let posted = server.post("/api/query", body.to_string().as_bytes(), &[], None);
    assert_eq!(posted.status, 200, "{}", posted.text);
    assert_eq!(posted.json()["rows"], json!([["error", 1]]));
}

#[test]
fn each_endpoint_points_at_the_other() {
    let server = with_records();
    let search = server.get(
        &format!("/api/search?q={}", encode("level:error | stats count()")),
        None,
    );
    assert_eq!(search.status, 400, "{}", search.text);
    assert_eq!(search.json()["position"], 12);
    assert!(
        search.text.contains("which the query API answers"),
        "{}",
        search.text
    );

    let records = server.get(&format!("/api/query?q={}", encode("level:error")), None);
    assert_eq!(records.status, 400, "{}", records.text);
    assert!(records.text.contains("/api/search"), "{}", records.text);

    for (q, position, reason) in [
        ("| stats median(x)", 8, "unknown function `median`"),
        ("| stats count() | sort by (n)", 27, "no column `n`"),
        ("a:>=x | stats count()", 4, "expected a number"),
    ] {
        let answer = server.get(&format!("/api/query?q={}", encode(q)), None);
        assert_eq!(answer.status, 400, "{q}: {}", answer.text);
        assert_eq!(answer.json()["position"], position, "{q}: {}", answer.text);
        assert!(answer.text.contains(reason), "{q}: {}", answer.text);
    }
}

/// `| fields` chooses what each record of a search (and of the live tail)
/// returns: the listed fields by their dotted paths, in the order listed,
/// values as sent; histogram and facets take the same query.
#[test]
fn fields_choose_what_a_search_returns() {
    let server = with_records();
    let q = "level:error | fields metadata.http.status, message, metadata.missing, metadata.ms";
    let answer = server.get(&format!("/api/search?q={}&order=asc", encode(q)), None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let page = answer.json();
    assert_eq!(page["total"], 3);
    assert_eq!(
        page["hits"],
        json!([
            {"metadata.http.status": 503, "message": "a", "metadata.ms": 120},
            {"metadata.http.status": 500, "message": "b", "metadata.ms": 80.5},
            {"metadata.http.status": "500", "message": "d", "metadata.ms": "7"},
        ])
    );
    // The order listed, not the record's or an alphabetical one.
    assert!(
        answer
            .text
            .contains(r#"{"metadata.http.status":503,"message":"a","metadata.ms":120}"#),
        "{}",
        answer.text
    );
    let arrays = server.get(
        &format!(
            "/api/search?q={}",
            encode("message:f | fields metadata.ms, level")
        ),
        None,
    );
    assert_eq!(
        arrays.json()["hits"],
        json!([{"metadata.ms": [1, 2], "level": "info"}])
    );

    let plain = server.get(&format!("/api/histogram?q={}", encode("level:error")), None);
    let piped = server.get(&format!("/api/histogram?q={}", encode(q)), None);
    assert_eq!(piped.status, 200, "{}", piped.text);
    assert_eq!(piped.json()["buckets"], plain.json()["buckets"]);
    let facets = server.get(&format!("/api/facets?field=level&q={}", encode(q)), None);
    assert_eq!(facets.status, 200, "{}", facets.text);

    // Pipes that make or order rows are for the query API.
    for (q, position) in [
        ("level:error | fields message | limit 1", 12),
        ("* | stats count()", 2),
    ] {
        let answer = server.get(&format!("/api/search?q={}", encode(q)), None);
        assert_eq!(answer.status, 400, "{q}: {}", answer.text);
        assert_eq!(answer.json()["position"], position, "{q}: {}", answer.text);
    }
}
