//! Test harness: the real `logingest` binary on a free port, and a small
//! HTTP client. Every integration test starts its own server on its own
//! temporary data directory, so tests run in parallel without sharing state.
//!
//! `LOGINGEST_TEST_BACKEND=pg` runs every server on the scale-out backend
//! instead (PostgreSQL at `LOGINGEST_PG_URL`, OpenSearch at
//! `LOGINGEST_ES_URL`), each in its own schema and index prefix, removed
//! when the server is dropped. The test command runs the suite both ways.
#![allow(dead_code)]

pub mod keys;
pub mod python;
pub mod raw;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running server process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The data directory.
    dir: PathBuf,
    /// The temporary directory `dir` is, unless the test chose one.
    _temp: Option<tempfile::TempDir>,
    args: Vec<String>,
    agent: ureq::Agent,
    /// The pg backend's storage, deleted on drop.
    pg: Option<logingest::PgConfig>,
    /// What it printed before its URL.
    printed: Vec<String>,
}

/// Storage of the pg backend (a PG schema and an index prefix) that several
/// nodes share; deleted on drop.
pub struct PgStorage {
    /// Its configuration (URLs, schema, prefix).
    pub config: logingest::PgConfig,
}

impl PgStorage {
    /// Fresh storage on the services of `LOGINGEST_PG_URL` and
    /// `LOGINGEST_ES_URL`. Without them: `None` (the test is skipped), or a
    /// panic when `LOGINGEST_REQUIRE_SERVICES=1` (as under scripts/test.sh).
    pub fn new() -> Option<Self> {
        let urls = logingest::testkit::services::services()?;
        let name = unique_name("nodes");
        let config = logingest::PgConfig::new(urls.pg, urls.es)
            .schema(name.clone())
            .index_prefix(name);
        Some(PgStorage { config })
    }
}

impl Drop for PgStorage {
    fn drop(&mut self) {
        if let Err(e) = logingest::PgBackend::destroy(&self.config) {
            eprintln!("could not delete the test's pg storage: {e}");
        }
    }
}

/// A schema and index-prefix name no other test uses.
fn unique_name(kind: &str) -> String {
    logingest::testkit::services::unique_name(kind)
}

/// `serve` arguments for the pg backend on schema and index prefix `name`
/// (the URLs come from the environment).
fn pg_args(name: &str) -> Vec<String> {
    [
        "--backend",
        "pg",
        "--pg-schema",
        name,
        "--es-index-prefix",
        name,
    ]
    .map(String::from)
    .to_vec()
}

/// The backend of this test run's servers: `serve` arguments, and for `pg`
/// the storage to delete afterwards.
fn backend() -> (Vec<String>, Option<logingest::PgConfig>) {
    match std::env::var("LOGINGEST_TEST_BACKEND").as_deref() {
        Err(_) | Ok("tantivy") => (Vec::new(), None),
        Ok("pg") => {
            let url = |name: &str| {
                std::env::var(name).unwrap_or_else(|_| {
                    panic!("LOGINGEST_TEST_BACKEND=pg needs {name} (scripts/services.sh starts the services)")
                })
            };
            let name = unique_name("srv");
            let config = logingest::PgConfig::new(url("LOGINGEST_PG_URL"), url("LOGINGEST_ES_URL"))
                .schema(name.clone())
                .index_prefix(name.clone());
            (pg_args(&name), Some(config))
        }
        Ok(other) => panic!("LOGINGEST_TEST_BACKEND must be `tantivy` or `pg`, not `{other}`"),
    }
}

/// A bad request of a shipper's protocol and its answer, a row of the
/// protocols' bad-input tables: (name, content type, an extra header,
/// body, status, what the error message contains).
pub type BadCase = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    Vec<u8>,
    u16,
    &'static str,
);

/// An HTTP answer: status, headers of interest, body text.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body as text (lossy: see `bytes`).
    pub text: String,
    /// Body as sent (a protobuf answer is no UTF-8).
    pub bytes: Vec<u8>,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// Every response header, names in lowercase, in order.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The first value of header `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

impl Server {
    /// Starts a server with default options on a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra `serve` arguments on a fresh data directory.
    pub fn start_with(args: &[&str]) -> Self {
        let (backend_args, pg) = backend();
        Self::launch(backend_args, args, pg)
    }

    /// Starts a node of the pg backend on the shared storage `pg` (which
    /// the caller deletes; see [`PgStorage`]), with extra `serve` arguments.
    pub fn start_pg(pg: &PgStorage, args: &[&str]) -> Self {
        Self::launch(pg_args(&pg.config.schema), args, None)
    }

    /// Starts a server on the embedded backend with its data in `dir` (e.g.
    /// on a [`logingest::testkit::small_disk::SmallDisk`]), with extra
    /// `serve` arguments. Always the embedded backend, whatever
    /// `LOGINGEST_TEST_BACKEND` says: only it keeps its data in `dir`.
    pub fn start_in(dir: &Path, args: &[&str]) -> Self {
        let embedded = vec!["--backend".to_owned(), "tantivy".to_owned()];
        Self::launch_in(dir.to_owned(), None, embedded, args, None)
    }

    /// Spawns `serve` with `backend_args` then `args`; `pg` is deleted on drop.
    fn launch(backend_args: Vec<String>, args: &[&str], pg: Option<logingest::PgConfig>) -> Self {
        let temp = tempfile::tempdir().expect("temp dir");
        Self::launch_in(temp.path().to_owned(), Some(temp), backend_args, args, pg)
    }

    fn launch_in(
        dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        backend_args: Vec<String>,
        args: &[&str],
        pg: Option<logingest::PgConfig>,
    ) -> Self {
        let mut all = backend_args;
        all.extend(args.iter().map(|s| s.to_string()));
        let (child, url, printed) = spawn(&dir, &all);
        Server {
            child,
            url,
            dir,
            _temp: temp,
            args: all,
            agent: agent(),
            pg,
            printed,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.dir
    }

    /// Kills the process with SIGKILL (no shutdown, no flush).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// Starts the server again on the same data directory (after a kill).
    pub fn restart(&mut self) {
        let (child, url, printed) = spawn(&self.dir, &self.args);
        self.child = child;
        self.url = url;
        self.printed = printed;
    }

    /// The address its syslog listener of `transport` (`tcp`, `udp`) is
    /// bound to, as it printed it.
    pub fn syslog(&self, transport: &str) -> std::net::SocketAddr {
        let prefix = format!("syslog listening on {transport} ");
        self.printed
            .iter()
            .find_map(|line| line.strip_prefix(&prefix)?.parse().ok())
            .unwrap_or_else(|| panic!("no syslog {transport} address in {:?}", self.printed))
    }

    /// `GET path` with optional bearer key.
    pub fn get(&self, path: &str, key: Option<&str>) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        answer(request.call())
    }

    /// `GET path` with a bearer key, which must answer 200: its JSON.
    pub fn get_ok(&self, path: &str, key: &str) -> Value {
        let answer = self.get(path, Some(key));
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        answer.json()
    }

    /// `GET path` with extra headers and optional bearer key.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)], key: Option<&str>) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        answer(request.call())
    }

    /// Subscribes to `GET path` as Server-Sent Events (e.g.
    /// `/api/tail?q=...`) with an optional bearer key. A non-200 answer is
    /// returned as `Err` with its body; on 200 the events are read by a
    /// background thread (it ends when the stream does).
    pub fn sse(&self, path: &str, key: Option<&str>) -> Result<Sse, Box<Answer>> {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let response = request
            .call()
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        if response.status().as_u16() != 200 {
            return Err(Box::new(answer(Ok(response))));
        }
        let reader = BufReader::new(response.into_body().into_reader());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut event = SseEvent::default();
            for line in reader.lines().map_while(Result::ok) {
                if line.is_empty() {
                    let complete = !event.data.is_empty() || !event.event.is_empty();
                    if complete && tx.send(std::mem::take(&mut event)).is_err() {
                        return;
                    }
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((&line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "event" => event.event = value.to_owned(),
                    "id" => event.id = value.to_owned(),
                    "data" => {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(value);
                    }
                    _ => {} // comments (keep-alives) and unknown fields
                }
            }
        });
        Ok(Sse { events: rx })
    }

    /// `POST path` with a body, extra headers and optional bearer key.
    pub fn post(
        &self,
        path: &str,
        body: &[u8],
        headers: &[(&str, &str)],
        key: Option<&str>,
    ) -> Answer {
        let mut request = self.agent.post(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        answer(request.send(body))
    }

    /// `POST path` over a raw connection, reading the answer while a second
    /// thread sends the body, whose sending may fail once the server
    /// answers early (too large, no room in a budget) and closes: a client
    /// that writes the whole body before reading, as ureq does, would see
    /// only a broken pipe. curl and shippers read early.
    pub fn post_reading_early(&self, path: &str, body: &[u8], headers: &[(&str, &str)]) -> Answer {
        let address = self.url.strip_prefix("http://").expect("http URL");
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body);
        let raw = raw::exchange(&self.url, request);
        Answer {
            status: raw.status,
            retry_after: raw.header("retry-after").map(str::to_owned),
            content_type: raw.header("content-type").map(str::to_owned),
            bytes: raw.body.clone().into_bytes(),
            text: raw.body,
            headers: raw.headers,
        }
    }

    /// Any request: `method path`, an optional body, extra headers and an
    /// optional bearer key.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[(&str, &str)],
        key: Option<&str>,
    ) -> Answer {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.url));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(key) = key {
            builder = builder.header("Authorization", format!("Bearer {key}"));
        }
        answer(match body {
            Some(body) => self.agent.run(builder.body(body).expect("request")),
            None => self.agent.run(builder.body(()).expect("request")),
        })
    }

    /// The number of stored (durable) records, as `/healthz` reports it.
    pub fn records(&self) -> u64 {
        let answer = self.get("/healthz", None);
        assert_eq!(answer.status, 200, "healthz: {}", answer.text);
        answer.json()["records"].as_u64().expect("records")
    }

    /// The value of an unlabelled sample of `/metrics` (0 if absent).
    pub fn metric(&self, name: &str) -> f64 {
        let answer = self.get("/metrics", None);
        assert_eq!(answer.status, 200, "metrics: {}", answer.text);
        answer
            .text
            .lines()
            .find_map(|line| {
                let (sample, value) = line.rsplit_once(' ')?;
                (sample == name).then(|| value.parse().expect("a number"))
            })
            .unwrap_or(0.0)
    }

    /// `POST /logs?refresh=wait_for` of `body`, asserting it is accepted whole.
    pub fn ingest(&self, body: &[u8]) -> u64 {
        let answer = self.post("/logs?refresh=wait_for", body, &[], None);
        assert_eq!(answer.status, 200, "ingest: {}", answer.text);
        answer.json()["accepted"].as_u64().expect("accepted")
    }

    /// `GET /api/search` with `q` (and more `&`-joined parameters, already encoded).
    pub fn search(&self, q: &str, extra: &str) -> Value {
        let answer = self.get(&format!("/api/search?q={}{extra}", encode(q)), None);
        assert_eq!(answer.status, 200, "search `{q}`: {}", answer.text);
        answer.json()
    }

    /// The exact number of records matching `q`.
    pub fn count(&self, q: &str) -> u64 {
        self.search(q, "&limit=1")["total"].as_u64().expect("total")
    }
}

/// One Server-Sent Event.
#[derive(Debug, Default, Clone)]
pub struct SseEvent {
    /// `event:` (empty for the default `message` type).
    pub event: String,
    /// `id:`.
    pub id: String,
    /// `data:` lines joined by newlines.
    pub data: String,
}

/// A live Server-Sent Events subscription.
pub struct Sse {
    events: mpsc::Receiver<SseEvent>,
}

impl Sse {
    /// The next event, waiting at most `timeout`; `None` on timeout or
    /// when the stream ended.
    pub fn next(&self, timeout: Duration) -> Option<SseEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(config) = self.pg.take() {
            if let Err(e) = logingest::PgBackend::destroy(&config) {
                eprintln!("could not delete the test server's pg storage: {e}");
            }
        }
    }
}

/// Percent-encodes a query-string value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut response = result.unwrap_or_else(|e| panic!("request failed: {e}"));
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let retry_after = header("retry-after");
    let content_type = header("content-type");
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    // Bytes, shown lossily: a protobuf answer is no UTF-8, and its text
    // parts still are.
    let mut body = Vec::new();
    let _ = response.body_mut().as_reader().read_to_end(&mut body);
    Answer {
        status: response.status().as_u16(),
        text: String::from_utf8_lossy(&body).into_owned(),
        bytes: body,
        retry_after,
        content_type,
        headers,
    }
}

/// Spawns `logingest serve` on port 0 and waits for its "listening on" line
/// (the load generator's own launcher, so both start servers alike).
fn spawn(data: &Path, args: &[String]) -> (Child, String, Vec<String>) {
    logingest_benches::load::spawn_serve_printing(&binary(), data, args, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("logingest did not start: {e}"))
}

/// Hex SHA-256 of an API key, as an auth file stores it.
pub fn sha256_hex(key: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A key of an auth file: name, the key itself, role, `resources` patterns.
pub type AuthKey<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);

/// Writes an auth file with `keys` (stored hashed) into `dir`; returns its
/// path as a string, for `--auth-file`.
pub fn write_auth_file(dir: &Path, keys: &[AuthKey]) -> String {
    let mut text = String::new();
    for (name, key, role, resources) in keys {
        text.push_str(&format!(
            "[[keys]]\nname = \"{name}\"\nsha256 = \"{}\"\nrole = \"{role}\"\n",
            sha256_hex(key)
        ));
        if !resources.is_empty() {
            let list: Vec<String> = resources.iter().map(|r| format!("\"{r}\"")).collect();
            text.push_str(&format!("resources = [{}]\n", list.join(", ")));
        }
        text.push('\n');
    }
    let path = dir.join("auth.toml");
    std::fs::write(&path, text).expect("write auth file");
    path.to_str().expect("UTF-8 temp path").to_owned()
}

/// Path of the binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_logingest"))
}

/// The sample record of docs/query-language.md, as sent.
pub const SAMPLE: &str = logingest::testkit::corpus::PRODUCT_SAMPLE;

/// The repository's Loghub samples (NDJSON).
pub fn loghub(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/loghub")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
