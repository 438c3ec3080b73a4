//! A corpus of bad requests, table-driven: each gets the right 4xx and a
//! JSON message naming what is wrong and where (`line`, `field`, `column`
//! for records; `position` for queries), and nothing is stored.
//!
//! The server runs with small limits so that the size cases are cheap. Every
//! failing case is collected, and the test reports them all at once.

#[path = "bad_input/case.rs"]
mod case;
mod common;

use std::io::Write;

use case::{get, post, query, Case};
use common::Server;

const LIMITS: &[&str] = &[
    "--max-record-bytes",
    "2000",
    "--max-body-bytes",
    "100000",
    "--max-records",
    "50",
];

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// `n` valid NDJSON lines.
fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"message\":\"line {i}\"}}\n"))
        .collect()
}

/// Bodies that must be refused whole.
fn ingest_cases() -> Vec<Case> {
    let deep = format!(
        "{{\"message\":\"deep\",\"metadata\":{}1{}}}",
        "{\"a\":".repeat(40),
        "}".repeat(40)
    );
    let big_message = format!("{{\"message\":\"{}\"}}", "a".repeat(3000));
    let bomb = gzip(format!("{{\"message\":\"{}\"}}", "a".repeat(1 << 20)).as_bytes());
    vec![
        post("malformed JSON: unterminated object", r#"{"message": "x","#)
            .answer(400, "EOF while parsing an object")
            .line(1)
            .column(16),
        post("malformed JSON: missing colon", r#"{"message" "x"}"#)
            .answer(400, "expected `:`")
            .line(1)
            .column(12),
        post("malformed JSON: trailing comma", r#"{"message":"a",}"#)
            .answer(400, "trailing comma")
            .record(1)
            .line(1)
            .column(16),
        post("a lone surrogate escape", r#"{"message":"\ud800"}"#)
            .answer(400, "lone UTF-16 surrogate")
            .record(1)
            .line(1)
            .column(19)
            .field("message"),
        post(
            "a number out of range",
            r#"{"message":"x","metadata":{"n":1e400}}"#,
        )
        .answer(400, "number out of range")
        .record(1)
        .line(1)
        .column(36)
        .field("metadata.n"),
        post("an array cut short after a record", r#"[{"message":"a"},"#)
            .answer(400, "EOF while parsing")
            .no_record()
            .line(1)
            .column(17),
        post(
            "NDJSON cut short after a line end",
            "{\"message\":\"a\"}\n{\"message\":\n",
        )
        .answer(400, "EOF while parsing")
        .record(2)
        .line(3)
        .column(1),
        post(
            "truncated NDJSON at line 3",
            format!("{}{{\"message\":\"c\"", lines(2)),
        )
        .header("Content-Type", "application/x-ndjson")
        .answer(400, "EOF while parsing")
        .line(3),
        post(
            "truncated NDJSON at line 5, detected, after a blank line",
            format!("{}\n{{\"message\":", lines(3)),
        )
        .answer(400, "EOF while parsing")
        .line(5),
        post("invalid UTF-8", &b"{\"message\":\"a\xff\"}"[..])
            .answer(400, "invalid UTF-8")
            .line(1)
            .column(14),
        post(
            "invalid UTF-8 on line 2",
            &b"{\"message\":\"ok\"}\n{\"message\":\"b\xc3\"}"[..],
        )
        .answer(400, "invalid UTF-8")
        .line(2)
        .column(14),
        post("message is a number", r#"{"message":5}"#)
            .answer(400, "expected a string, found a number")
            .line(1)
            .field("message"),
        post("level is an array", r#"{"message":"x","level":["error"]}"#)
            .answer(400, "found an array")
            .field("level"),
        post("level is null", r#"{"message":"x","level":null}"#)
            .answer(400, "found null")
            .field("level"),
        post("traceId is a number", r#"{"message":"x","traceId":5}"#)
            .answer(400, "expected a string")
            .field("traceId"),
        post("metadata is a string", r#"{"message":"x","metadata":"s"}"#)
            .answer(400, "expected an object, found a string")
            .field("metadata"),
        post(
            "timestamp is a number",
            r#"{"message":"x","timestamp":1694764800}"#,
        )
        .answer(400, "expected an RFC 3339 string")
        .field("timestamp"),
        post("message is missing", r#"{"level":"error"}"#)
            .answer(400, "required field is missing")
            .line(1)
            .field("message"),
        post(
            "impossible date",
            r#"{"message":"x","timestamp":"2023-02-30T00:00:00Z"}"#,
        )
        .answer(400, "`2023-02-30T00:00:00Z` is not an RFC 3339 timestamp")
        .field("timestamp"),
        post("a bare date", r#"{"message":"x","timestamp":"2023-09-15"}"#)
            .answer(400, "is not an RFC 3339 timestamp")
            .field("timestamp"),
        post(
            "a year out of range",
            r#"{"message":"x","timestamp":"3000-01-01T00:00:00Z"}"#,
        )
        .answer(400, "outside the supported years")
        .field("timestamp"),
        post("duplicate key", r#"{"message":"x","message":"y"}"#)
            .answer(400, "duplicate field")
            .field("message"),
        post(
            "duplicate nested key",
            r#"{"message":"x","metadata":{"a":1,"a":2}}"#,
        )
        .answer(400, "duplicate field")
        .field("metadata.a"),
        post(
            "record over --max-record-bytes",
            format!("{}{big_message}", lines(1)),
        )
        .answer(400, "the limit is 2000")
        .line(2),
        post("body over --max-body-bytes", lines(6000))
            .early_answer()
            .answer(413, "limit of 100000 bytes"),
        post("body just over --max-body-bytes", {
            let mut body = lines(1).into_bytes();
            body.resize(100_001, b' ');
            body
        })
        .answer(413, "limit of 100000 bytes"),
        post("more records than --max-records", lines(51))
            .answer(413, "51 records, the limit is 50"),
        post("nested too deep", deep)
            .answer(400, "nested deeper than the limit of 32")
            .field("metadata.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a"),
        post(
            "keyword paths over the indexing limit (4 × --max-record-bytes)",
            {
                let key = "k".repeat(500);
                format!(
                    "{{\"message\":\"m\",\"{key}\":[{}]}}",
                    vec!["1"; 20].join(",")
                )
            },
        )
        .answer(400, "take more than 8000 bytes to index")
        .field("k".repeat(500).leak())
        .record(1)
        .line(1),
        post("empty body", "").answer(400, "empty body").line(1),
        post("blank body", " \n \n").answer(400, "empty body"),
        post("not gzip", "garbage")
            .header("Content-Encoding", "gzip")
            .answer(400, "not valid gzip"),
        post("gzip bomb", bomb)
            .header("Content-Encoding", "gzip")
            .answer(413, "limit of 100000 bytes"),
        post(
            "bad record inside gzip",
            gzip(b"{\"message\":\"a\"}\n{\"message\":}\n"),
        )
        .header("Content-Encoding", "gzip")
        .answer(400, "expected value")
        .line(2),
        post("unsupported Content-Encoding", r#"{"message":"x"}"#)
            .header("Content-Encoding", "br")
            .answer(415, "`br` is not supported"),
        post(
            "bad record in the middle of an array",
            r#"[{"message":"a"},{"message":"b"},{"message":3},{"message":"d"}]"#,
        )
        .answer(400, "expected a string")
        .record(3)
        .line(1)
        .column(45)
        .field("message"),
        post("a number in an array", r#"[{"message":"a"},42]"#)
            .answer(400, "expected a JSON object, found a number")
            .record(2)
            .line(1)
            .column(19),
        post("truncated array", r#"[{"message":"a"},{"message":"b""#)
            .answer(400, "EOF while parsing")
            .record(2)
            .line(1)
            .column(31),
        post("a scalar body", "42").answer(400, "expected a JSON object"),
        post(
            "two records on one line",
            r#"{"message":"a"} {"message":"b"}"#,
        )
        .answer(400, "second value on the same line")
        .line(1),
        post("an array declared as NDJSON", r#"[{"message":"a"}]"#)
            .header("Content-Type", "application/x-ndjson")
            .answer(400, "found an array")
            .line(1),
        post("a bad record to POST /", r#"{"message":"a","level":1}"#)
            .to("/")
            .answer(400, "expected a string")
            .field("level"),
        post("unknown refresh value", r#"{"message":"x"}"#)
            .to("/logs?refresh=now")
            .answer(
                400,
                "`refresh` must be `wait_for`, `true` or `false`, not `now`",
            ),
        post("unknown parameter on /logs", r#"{"message":"x"}"#)
            .to("/logs?refersh=wait_for")
            .answer(400, "unknown parameter `refersh`"),
        post("unknown parameter on POST /", r#"{"message":"x"}"#)
            .to("/?pretty")
            .answer(400, "unknown parameter `pretty`"),
        post(
            "_bulk: malformed action line",
            "{\"index\":\n{\"message\":\"x\"}\n",
        )
        .to("/_bulk")
        .answer(400, "line 1, column 9: malformed action/metadata line")
        .line(1)
        .column(9),
        post(
            "_bulk: unknown action",
            "{\"upsert\":{}}\n{\"message\":\"x\"}\n",
        )
        .to("/_bulk")
        .answer(400, "unknown bulk action `upsert`"),
        post("_bulk: action without source", "{\"index\":{}}\n")
            .to("/_bulk")
            .answer(400, "without a source line"),
        post(
            "_bulk: invalid UTF-8",
            &b"{\"index\":{}}\n{\"message\":\"b\xc3\"}\n"[..],
        )
        .to("/_bulk")
        .answer(400, "line 2, column 14: invalid UTF-8")
        .line(2)
        .column(14),
        post(
            "_bulk: unknown parameter",
            "{\"index\":{}}\n{\"message\":\"x\"}\n",
        )
        .to("/_bulk?foo=1")
        .answer(400, "unknown parameter `foo`"),
        post("_bulk: oversized body", lines(6000))
            .to("/_bulk")
            .early_answer()
            .answer(413, "limit of 100000 bytes"),
        post("unknown endpoint", r#"{"message":"x"}"#)
            .to("/log")
            .answer(404, "no endpoint POST /log"),
        // (`/api/search` takes POST: its long-query form.)
        post("wrong method", "")
            .to("/healthz")
            .answer(405, "/healthz does not take POST"),
    ]
}

/// Queries and parameters of the read endpoints.
fn read_cases() -> Vec<Case> {
    let s = "/api/search";
    let mut cases = vec![
        query("unbalanced (", s, "(level:error")
            .answer(400, "never closed")
            .position(0),
        query("unbalanced )", s, "level:error)")
            .answer(400, "unexpected `)`")
            .position(11),
        query("dangling AND", s, "level:error AND")
            .answer(400, "after `AND`")
            .position(15),
        query("leading OR", s, "OR level:error")
            .answer(400, "before `OR`")
            .position(0),
        query("OR OR", s, "a OR OR b")
            .answer(400, "found `OR`")
            .position(5),
        query("empty ()", s, "()")
            .answer(400, "empty parentheses")
            .position(0),
        query("- then space", s, "a - b")
            .answer(400, "`-` must be directly followed")
            .position(2),
        query("no value", s, "level:")
            .answer(400, "expected a value after `level:`")
            .position(6),
        query("bad field name", s, "a!b:c")
            .answer(400, "not a valid field name")
            .position(1),
        query("unterminated quote", s, "level:\"err")
            .answer(400, "unterminated quoted string")
            .position(6),
        query("unterminated regex", s, "message:/abc")
            .answer(400, "unterminated regular expression")
            .position(8),
        query("invalid regex", s, "level:/err(/")
            .answer(400, "unclosed group")
            .position(6),
        query("range of words on a keyword field", s, "level:[a TO b]")
            .answer(400, "expected a number")
            .position(7),
        query("comparison with a word", s, "resourceId>=server-1")
            .answer(400, "`server-1` is not one")
            .position(12),
        query("range on message", s, "message:[1 TO 2]")
            .answer(400, "`message` is full text")
            .position(0),
        query(
            "bad date in a range",
            s,
            "timestamp:[2023-02-30 TO 2023-03-01]",
        )
        .answer(400, "`2023-02-30` is not a date")
        .position(11),
        query("range without TO", s, "timestamp:[2023-09-10 2023-09-15]")
            .answer(400, "expected `TO`")
            .position(22),
        query("unclosed range", s, "timestamp:[2023-09-10 TO 2023-09-15")
            .answer(400, "to close the range")
            .position(35),
        query("bad relative time", s, "timestamp>now-15y")
            .answer(400, "`now-15y` should be a number followed by a unit")
            .position(10),
        query("regex on timestamp", s, "timestamp:/2023/")
            .answer(400, "regular expressions do not apply to `timestamp`")
            .position(10),
        query("wildcard with punctuation on message", s, "message:conn-*")
            .answer(400, "contains `-`")
            .position(8),
        query("nested too deep", s, &format!("{}a", "(".repeat(65)))
            .answer(400, "deeper than 64 levels")
            .position(64),
        query("bad query on histogram", "/api/histogram", "level:")
            .answer(400, "expected a value")
            .position(6),
        query("bad query on facets", "/api/facets", "a AND")
            .answer(400, "after `AND`")
            .position(5),
        query("bad query on tail", "/api/tail", "((a)")
            .answer(400, "never closed")
            .position(0),
        get("search: unknown parameter", "/api/search?q=a&size=5").answer(
            400,
            "unknown parameter `size`; this endpoint takes: q, from, to, limit, cursor, order",
        ),
        get("histogram: unknown parameter", "/api/histogram?limit=5")
            .answer(400, "unknown parameter `limit`"),
        get("facets: unknown parameter", "/api/facets?fields=level")
            .answer(400, "unknown parameter `fields`"),
        get("tail: unknown parameter", "/api/tail?q=a&from=now")
            .answer(400, "unknown parameter `from`"),
        get("cursor: garbage", "/api/search?cursor=garbage")
            .answer(400, "`garbage` is not a cursor"),
        get(
            "cursor: too short",
            format!("/api/search?cursor={}", "0".repeat(31)),
        )
        .answer(400, "is not a cursor"),
        get(
            "cursor: too long",
            format!("/api/search?cursor={}", "0".repeat(33)),
        )
        .answer(400, "is not a cursor"),
        get(
            "cursor: not hex",
            format!("/api/search?cursor={}", "g".repeat(32)),
        )
        .answer(400, "is not a cursor"),
        get("order: up", "/api/search?order=up")
            .answer(400, "`order` must be `desc` or `asc`, not `up`"),
        get("order: upper case", "/api/search?order=ASC").answer(400, "`order` must be"),
        get("buckets: 0", "/api/histogram?buckets=0")
            .answer(400, "`buckets` must be a whole number from 1 to 10000"),
        get("buckets: 10001", "/api/histogram?buckets=10001").answer(400, "not `10001`"),
        get("buckets: abc", "/api/histogram?buckets=abc").answer(400, "not `abc`"),
        get("facet size: 0", "/api/facets?size=0")
            .answer(400, "`size` must be a whole number from 1 to 1000"),
        get("facet on message", "/api/facets?field=message").answer(
            400,
            "facets need a keyword field such as `level`, not `message`",
        ),
        get("facet on timestamp", "/api/facets?field=timestamp").answer(400, "not `timestamp`"),
        get("search: from unparsable", "/api/search?from=yesterday")
            .answer(400, "`from` must be a time"),
        get("search: to unparsable", "/api/search?to=2023-13-01")
            .answer(400, "`to` must be a time"),
        get(
            "search: relative from with a bad unit",
            "/api/search?from=now-1y",
        )
        .answer(400, "`from` must be a time"),
        get(
            "histogram: from unparsable",
            "/api/histogram?from=2023-02-30",
        )
        .answer(400, "`from` must be a time"),
        get("facets: to unparsable", "/api/facets?to=tomorrow").answer(400, "`to` must be a time"),
        get(
            "histogram: to before from",
            "/api/histogram?from=2023-09-15T00:00:00Z&to=2023-09-14T00:00:00Z",
        )
        .answer(400, "`to` must be after `from`"),
        get(
            "histogram: to equals from",
            "/api/histogram?from=2023-09-15&to=2023-09-15",
        )
        .answer(400, "`to` must be after `from`"),
        get("unknown endpoint", "/api/serach?q=a").answer(404, "no endpoint GET /api/serach"),
        get("wrong method", "/api/flush").answer(405, "/api/flush does not take GET"),
    ];
    for limit in ["0", "10001", "abc", "-1", ""] {
        cases.push(
            get("bad limit", format!("/api/search?limit={limit}"))
                .answer(400, "`limit` must be a whole number from 1 to 10000"),
        );
    }
    cases
}

/// Runs `cases`, checking after each request that the record count did not
/// move; panics listing every case that went wrong.
fn run(server: &Server, cases: Vec<Case>, stored: u64) {
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(wrong) = case.check(server) {
            failures.push(format!("- {}: {wrong}", case.name));
        }
        if case.method == "POST" && server.records() != stored {
            failures.push(format!("- {}: a record was stored", case.name));
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn baseline(server: &Server) -> u64 {
    let body = concat!(
        "{\"level\":\"info\",\"message\":\"before one\",\"timestamp\":\"2023-09-15T08:00:00Z\"}\n",
        "{\"level\":\"error\",\"message\":\"before two\"}\n",
        "{\"message\":\"before three\"}\n",
    );
    server.ingest(body.as_bytes())
}

#[test]
fn bad_records_are_refused_whole_with_what_and_where() {
    let server = Server::start_with(LIMITS);
    let stored = baseline(&server);
    assert_eq!((server.records(), server.count("*")), (stored, stored));
    let cases = ingest_cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    run(&server, cases, stored);
    // Nothing became visible either.
    let flush = server.post("/api/flush", b"", &[], None);
    assert_eq!(flush.status, 200, "{}", flush.text);
    assert_eq!((server.records(), server.count("*")), (stored, stored));
}

#[test]
fn bad_queries_and_parameters_are_refused_with_what_and_where() {
    let server = Server::start();
    let stored = baseline(&server);
    let cases = read_cases();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    run(&server, cases, stored);
    assert_eq!((server.records(), server.count("*")), (stored, stored));
}
