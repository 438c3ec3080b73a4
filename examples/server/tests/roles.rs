//! Access control (server issue acceptance 3): every endpoint × every kind
//! of caller answers the exact status of docs/http-api.md ("Access"), and the
//! server refuses to listen on a non-loopback address without an auth file.
//! Scoped read keys: tests/roles_scoped.rs.
//!
//! Public by design, with an auth file too: `GET /healthz` (load balancers
//! probe it without a key) and the HTML `GET /` (the web UI page itself holds
//! no data; the UI sends the key with its API calls). Everything else needs a
//! key: 401 without one or with an unknown one, 403 when the key's role lacks
//! the right.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::keys::*;
use common::{encode, sha256_hex};
use serde_json::{json, Value};

#[test]
fn hash_key_prints_the_sha256_the_auth_file_expects() {
    let out = Command::new(common::binary())
        .args(["hash-key", ADMIN])
        .output()
        .expect("run hash-key");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        sha256_hex(ADMIN)
    );
}

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    NoKey,
    Wrong,
    /// The hash from the auth file presented as a key: a leaked file is no key.
    LeakedHash,
    Admin,
    Ingest,
    Read,
    ReadScoped,
}

impl Caller {
    const ALL: [Caller; 7] = [
        Caller::NoKey,
        Caller::Wrong,
        Caller::LeakedHash,
        Caller::Admin,
        Caller::Ingest,
        Caller::Read,
        Caller::ReadScoped,
    ];

    fn key(self) -> Option<String> {
        match self {
            Caller::NoKey => None,
            Caller::Wrong => Some(WRONG.into()),
            Caller::LeakedHash => Some(sha256_hex(ADMIN)),
            Caller::Admin => Some(ADMIN.into()),
            Caller::Ingest => Some(INGEST.into()),
            Caller::Read => Some(READ.into()),
            Caller::ReadScoped => Some(READ_SERVER1.into()),
        }
    }
}

/// What an endpoint needs.
#[derive(Debug, Clone, Copy)]
enum Needs {
    Public,
    Ingest,
    Read,
    /// Ingest or read (the Elasticsearch info document shippers probe).
    AnyRole,
    Admin,
}

fn expected(needs: Needs, caller: Caller) -> u16 {
    let role_ok = match (needs, caller) {
        (Needs::Public, _) => return 200,
        (_, Caller::NoKey | Caller::Wrong | Caller::LeakedHash) => return 401,
        (_, Caller::Admin) => true,
        (Needs::AnyRole, _) => true,
        (Needs::Ingest, c) => c == Caller::Ingest,
        (Needs::Read, c) => matches!(c, Caller::Read | Caller::ReadScoped),
        (Needs::Admin, _) => false,
    };
    if role_ok {
        200
    } else {
        403
    }
}

/// The record an ingest request of the matrix sends, marked so the test can
/// tell afterwards which requests stored something.
fn marked_record(mark: &str) -> String {
    json!({"message": "role matrix", "resourceId": "server-10", "metadata": {"mark": mark}})
        .to_string()
}

#[test]
fn every_endpoint_answers_the_exact_status_for_every_caller() {
    let (server, _auth) = start_with_auth();
    let endpoints: [(&str, Needs); 18] = [
        ("POST /", Needs::Ingest),
        ("POST /logs", Needs::Ingest),
        ("POST /_bulk", Needs::Ingest),
        ("POST /logs-idx/_bulk", Needs::Ingest),
        ("POST /v1/logs", Needs::Ingest),
        ("POST /loki/api/v1/push", Needs::Ingest),
        ("GET /api/search", Needs::Read),
        ("GET /api/histogram", Needs::Read),
        ("GET /api/facets", Needs::Read),
        ("GET /api/query", Needs::Read),
        ("GET /api/tail", Needs::Read),
        ("POST /api/flush", Needs::Ingest),
        ("GET /metrics", Needs::Admin),
        ("GET / (JSON info)", Needs::AnyRole),
        ("GET /healthz", Needs::Public),
        ("GET / (HTML UI)", Needs::Public),
        ("GET /api/parse", Needs::Read),
        ("GET /ui/app.js", Needs::Public),
    ];
    let mut checked = 0;
    for (endpoint, needs) in endpoints {
        for caller in Caller::ALL {
            let key = caller.key();
            let key = key.as_deref();
            let mark = format!("{endpoint}|{caller:?}");
            let record = marked_record(&mark);
            let bulk = format!("{{\"index\":{{}}}}\n{record}\n");
            let ndjson = [("Content-Type", "application/x-ndjson")];
            let (status, text) = match endpoint {
                "POST /" | "POST /logs" => {
                    let a = server.post(&endpoint[5..], record.as_bytes(), &[], key);
                    (a.status, a.text)
                }
                "POST /_bulk" | "POST /logs-idx/_bulk" => {
                    let a = server.post(&endpoint[5..], bulk.as_bytes(), &ndjson, key);
                    if a.status == 200 {
                        assert_eq!(a.json()["errors"], false, "{mark}: {}", a.text);
                    }
                    (a.status, a.text)
                }
                "POST /v1/logs" => {
                    // OTLP JSON: the mark as a log attribute, so under `metadata`.
                    let otlp = json!({"resourceLogs": [{
                        "resource": {"attributes": [
                            {"key": "service.name", "value": {"stringValue": "server-10"}}]},
                        "scopeLogs": [{"logRecords": [{
                            "body": {"stringValue": "role matrix"},
                            "attributes": [{"key": "mark", "value": {"stringValue": mark}}]}]}]}]});
                    let json = [("Content-Type", "application/json")];
                    let a = server.post("/v1/logs", otlp.to_string().as_bytes(), &json, key);
                    (a.status, a.text)
                }
                "POST /loki/api/v1/push" => {
                    // Loki JSON: the mark as structured metadata.
                    let push = json!({"streams": [{
                        "stream": {"service_name": "server-10"},
                        "values": [["1694764800000000000", "role matrix", {"mark": mark}]]}]});
                    let json = [("Content-Type", "application/json")];
                    let a =
                        server.post("/loki/api/v1/push", push.to_string().as_bytes(), &json, key);
                    // Loki answers 204 with no body.
                    let status = if a.status == 204 { 200 } else { a.status };
                    (status, a.text)
                }
                "GET /api/search" => {
                    let a = server.get("/api/search?q=*", key);
                    (a.status, a.text)
                }
                "GET /api/histogram" => {
                    let a = server.get("/api/histogram?buckets=5", key);
                    (a.status, a.text)
                }
                "GET /api/facets" => {
                    let a = server.get("/api/facets?field=level", key);
                    (a.status, a.text)
                }
                "GET /api/query" => {
                    let a = server.get("/api/query?q=%7C%20stats%20count()", key);
                    (a.status, a.text)
                }
                "GET /api/tail" => match server.sse("/api/tail?q=*", key) {
                    Ok(events) => {
                        let first = events.next(Duration::from_secs(30));
                        assert_eq!(
                            first.map(|e| e.event),
                            Some("ready".into()),
                            "{mark}: the stream starts with `ready`"
                        );
                        (200, String::new())
                    }
                    Err(a) => (a.status, a.text),
                },
                "POST /api/flush" => {
                    let a = server.post("/api/flush", b"", &[], key);
                    (a.status, a.text)
                }
                "GET /metrics" => {
                    let a = server.get("/metrics", key);
                    if a.status == 200 {
                        assert!(a.text.contains("# TYPE"), "{mark}: {}", a.text);
                    }
                    (a.status, a.text)
                }
                "GET / (JSON info)" => {
                    let a = server.get_with("/", &[("Accept", "application/json")], key);
                    if a.status == 200 {
                        assert!(a.json()["version"]["number"].is_string(), "{}", a.text);
                    }
                    (a.status, a.text)
                }
                "GET /healthz" => {
                    let a = server.get("/healthz", key);
                    assert_eq!(a.json()["status"], "ok", "{mark}");
                    (a.status, a.text)
                }
                "GET / (HTML UI)" => {
                    let a = server.get_with("/", &[("Accept", "text/html")], key);
                    assert!(a.text.contains("<html"), "{mark}: {}", a.text);
                    (a.status, a.text)
                }
                "GET /api/parse" => {
                    let a = server.get("/api/parse?q=level:error", key);
                    if a.status == 200 {
                        assert_eq!(a.json()["clauses"][0]["text"], "level:error", "{mark}");
                    }
                    (a.status, a.text)
                }
                "GET /ui/app.js" => {
                    let a = server.get("/ui/app.js", key);
                    assert!(a.text.contains("import "), "{mark}: {}", a.text);
                    (a.status, a.text)
                }
                other => unreachable!("{other}"),
            };
            let want = expected(needs, caller);
            assert_eq!(
                status, want,
                "{mark}: expected {want}, got {status}: {text}"
            );
            if want >= 400 {
                let error: Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{mark}: error body is not JSON ({e}): {text}"));
                if endpoint == "POST /v1/logs" {
                    // A google.rpc.Status: UNAUTHENTICATED or PERMISSION_DENIED.
                    let code = if want == 401 { 16 } else { 7 };
                    assert_eq!(error["code"], code, "{mark}: {text}");
                    assert!(error["message"].is_string(), "{mark}: {text}");
                } else {
                    assert!(error["error"].is_string(), "{mark}: {text}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 18 * 7);

    // A refused ingest request stored nothing; an accepted one stored its record once.
    server.post("/api/flush", b"", &[], Some(ADMIN));
    for endpoint in [
        "POST /",
        "POST /logs",
        "POST /_bulk",
        "POST /logs-idx/_bulk",
        "POST /v1/logs",
        "POST /loki/api/v1/push",
    ] {
        for caller in Caller::ALL {
            let mark = format!("{endpoint}|{caller:?}");
            let q = format!("metadata.mark:\"{mark}\"");
            let found = server.get(&format!("/api/search?q={}", encode(&q)), Some(ADMIN));
            assert_eq!(found.status, 200, "{}", found.text);
            let want = u64::from(expected(Needs::Ingest, caller) == 200);
            assert_eq!(found.json()["total"], want, "{mark}");
        }
    }

    // The scheme is `Bearer`; other schemes carrying a valid key are not keys.
    for header in [
        format!("Basic {ADMIN}"),
        format!("ApiKey {ADMIN}"),
        ADMIN.to_owned(),
    ] {
        let a = server.get_with("/api/search", &[("Authorization", &header)], None);
        assert_eq!(a.status, 401, "`Authorization: {header}`: {}", a.text);
    }
}
/// Kills a spawned server when the test ends, passing or not.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(listen: &str, extra: &[&str], data: &Path) -> Child {
    Command::new(common::binary())
        .args(["serve", "--listen", listen, "--data"])
        .arg(data)
        .args(extra)
        .env_remove("LOGINGEST_AUTH_FILE")
        .env_remove("LOGINGEST_ALLOW_UNAUTHENTICATED")
        .env_remove("LOGINGEST_CONFIG")
        .env("LOGINGEST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn logingest")
}

/// Waits (bounded) for the "listening on URL" line and returns the URL.
fn listening(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server did not start within 60 s")
}

#[test]
fn non_loopback_listen_needs_an_auth_file_or_an_explicit_flag() {
    let data = tempfile::tempdir().expect("temp dir");

    // Refused: exits non-zero at once, saying why and what to do.
    let mut child = serve("0.0.0.0:0", &[], data.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server should have refused to start"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "exit status {status}");
    assert!(
        stderr.contains("refusing to listen on 0.0.0.0:0 without an auth file")
            && stderr.contains("--auth-file")
            && stderr.contains("--allow-unauthenticated"),
        "stderr: {stderr}"
    );

    // With --allow-unauthenticated it starts (and answers on loopback too).
    let mut open = Kill(serve(
        "0.0.0.0:0",
        &["--allow-unauthenticated"],
        data.path(),
    ));
    let url = listening(&mut open.0);
    let port = url.rsplit(':').next().expect("port");
    let server_url = format!("http://127.0.0.1:{port}/healthz");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let status = agent.get(&server_url).call().expect("healthz").status();
    assert_eq!(status.as_u16(), 200);
    drop(open);

    // With an auth file it starts too, and wants keys.
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = auth_file(dir.path());
    let mut guarded = Kill(serve("0.0.0.0:0", &["--auth-file", &auth], data.path()));
    let url = listening(&mut guarded.0);
    let port = url.rsplit(':').next().expect("port");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let search = format!("http://127.0.0.1:{port}/api/search");
    assert_eq!(
        agent.get(&search).call().expect("search").status().as_u16(),
        401
    );
}
