//! `logingest tail`: print new matching records as they arrive.
//!
//! It reads the Server-Sent Events stream of `GET /api/tail` with a small
//! parser of its own (a dozen lines of the SSE format beat a dependency):
//! a `ready` event once the subscription is live, one unnamed event per
//! record whose data is the record exactly as sent, and `lagged` when this
//! client fell behind and the server dropped batches for it, which is
//! reported on stderr so it is never silent but never mixed into the output.
//!
//! It runs until interrupted. Ctrl-C keeps its default meaning (end the
//! process at once): there is nothing to clean up, because every record is
//! written to stdout as a whole line as soon as it arrives, and stdout is
//! line-buffered, so no partial output is ever lost or left behind. If the
//! server ends the stream (it stopped), tail says so and exits non-zero;
//! it does not reconnect.

use std::io::{self, BufRead, BufReader, IsTerminal};

use clap::Args;
use serde_json::Value;

use super::query::one_line;
use super::table::Table;
use super::{describe, print_line, Client, ClientArgs};

/// `logingest tail` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  logingest tail 'level:error'
  logingest tail 'resourceId:server-12*' --json | jq .message")]
pub struct TailArgs {
    /// Print only new records matching this query (docs/query-language.md).
    /// Empty or omitted: every new record.
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,

    /// Print each record as one line of JSON exactly as it was ingested
    /// (NDJSON), instead of a table row.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// One dispatched Server-Sent Event.
#[derive(Debug, Default, PartialEq)]
struct Event {
    /// `event:`; empty for the default `message` type.
    kind: String,
    /// The `data:` lines, joined by newlines.
    data: String,
}

/// Runs `logingest tail` until interrupted or the server ends the stream.
pub fn run(args: TailArgs) -> Result<(), String> {
    let client = Client::new(&args.client);
    let query = args.query.as_deref().unwrap_or("");
    let response = client
        .get("/api/tail", &[("q", query)])
        .map_err(|e| describe(query, e))?;
    let mut events = BufReader::new(response.into_body().into_reader());
    let table = (!args.json).then(Table::streaming);
    let mut out = io::stdout().lock();
    loop {
        let Some(event) = next_event(&mut events)? else {
            return Err("the server ended the live tail (it may have stopped)".into());
        };
        match event.kind.as_str() {
            "ready" => {
                if let Some(table) = &table {
                    print_line(&mut out, &table.header())?;
                }
                if io::stderr().is_terminal() {
                    eprintln!("logingest: waiting for new records; Ctrl-C to stop");
                }
            }
            "" | "message" => match &table {
                None => print_line(&mut out, &one_line(&event.data))?,
                Some(table) => {
                    let record = serde_json::from_str(&event.data).unwrap_or(Value::Null);
                    print_line(&mut out, &table.row(&record))?;
                }
            },
            "lagged" => {
                let missed = serde_json::from_str::<Value>(&event.data)
                    .ok()
                    .and_then(|v| v["missed_records"].as_u64())
                    .map_or_else(|| "some".to_owned(), |n| n.to_string());
                eprintln!(
                    "logingest: warning: this tail fell behind; the server skipped {missed} \
                     records (search for them with `logingest query`)"
                );
            }
            "error" => {
                let reason = serde_json::from_str::<Value>(&event.data)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned))
                    .unwrap_or(event.data);
                return Err(format!("the server ended the live tail: {reason}"));
            }
            _ => {}
        }
    }
}

/// Reads the next event with data (or `ready`), or `None` at the end of the stream.
fn next_event(reader: &mut impl BufRead) -> Result<Option<Event>, String> {
    let mut event = Event::default();
    let mut has_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("reading the live tail: {e}"))?;
        if read == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            if has_data {
                return Ok(Some(event));
            }
            event = Event::default();
            continue;
        }
        if line.starts_with(':') {
            continue; // a comment: the server's keep-alive
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => event.kind = value.to_owned(),
            "data" => {
                if has_data {
                    event.data.push('\n');
                }
                event.data.push_str(value);
                has_data = true;
            }
            _ => {} // `id`, `retry`: not needed without reconnects
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_comments_and_multi_line_data() {
        let stream = "event: ready\ndata: {}\n\n:\n\nid: 1\ndata: {\"a\":\ndata: 1}\n\n\
                      event: lagged\ndata: {\"missed_records\":3}\n\n";
        let mut reader = stream.as_bytes();
        let mut next = || next_event(&mut reader).unwrap();
        assert_eq!(next().map(|e| e.kind), Some("ready".to_owned()));
        assert_eq!(
            next(),
            Some(Event {
                kind: String::new(),
                data: "{\"a\":\n1}".into()
            })
        );
        assert_eq!(next().map(|e| e.kind), Some("lagged".to_owned()));
        assert_eq!(next(), None);
    }
}
