//! The POST form of `/api/search`, `/api/histogram` and `/api/facets`: the
//! GET parameters as a JSON body give the same answers, the same errors and
//! the same access rules, and a query too long for a URI is answered.

mod common;

use common::keys::{start_with_auth, INGEST, READ};
use common::raw::exchange;
use common::{encode, Server, SAMPLE};
use serde_json::{json, Value};

const RECORDS: [&str; 4] = [
    SAMPLE,
    r#"{"level":"error","message":"Failed to connect to cache","resourceId":"server-5678","timestamp":"2023-09-12T10:00:00Z"}"#,
    r#"{"level":"info","message":"Connected to DB","resourceId":"server-1234","timestamp":"2023-09-14T12:00:00Z"}"#,
    r#"{"level":"warn","message":"connect failed: retrying","resourceId":"server-1234","timestamp":"2023-09-16T00:00:00Z"}"#,
];

fn with_records() -> Server {
    let server = Server::start();
    assert_eq!(server.ingest(RECORDS.join("\n").as_bytes()), 4);
    server
}

/// The GET query string of `params` (an object of strings and numbers).
fn query_string(params: &Value) -> String {
    params
        .as_object()
        .expect("object")
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{name}={}", encode(&text))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// An answer without its timing, which differs between two runs.
fn untimed(mut answer: Value) -> Value {
    if let Some(object) = answer.as_object_mut() {
        object.remove("took_ms");
    }
    answer
}

/// GET and POST of `params` on `endpoint`: (status, body) of each.
fn both(server: &Server, endpoint: &str, params: &Value, key: Option<&str>) -> [(u16, Value); 2] {
    let get = server.get(&format!("{endpoint}?{}", query_string(params)), key);
    let body = serde_json::to_vec(params).unwrap();
    let post = server.post(
        endpoint,
        &body,
        &[("Content-Type", "application/json")],
        key,
    );
    [
        (get.status, untimed(get.json())),
        (post.status, untimed(post.json())),
    ]
}

#[test]
fn post_answers_as_get_does() {
    let server = with_records();
    let cases = [
        ("/api/search", json!({"q": "level:error"})),
        (
            "/api/search",
            json!({"q": "resourceId:server-1234", "limit": 1, "order": "asc"}),
        ),
        (
            "/api/search",
            json!({"q": r#""Failed to connect""#, "from": "2023-09-13", "to": "now"}),
        ),
        ("/api/search", json!({})),
        (
            "/api/histogram",
            json!({"q": "level:error", "from": "2023-09-10", "to": "2023-09-17", "buckets": 7}),
        ),
        (
            "/api/facets",
            json!({"q": "connect", "field": "resourceId", "size": 5}),
        ),
        // The same refusals, word for word.
        ("/api/search", json!({"q": "level:error", "limt": 5})),
        ("/api/search", json!({"q": "level:error", "limit": 0})),
        ("/api/search", json!({"q": "level:error AND"})),
        ("/api/search", json!({"order": "up"})),
        ("/api/histogram", json!({"size": 3})),
        ("/api/facets", json!({"field": "message"})),
    ];
    for (endpoint, params) in cases {
        let [get, post] = both(&server, endpoint, &params, None);
        assert_eq!(get, post, "{endpoint} {params}");
    }
    // And they are what they should be, not merely alike.
    let [(_, page), _] = both(&server, "/api/search", &json!({"q": "level:error"}), None);
    assert_eq!(page["total"], 2, "{page}");
    let [(status, refusal), _] = both(&server, "/api/search", &json!({"limt": 5}), None);
    assert_eq!(status, 400);
    assert!(refusal["error"]
        .as_str()
        .unwrap()
        .contains("unknown parameter `limt`"));
    // Paging: the cursor of a POST page continues with POST.
    let first = server
        .post("/api/search", br#"{"limit": 3}"#, &[], None)
        .json();
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let rest = server.post(
        "/api/search",
        json!({"limit": 3, "cursor": cursor}).to_string().as_bytes(),
        &[],
        None,
    );
    assert_eq!(rest.status, 200, "{}", rest.text);
    assert_eq!(rest.json()["hits"].as_array().unwrap().len(), 1);
}

#[test]
fn a_query_too_long_for_a_uri_is_answered_by_post() {
    let server = with_records();
    // 200 alternatives of about 200 bytes: about 40 KB, over the 32 KiB URI limit.
    let mut q = String::from("resourceId:server-5678");
    for i in 0..200 {
        q.push_str(&format!(" OR resourceId:nope-{i}-{}", "n".repeat(180)));
    }
    assert!(q.len() > 32 * 1024);
    let get = server.get(&format!("/api/search?q={}", encode(&q)), None);
    assert_eq!(get.status, 414, "{}", get.text);
    assert!(
        get.json()["error"].as_str().unwrap().contains("POST"),
        "{}",
        get.text
    );
    let post = server.post(
        "/api/search",
        json!({"q": q}).to_string().as_bytes(),
        &[],
        None,
    );
    assert_eq!(post.status, 200, "{}", post.text);
    assert_eq!(post.json()["total"], 1, "{}", post.text);
    for endpoint in ["/api/histogram", "/api/facets"] {
        let answer = server.post(endpoint, json!({"q": q}).to_string().as_bytes(), &[], None);
        assert_eq!(answer.status, 200, "{endpoint}: {}", answer.text);
    }
}

#[test]
fn post_bodies_that_are_not_parameters_are_refused() {
    let server = with_records();
    for (body, says) in [
        (&b""[..], "the body must be a JSON object of parameters"),
        (
            b"q=level:error",
            "the body must be a JSON object of parameters",
        ),
        (br#"["level:error"]"#, "not an array"),
        (
            br#"{"q": null}"#,
            "`q` must be a string or a number, not null",
        ),
        (
            br#"{"limit": true}"#,
            "`limit` must be a string or a number, not a boolean",
        ),
    ] {
        let answer = server.post("/api/search", body, &[], None);
        assert_eq!(answer.status, 400, "{}", answer.text);
        let error = answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains(says), "{error}");
    }
    let answer = server.post("/api/search?limit=5", b"{}", &[], None);
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.json()["error"]
        .as_str()
        .unwrap()
        .contains("not in the query string"));
}

#[test]
fn an_oversized_post_body_is_413() {
    let server = Server::start();
    let body = json!({"q": "a".repeat(1 << 20)}).to_string();
    let mut request = format!(
        "POST /api/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body.as_bytes());
    let answer = exchange(&server.url, request);
    assert_eq!(answer.status, 413, "{answer:?}");
    let error = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("larger than the limit of 1048576 bytes"),
        "{error}"
    );
    // Just under the limit is read (and the query runs).
    let body = json!({"q": format!("message:{}", "a".repeat(1000)), "limit": 1}).to_string();
    assert_eq!(
        server
            .post("/api/search", body.as_bytes(), &[], None)
            .status,
        200
    );
}

#[test]
fn post_needs_the_role_get_needs() {
    let (server, _dir) = start_with_auth();
    for endpoint in ["/api/search", "/api/histogram", "/api/facets"] {
        for (key, status) in [(None, 401), (Some(INGEST), 403), (Some(READ), 200)] {
            let params = json!({"q": "level:error", "from": "2023-09-01", "to": "2023-10-01"});
            let [get, post] = both(&server, endpoint, &params, key);
            assert_eq!(get.0, status, "GET {endpoint} {key:?}: {}", get.1);
            assert_eq!(get, post, "{endpoint} {key:?}");
        }
    }
    // The key is checked before the body is read: no key, no body parsing.
    let answer = server.post("/api/search", b"not json", &[], None);
    assert_eq!(answer.status, 401, "{}", answer.text);
}
