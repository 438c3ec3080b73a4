//! The command-line client: `logingest query`, `logingest tail` and
//! `logingest ingest`.
//!
//! The client ships in the server's binary so one download gives both ends,
//! but it shares no code path with the server: it speaks only the documented
//! HTTP API, like any other client, so whatever the CLI does a script can do
//! too, and the CLI exercises the contract the way users do. It is blocking
//! (`ureq`): it sends one request at a time, so it needs no async runtime.
//!
//! This module holds what the subcommands share: the `--server`/`--key`
//! options, the HTTP client that turns every failure into a message that
//! says what to do, and writing to stdout as a well-behaved Unix filter.

pub mod ingest;
pub mod query;
pub mod rows;
pub mod table;
pub mod tail;

use std::fmt;
use std::io::{self, Write};
use std::time::Duration;

use clap::Args;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Where the server is and how to authenticate: shared by every client subcommand.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Base URL of the running logingest server.
    #[arg(
        long,
        env = "LOGINGEST_SERVER",
        default_value = "http://127.0.0.1:3000",
        value_name = "URL"
    )]
    pub server: String,

    /// API key, sent as `Authorization: Bearer KEY`; needed when the server
    /// has an auth file (`query` and `tail` need a read key, `ingest` an
    /// ingest key).
    #[arg(
        long,
        env = "LOGINGEST_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub key: Option<String>,
}

/// A response from the server.
pub type Response = ureq::http::Response<ureq::Body>;

/// Largest successful answer read into memory (a page of 10 000 big records).
const MAX_ANSWER_BYTES: u64 = 1 << 30;

/// A blocking HTTP client for one server.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    key: Option<String>,
}

/// Why a request failed.
#[derive(Debug)]
pub enum CallError {
    /// No answer: the server is down, the address is wrong, the connection broke.
    Unreachable(String),
    /// The server answered with an error status.
    Server(ServerError),
}

/// An error answer from the server: its status and JSON body.
#[derive(Debug)]
pub struct ServerError {
    /// HTTP status.
    pub status: u16,
    /// The body; `{"error": TEXT}` when the server sent something other than JSON.
    pub body: Value,
    /// `Retry-After`, when sent in seconds.
    pub retry_after: Option<Duration>,
}

impl Client {
    /// A client for `args.server`. Requests have no overall time limit
    /// (a tail runs until stopped; an ingest waits for durability), only a
    /// connect timeout, so a wrong address fails fast.
    pub fn new(args: &ClientArgs) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .user_agent(concat!("logingest/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let base = args.server.trim().trim_end_matches('/');
        let base = if base.contains("://") {
            base.to_owned()
        } else {
            format!("http://{base}")
        };
        Client {
            agent,
            base,
            key: args.key.clone().filter(|k| !k.is_empty()),
        }
    }

    /// `GET path?params`.
    pub fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Response, CallError> {
        let request = self.prepare(self.agent.get(format!("{}{path}", self.base)), params);
        self.finish(request.call())
    }

    /// `POST path?params` with `body` of `content_type`.
    pub fn post(
        &self,
        path: &str,
        params: &[(&str, &str)],
        content_type: &str,
        body: &[u8],
    ) -> Result<Response, CallError> {
        let request = self
            .prepare(self.agent.post(format!("{}{path}", self.base)), params)
            .content_type(content_type);
        self.finish(request.send(body))
    }

    fn prepare<B>(
        &self,
        mut request: ureq::RequestBuilder<B>,
        params: &[(&str, &str)],
    ) -> ureq::RequestBuilder<B> {
        for (name, value) in params {
            request = request.query(name, value);
        }
        match &self.key {
            Some(key) => request.header("Authorization", format!("Bearer {key}")),
            None => request,
        }
    }

    fn finish(&self, result: Result<Response, ureq::Error>) -> Result<Response, CallError> {
        let response = result.map_err(|e| {
            CallError::Unreachable(format!(
                "cannot talk to the server at {}: {e} (is `logingest serve` running? \
                 set --server or LOGINGEST_SERVER)",
                self.base
            ))
        })?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(CallError::Server(ServerError::read(response)))
        }
    }
}

/// Reads a successful answer as JSON of type `T`.
pub fn read_json<T: DeserializeOwned>(mut response: Response) -> Result<T, String> {
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER_BYTES)
        .read_to_vec()
        .map_err(|e| format!("reading the server's answer: {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("the server's answer is not as expected: {e}"))
}

impl ServerError {
    fn read(mut response: Response) -> Self {
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        let body = match serde_json::from_str::<Value>(&text) {
            Ok(body @ Value::Object(_)) => body,
            _ => serde_json::json!({ "error": text.trim() }),
        };
        ServerError {
            status,
            body,
            retry_after,
        }
    }

    /// The server's own message (`error` of the body), or the status.
    pub fn message(&self) -> String {
        match self.body.get("error").and_then(Value::as_str) {
            Some(m) if !m.is_empty() => m.to_owned(),
            _ => format!("HTTP status {}", self.status),
        }
    }

    /// A number field of the body (`line`, `position`, ...).
    pub fn number(&self, field: &str) -> Option<u64> {
        self.body.get(field).and_then(Value::as_u64)
    }

    /// A string field of the body (`reason`, `field`, ...).
    pub fn text(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message())?;
        match self.status {
            401 => write!(f, " (pass --key or set LOGINGEST_KEY)"),
            403 => write!(f, " (this key's role does not allow it)"),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Unreachable(m) => f.write_str(m),
            CallError::Server(e) => e.fmt(f),
        }
    }
}

/// Writes `line` and a newline to stdout (`out`). A closed pipe
/// (`logingest query --all | head`) ends the program quietly and
/// successfully, as it does for any Unix filter.
pub fn print_line(out: &mut impl Write, line: &str) -> Result<(), String> {
    writeln!(out, "{line}").or_else(stdout_error)
}

/// Flushes stdout (`out`), with the same treatment of a closed pipe.
pub fn flush(out: &mut impl Write) -> Result<(), String> {
    out.flush().or_else(stdout_error)
}

fn stdout_error(e: io::Error) -> Result<(), String> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Err(format!("writing to stdout: {e}"))
}

/// The message for a request whose `q` did not parse: the server's reason,
/// then the query with a caret under the byte `position` it names.
pub fn query_error(query: &str, error: &ServerError) -> String {
    let Some(position) = error.number("position") else {
        return error.to_string();
    };
    let reason = error
        .text("reason")
        .map(str::to_owned)
        .unwrap_or_else(|| error.message());
    // One line, as the user typed it: tabs and newlines become spaces (one
    // column each), so the caret lines up.
    let shown = table::clean(query);
    let mut at = (position as usize).min(query.len());
    while !query.is_char_boundary(at) {
        at -= 1;
    }
    let column = console::measure_text_width(&table::clean(&query[..at]));
    format!(
        "invalid query: {reason}\n  {shown}\n  {caret:>width$}",
        caret = "^",
        width = column + 1
    )
}

/// Describes a failed search or tail request: query errors get a caret.
pub fn describe(query: &str, error: CallError) -> String {
    match error {
        CallError::Server(e) if e.status == 400 => query_error(query, &e),
        e => e.to_string(),
    }
}
