//! Test harness: the real `logingest` binary on a free port, and a small
//! HTTP client. Every integration test starts its own server on its own
//! temporary data directory, so tests run in parallel without sharing state.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// A running server process.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    data: tempfile::TempDir,
    args: Vec<String>,
    agent: ureq::Agent,
}

/// An HTTP answer: status, headers of interest, body text.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body as text.
    pub text: String,
    /// `Retry-After`, if sent.
    pub retry_after: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
}

impl Answer {
    /// The body as JSON (panics with the body if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
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
        let data = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (child, url) = spawn(data.path(), &args);
        Server {
            child,
            url,
            data,
            args,
            agent: agent(),
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        self.data.path()
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
        let (child, url) = spawn(self.data.path(), &self.args);
        self.child = child;
        self.url = url;
    }

    /// `GET path` with optional bearer key.
    pub fn get(&self, path: &str, key: Option<&str>) -> Answer {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(key) = key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        answer(request.call())
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    let mut text = String::new();
    let _ = response.body_mut().as_reader().read_to_string(&mut text);
    Answer {
        status: response.status().as_u16(),
        text,
        retry_after,
        content_type,
    }
}

/// Spawns `logingest serve` on port 0 and waits for its "listening on" line.
fn spawn(data: &Path, args: &[String]) -> (Child, String) {
    let mut child = Command::new(binary())
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .args(args)
        .env("LOGINGEST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn logingest");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => (child, url),
        Err(_) => {
            let _ = child.kill();
            panic!("logingest did not start within 60 s")
        }
    }
}

/// Path of the binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_logingest"))
}

/// The sample record of PRODUCT.md, as sent.
pub const SAMPLE: &str = r#"{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234","timestamp":"2023-09-15T08:00:00Z","traceId":"abc-xyz-123","spanId":"span-456","commit":"5e5342f","metadata":{"parentResourceId":"server-0987"}}"#;

/// The repository's Loghub samples (NDJSON).
pub fn loghub(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/loghub")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
