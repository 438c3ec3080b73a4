//! The ingest and operations endpoints of docs/http-api.md against the real
//! server: `POST /` and `/logs` in every framing, gzip, `refresh`, records
//! returned as sent, receive time, `/healthz`, `/metrics`, `/api/flush`,
//! `GET /` and the shape of `/_bulk`.

mod common;

use std::io::Write;

use common::{encode, Server, SAMPLE};
use logingest::Timestamp;
use serde_json::Value;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Asserts `POST path` answers `200 {"accepted": n}`.
fn accepted(server: &Server, path: &str, body: &[u8], headers: &[(&str, &str)], n: u64) {
    let answer = server.post(path, body, headers, None);
    assert_eq!(answer.status, 200, "POST {path}: {}", answer.text);
    assert_eq!(answer.json(), serde_json::json!({ "accepted": n }));
}

#[test]
fn root_and_logs_take_an_object_an_array_and_ndjson() {
    let server = Server::start();
    // One object, to `/` and to `/logs`; a pretty-printed one spans lines.
    accepted(&server, "/", br#"{"message":"object to root"}"#, &[], 1);
    accepted(&server, "/logs", br#"{"message":"object to logs"}"#, &[], 1);
    accepted(
        &server,
        "/logs",
        b"{\n  \"message\": \"pretty object\",\n  \"level\": \"info\"\n}\n",
        &[("Content-Type", "application/json")],
        1,
    );
    // An array: one record per element.
    accepted(
        &server,
        "/logs",
        br#"[{"message":"array one"},{"message":"array two"},{"message":"array three"}]"#,
        &[("Content-Type", "application/json")],
        3,
    );
    // NDJSON, declared (blank lines are skipped) and detected.
    accepted(
        &server,
        "/logs",
        b"{\"message\":\"declared one\"}\n\n{\"message\":\"declared two\"}\n",
        &[("Content-Type", "application/x-ndjson")],
        2,
    );
    accepted(
        &server,
        "/",
        b"{\"message\":\"detected one\"}\n{\"message\":\"detected two\"}\r\n{\"message\":\"detected three\"}",
        &[],
        3,
    );
    assert_eq!(server.records(), 11, "acknowledged records are durable");
    let flush = server.post("/api/flush", b"", &[], None);
    assert_eq!(flush.status, 200, "{}", flush.text);
    assert_eq!(flush.json()["flushed"], true);
    assert_eq!(server.count("*"), 11);
    for (q, n) in [
        ("object", 3),
        ("pretty", 1),
        ("array", 3),
        ("declared", 2),
        ("detected", 3),
        ("level:info", 1),
    ] {
        assert_eq!(server.count(q), n, "{q}");
    }
}

#[test]
fn gzip_bodies_are_inflated() {
    let server = Server::start();
    let ndjson: String = (0..500)
        .map(|i| format!("{{\"message\":\"gzipped record {i}\",\"level\":\"info\"}}\n"))
        .collect();
    let body = gzip(ndjson.as_bytes());
    assert!(
        body.len() < ndjson.len() / 4,
        "the body really is compressed"
    );
    accepted(
        &server,
        "/logs?refresh=wait_for",
        &body,
        &[
            ("Content-Encoding", "gzip"),
            ("Content-Type", "application/x-ndjson"),
        ],
        500,
    );
    accepted(
        &server,
        "/?refresh=wait_for",
        &gzip(SAMPLE.as_bytes()),
        &[("Content-Encoding", "gzip")],
        1,
    );
    assert_eq!(server.count("gzipped"), 500);
    let found = server.get("/api/search?q=level:error", None);
    assert!(found.text.contains(SAMPLE), "{}", found.text);
}

#[test]
fn refresh_wait_for_makes_records_visible_and_flush_makes_all_visible() {
    // A refresh interval far longer than the test: only `refresh=wait_for`
    // and `/api/flush` can make records searchable.
    let server = Server::start_with(&["--refresh-ms", "3600000"]);
    accepted(
        &server,
        "/logs?refresh=wait_for",
        br#"{"message":"visible at once"}"#,
        &[],
        1,
    );
    assert_eq!(server.count("visible"), 1);
    accepted(&server, "/logs", br#"{"message":"durable only"}"#, &[], 1);
    accepted(
        &server,
        "/logs?refresh=false",
        br#"{"message":"durable too"}"#,
        &[],
        1,
    );
    assert_eq!(server.records(), 3, "acknowledged means durable");
    assert_eq!(server.count("durable"), 0, "not refreshed yet");
    let flush = server.post("/api/flush", b"", &[], None);
    assert_eq!(flush.status, 200, "{}", flush.text);
    assert_eq!(server.count("durable"), 2);
    // `refresh=true` is accepted as a synonym of `wait_for`.
    accepted(
        &server,
        "/logs?refresh=true",
        br#"{"message":"true also waits"}"#,
        &[],
        1,
    );
    assert_eq!(server.count("waits"), 1);
}

#[test]
fn records_come_back_exactly_as_sent() {
    let server = Server::start();
    let records = [
        SAMPLE,
        r#"{ "timestamp" : "2023-09-15T08:00:01Z" ,  "message":"spaced   out",   "level" :"warn" }"#,
        r#"{"metadata":{"z":1,"a":{"deep":[1, 2.50, true, null]}},"message":"order kept","timestamp":"2023-09-15T08:00:02Z","zeta":"last"}"#,
        r#"{"message":"escapes \"quoted\" \\ back\/slash \u00e9 \t tab","timestamp":"2023-09-15T08:00:03+02:00"}"#,
        r#"{"message":"unicode: Grüße, 日本語, emoji 🎉","timestamp":"2023-09-15T08:00:04.123456789Z","n":1e3,"m":-0.0}"#,
        "{\n  \"message\": \"pretty\\nprinted\",\n  \"timestamp\": \"2023-09-15T08:00:05Z\"\n}",
    ];
    // One request per record, so each keeps its own framing.
    for record in records {
        accepted(&server, "/logs?refresh=wait_for", record.as_bytes(), &[], 1);
    }
    let all = server.get("/api/search?q=&limit=100", None);
    assert_eq!(all.status, 200);
    assert_eq!(all.json()["total"], records.len());
    for record in records {
        assert!(
            all.text.contains(record),
            "record not returned byte for byte: {record}\n in {}",
            all.text
        );
    }
    // Unknown top-level fields are kept and searchable by name.
    assert_eq!(server.count("zeta:last"), 1);
    assert_eq!(server.count("n:1000.0"), 1, "1e3 is read as the float 1000");
    assert_eq!(server.count("metadata.a.deep:2.5"), 1);
}

#[test]
fn records_without_timestamp_get_the_receive_time() {
    let server = Server::start();
    let before = Timestamp::now();
    accepted(
        &server,
        "/logs?refresh=wait_for",
        br#"{"message":"no time given","level":"info"}"#,
        &[],
        1,
    );
    let after = Timestamp::now();
    let page = server.get("/api/search?q=given", None);
    let hit = &page.json()["hits"][0];
    let stamp = hit["timestamp"].as_str().expect("a timestamp");
    let stamped = Timestamp::parse_rfc3339(stamp).expect("RFC 3339");
    assert!(
        before <= stamped && stamped <= after,
        "{stamped:?} outside [{before:?}, {after:?}]"
    );
    // The member is inserted first, in UTC; nothing else changes.
    assert!(stamp.ends_with('Z'), "{stamp}");
    let stored = format!(r#"{{"timestamp":"{stamp}","message":"no time given","level":"info"}}"#);
    assert!(page.text.contains(&stored), "{}", page.text);
    let relative = server.get("/api/search?from=now-1h", None).json();
    assert_eq!(relative["total"], 1);
}

#[test]
fn healthz_metrics_and_flush() {
    let server = Server::start();
    let health = server.get("/healthz", None);
    assert_eq!(health.status, 200);
    assert_eq!(
        health.json(),
        serde_json::json!({ "status": "ok", "records": 0 })
    );

    let metrics = server.get("/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/plain")),
        "{:?}",
        metrics.content_type
    );
    assert_eq!(server.metric("logingest_queue_requests"), 0.0);
    assert_eq!(server.metric("logingest_ingested_records_total"), 0.0);

    let ndjson: String = (0..25)
        .map(|i| format!("{{\"message\":\"metered {i}\"}}\n"))
        .collect();
    accepted(&server, "/logs", ndjson.as_bytes(), &[], 25);
    assert_eq!(server.metric("logingest_ingested_records_total"), 25.0);
    assert!(server.metric("logingest_ingested_bytes_total") >= ndjson.len() as f64 - 25.0);
    let invalid = r#"logingest_rejected_requests_total{reason="invalid"}"#;
    let rejected = server.metric(invalid);
    assert_eq!(
        server.post("/logs", b"{", &[], None).status,
        400,
        "a bad request"
    );
    assert_eq!(server.metric(invalid), rejected + 1.0);
    assert!(server.metric(r#"logingest_flush_seconds_count{op="write"}"#) >= 1.0);

    let searches = r#"logingest_query_seconds_count{endpoint="search"}"#;
    let before = server.metric(searches);
    let flush = server.post("/api/flush", b"", &[], None);
    assert_eq!(flush.status, 200, "{}", flush.text);
    let flushed = flush.json();
    assert_eq!(flushed["flushed"], true);
    assert!(flushed["took_ms"].is_u64(), "{flushed}");
    assert_eq!(server.count("metered"), 25);
    assert_eq!(server.metric(searches), before + 1.0);
    assert_eq!(server.get("/healthz", None).json()["records"], 25);
    // Labelled families appear once they have a sample; by now all have.
    let text = server.get("/metrics", None).text;
    for (name, kind) in [
        ("logingest_ingested_records_total", "counter"),
        ("logingest_ingested_bytes_total", "counter"),
        ("logingest_rejected_requests_total", "counter"),
        ("logingest_queue_requests", "gauge"),
        ("logingest_queue_records", "gauge"),
        ("logingest_queue_bytes", "gauge"),
        ("logingest_flush_seconds", "histogram"),
        ("logingest_query_seconds", "histogram"),
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} {kind}\n")),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn root_serves_html_to_browsers_and_json_info_to_clients() {
    let server = Server::start();
    let page = server.get("/", None);
    assert_eq!(page.status, 200);
    assert!(
        page.content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        page.content_type
    );
    assert!(page.text.contains("<html"), "{}", page.text);
    let browser = server.get_with(
        "/",
        &[("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")],
        None,
    );
    assert!(browser.text.contains("<html"));

    let info = server.get_with("/", &[("Accept", "application/json")], None);
    assert_eq!(info.status, 200, "{}", info.text);
    let info = info.json();
    assert_eq!(info["name"], "logingest");
    assert_eq!(info["tagline"], "You Know, for Search");
    assert!(info["version"]["number"]
        .as_str()
        .is_some_and(|v| v.starts_with("8.")));
    assert_eq!(info["version"]["logingest"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn bulk_answers_in_the_elasticsearch_shape() {
    let server = Server::start();
    let body = concat!(
        "{\"index\":{\"_index\":\"app-logs\"}}\n",
        "{\"message\":\"bulk one\",\"level\":\"info\"}\n",
        "{\"create\":{\"_id\":\"my-id\"}}\n",
        "{\"message\":\"bulk two\",\"level\":\"warn\"}\n",
        "{\"index\":{}}\n",
        "{\"message\":42}\n",
        "{\"delete\":{\"_id\":\"x\"}}\n",
    );
    let answer = server.post(
        "/_bulk?refresh=wait_for",
        body.as_bytes(),
        &[("Content-Type", "application/x-ndjson")],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-elastic-product"), Some("Elasticsearch"));
    let json = answer.json();
    assert!(json["took"].is_u64(), "{json}");
    assert_eq!(json["errors"], true);
    let items = json["items"].as_array().expect("items");
    let summary: Vec<(String, u64)> = items
        .iter()
        .map(|item| {
            let (action, body) = item.as_object().unwrap().iter().next().unwrap();
            (action.clone(), body["status"].as_u64().unwrap())
        })
        .collect();
    let expected = [
        ("index", 201),
        ("create", 201),
        ("index", 400),
        ("delete", 400),
    ];
    assert_eq!(
        summary,
        expected.map(|(a, s)| (a.to_owned(), s)).to_vec(),
        "{json}"
    );
    assert_eq!(items[0]["index"]["_index"], "app-logs");
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[1]["create"]["_id"], "my-id");
    assert_eq!(items[1]["create"]["_index"], "logs");
    let reason = items[2]["index"]["error"]["reason"].as_str().unwrap();
    assert!(reason.contains("`message`"), "{reason}");
    assert!(items[3]["delete"]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("not supported"));
    // Valid items are stored even though another item failed.
    assert_eq!(server.count("bulk"), 2);

    // `/{index}/_bulk` gives the default index; all good means `errors: false`.
    let answer = server.post(
        "/shipped/_bulk?refresh=wait_for",
        b"{\"index\":{}}\n{\"message\":\"bulk three\"}\n",
        &[],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json: Value = answer.json();
    assert_eq!(json["errors"], false);
    assert_eq!(json["items"][0]["index"]["_index"], "shipped");
    assert_eq!(json["items"][0]["index"]["status"], 201);
    assert_eq!(server.count("bulk"), 3);
}

#[test]
fn bulk_reads_ecs_fields_and_answers_bad_ones_per_item() {
    let server = Server::start();
    let body = concat!(
        "{\"index\":{\"_index\":\"filebeat-8\"}}\n",
        "{\"@timestamp\":\"2023-09-15T08:00:00Z\",\"message\":\"ecs one\",\"log\":{\"level\":\"warn\"},\"service\":{\"name\":\"billing\"}}\n",
        "{\"index\":{}}\n",
        "{\"@timestamp\":\"last tuesday\",\"message\":\"ecs bad time\"}\n",
        "{\"index\":{\"_index\":\"x\"}}\n",
        "{\"_index\":\"y\",\"message\":\"ecs own index\"}\n",
        "{\"create\":{}}\n",
        "{\"@timestamp\":1694764800000,\"log.level\":\"error\",\"message\":\"ecs millis\",\"level\":\"info\"}\n",
        "{\"index\":{}}\n",
        "  {\"message\":\"typed\",\"level\":5}\n",
    );
    let answer = server.post("/_bulk?refresh=wait_for", body.as_bytes(), &[], None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    let json = answer.json();
    let status = |i: usize, action: &str| json["items"][i][action]["status"].clone();
    assert_eq!(status(0, "index"), 201, "{json}");
    assert_eq!(status(1, "index"), 400, "{json}");
    let reason = json["items"][1]["index"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("line 4, column 15, field `@timestamp`:")
            && reason.contains("last tuesday"),
        "{reason}"
    );
    assert_eq!(status(2, "index"), 400, "{json}");
    let reason = json["items"][2]["index"]["error"]["reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.starts_with("line 6, column 11, field `_index`:"),
        "{reason}"
    );
    assert_eq!(status(3, "create"), 201, "{json}");
    // An item's reason is located in the body, not in its line alone.
    assert_eq!(status(4, "index"), 400, "{json}");
    assert_eq!(
        json["items"][4]["index"]["error"]["reason"],
        "line 10, column 30, field `level`: expected a string, found a number"
    );
    assert_eq!(server.count("ecs"), 2, "only the valid items are stored");

    let hits = |q: &str| {
        let a = server.get(&format!("/api/search?q={}", encode(q)), None);
        assert_eq!(a.status, 200, "{}", a.text);
        a.json()["hits"].as_array().unwrap().clone()
    };
    let one = hits("level:warn AND resourceId:billing AND _index:filebeat-8");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["timestamp"], "2023-09-15T08:00:00Z");
    assert_eq!(one[0]["@timestamp"], "2023-09-15T08:00:00Z");
    // Our own `level` wins over `log.level`; the epoch-millis time is used.
    let millis = hits("\"ecs millis\"");
    assert_eq!(millis[0]["level"], "info");
    assert_eq!(millis[0]["timestamp"], "2023-09-15T08:00:00Z");
    assert!(millis[0].get("_index").is_none(), "no index was named");
}
