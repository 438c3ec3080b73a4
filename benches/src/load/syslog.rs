//! The generator's records as syslog over TCP (`--syslog-tcp`), as rsyslog
//! forwards with `TCP_Framing="octet-counted"` and RFC 5424: the level as
//! the severity, the service as APP-NAME, the ids, commit and metadata as
//! structured data (`[rec@32473 traceId="..." ...]`).
//!
//! Syslog has no acknowledgement: a run writes every body to its
//! connections, then waits until the server holds them all (see
//! [`send`] and [`wait_stored`]).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{fan_out, verify, Job, LoadConfig, Tally};

/// The SD-ID the record's other fields go under (an enterprise number of
/// the documentation range, as RFC 5424's examples use).
pub(super) const SD_ID: &str = "rec@32473";

/// One body: the records of `lines` as octet-counted RFC 5424 frames.
pub(super) fn body(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(lines.iter().map(Vec::len).sum::<usize>() + 64 * lines.len());
    let mut message = Vec::with_capacity(1024);
    for line in lines {
        let record: Value = serde_json::from_slice(line).expect("generator records are JSON");
        message.clear();
        write_message(&mut message, &record);
        // Writing into a `Vec` cannot fail.
        let _ = write!(body, "{} ", message.len());
        body.extend_from_slice(&message);
    }
    body
}

fn write_message(out: &mut Vec<u8>, record: &Value) {
    let text = |key: &str| record[key].as_str().unwrap_or_default();
    // local0 (16), and the severity of the level.
    let severity = match text("level") {
        "error" => 3,
        "warn" => 4,
        "info" => 6,
        "debug" => 7,
        _ => 5,
    };
    let _ = write!(
        out,
        "<{}>1 {} load {} - - [{SD_ID}",
        16 * 8 + severity,
        text("timestamp"),
        text("resourceId")
    );
    for key in ["traceId", "spanId", "commit"] {
        if let Some(value) = record[key].as_str() {
            param(out, key, value);
        }
    }
    for (key, value) in record["metadata"].as_object().into_iter().flatten() {
        match value.as_str() {
            Some(text) => param(out, key, text),
            None => param(out, key, &value.to_string()),
        }
    }
    out.extend_from_slice(b"] ");
    out.extend_from_slice(text("message").as_bytes());
}

/// ` name="value"`, with `"`, `\` and `]` escaped as RFC 5424 says.
fn param(out: &mut Vec<u8>, name: &str, value: &str) {
    let _ = write!(out, " {name}=\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push(b'\\');
        }
        let mut utf8 = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
    out.push(b'"');
}

/// A connection to the server's syslog listener.
pub(super) fn connect(address: SocketAddr) -> Result<TcpStream, String> {
    TcpStream::connect(address).map_err(|e| format!("cannot connect to syslog at {address}: {e}"))
}

/// Writes every body to `connections` connections of the syslog listener
/// (no answers to wait for: a connection is written as fast as the
/// server reads it).
pub(super) fn send(
    config: &LoadConfig,
    address: SocketAddr,
    tally: &Arc<Tally>,
    jobs: impl Iterator<Item = Job>,
) -> Result<(), String> {
    fan_out(config.connections, jobs, |rx| {
        let mut stream = connect(address)?;
        for job in rx {
            stream
                .write_all(&job.body)
                .map_err(|e| format!("syslog connection failed: {e}"))?;
            tally
                .acked_bytes
                .fetch_add(job.body.len() as u64, Ordering::Relaxed);
            if let Some(sample) = job.sample {
                tally.samples.lock().unwrap().push(sample);
            }
        }
        Ok(())
    })
}

/// Waits until the server holds every record sent by syslog (or holds no
/// more for 60 s): those it holds count as acknowledged, the rest as in
/// doubt.
pub(super) fn wait_stored(
    config: &LoadConfig,
    url: &str,
    tally: &Tally,
    before: u64,
) -> Result<(), String> {
    let agent = super::agent();
    let mut last = (0, Instant::now());
    loop {
        let stored = verify::durable(&agent, url)?
            .saturating_sub(before)
            .min(config.records);
        if stored > last.0 {
            last = (stored, Instant::now());
        }
        if stored == config.records || last.1.elapsed() > Duration::from_secs(60) {
            *tally.finished.lock().unwrap() = Some(last.1);
            tally.acked_records.store(stored, Ordering::Relaxed);
            tally
                .in_doubt
                .store(config.records - stored, Ordering::Relaxed);
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
