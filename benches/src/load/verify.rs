//! After the load: is every acknowledged record searchable?
//!
//! `POST /api/flush` makes everything accepted visible; then the exact
//! total's growth since the start of the run must lie between the
//! acknowledged count and that plus the records in doubt (requests that failed in a way that leaves their fate unknown),
//! and every kept sample must come back from a search for its service and
//! time: byte for byte when it was sent as our own format, with its fields
//! when it was sent as OTLP (the server writes the text then).

use std::sync::atomic::Ordering;

use serde_json::value::RawValue;

use super::{Protocol, Tally};

/// What the check found (it fails with an error otherwise).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The server's exact total after the flush.
    pub total: u64,
    /// Its total before the run.
    pub before: u64,
    /// Samples found (byte for byte, or by their fields for OTLP).
    pub samples: usize,
}

/// Samples checked at most (each is one search).
const MAX_SAMPLES: usize = 200;

/// The server's exact record count now.
pub(super) fn total(url: &str, key: Option<&str>) -> Result<u64, String> {
    Ok(search(&super::agent(), url, key, "", 1)?.0)
}

/// One search: the exact total and the hits' text as the server sent it.
fn search(
    agent: &ureq::Agent,
    url: &str,
    key: Option<&str>,
    q: &str,
    limit: usize,
) -> Result<(u64, Vec<String>), String> {
    let mut response = authorized(agent.get(format!("{url}/api/search")), key)
        .query("q", q)
        .query("limit", limit.to_string())
        .call()
        .map_err(|e| format!("search `{q}`: {e}"))?;
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("search `{q}`: {e}"))?;
    if response.status() != 200 {
        return Err(format!(
            "search `{q}` answered {}: {text}",
            response.status()
        ));
    }
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        total: u64,
        #[serde(borrow)]
        hits: Vec<&'a RawValue>,
    }
    let page: Page = serde_json::from_str(&text).map_err(|e| format!("search answer: {e}"))?;
    Ok((
        page.total,
        page.hits.iter().map(|h| h.get().to_owned()).collect(),
    ))
}

/// The durable records the server holds (`/healthz`, no key needed).
pub(super) fn durable(agent: &ureq::Agent, url: &str) -> Result<u64, String> {
    let answer = agent
        .get(format!("{url}/healthz"))
        .call()
        .map_err(|e| format!("healthz: {e}"))?;
    let text = answer
        .into_body()
        .read_to_string()
        .map_err(|e| format!("healthz: {e}"))?;
    let health: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("healthz answer {text}: {e}"))?;
    health["records"]
        .as_u64()
        .ok_or_else(|| format!("healthz answer without records: {text}"))
}

pub(super) fn check(
    url: &str,
    key: Option<&str>,
    protocol: Protocol,
    before: u64,
    tally: &Tally,
) -> Result<Verified, String> {
    let agent = super::agent();
    let flushed = authorized(agent.post(format!("{url}/api/flush")), key)
        .send_empty()
        .map_err(|e| format!("flush: {e}"))?;
    if flushed.status() != 200 {
        return Err(format!("flush answered {}", flushed.status()));
    }
    let acked = tally.acked_records.load(Ordering::Relaxed);
    let in_doubt = tally.in_doubt.load(Ordering::Relaxed);
    let (total, _) = search(&agent, url, key, "", 1)?;
    let grown = total.saturating_sub(before);
    if total < before || grown < acked || grown > acked + in_doubt {
        return Err(format!(
            "the server holds {total} records, {before} before the run; {acked} were acknowledged and {in_doubt} are in doubt"
        ));
    }
    let samples = tally.samples.lock().unwrap().clone();
    let step = samples.len().div_ceil(MAX_SAMPLES).max(1);
    let mut checked = 0;
    for line in samples.iter().step_by(step) {
        let record: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("sample {line}: {e}"))?;
        let service = record["resourceId"].as_str().unwrap_or_default();
        let time = record["timestamp"].as_str().unwrap_or_default();
        let q = format!("resourceId:\"{service}\" AND timestamp:[{time} TO {time}]");
        let (_, hits) = search(&agent, url, key, &q, 1000)?;
        let found = match protocol {
            Protocol::Otlp => hits.iter().any(|hit| same_fields(hit, &record, true)),
            Protocol::Loki => hits.iter().any(|hit| same_fields(hit, &record, false)),
            Protocol::Syslog => hits.iter().any(|hit| syslog_fields(hit, &record)),
            _ => hits.iter().any(|h| h == line),
        };
        if !found {
            return Err(format!(
                "an acknowledged record is not found by `{q}`: {line}"
            ));
        }
        checked += 1;
    }
    Ok(Verified {
        total,
        before,
        samples: checked,
    })
}

/// Whether a stored record (a hit's text) has the fields of a generator
/// record sent as OTLP or Loki: its message, level, service and ids, and
/// with `typed` (OTLP) `commit` and `metadata.*` as attributes of their
/// types (`metadata.<key>`; Loki's structured metadata are strings).
fn same_fields(hit: &str, sent: &serde_json::Value, typed: bool) -> bool {
    let Ok(hit) = serde_json::from_str::<serde_json::Value>(hit) else {
        return false;
    };
    let own = ["message", "level", "resourceId", "traceId", "spanId"];
    let metadata = sent["metadata"].as_object().into_iter().flatten();
    own.iter().all(|key| hit[key] == sent[key])
        && hit["metadata"]["commit"] == sent["commit"]
        && (!typed
            || metadata
                .into_iter()
                .all(|(key, value)| &hit["metadata"][key] == value))
}

/// Whether a stored record has the fields of a generator record sent as
/// syslog: its message, level, service and ids (from the structured data),
/// and its commit in the structured data.
fn syslog_fields(hit: &str, sent: &serde_json::Value) -> bool {
    let Ok(hit) = serde_json::from_str::<serde_json::Value>(hit) else {
        return false;
    };
    let own = ["message", "level", "resourceId", "traceId", "spanId"];
    own.iter().all(|key| hit[key] == sent[key])
        && hit["metadata"]["sd"][super::syslog::SD_ID]["commit"] == sent["commit"]
}

/// `request` with the bearer key, if there is one.
pub(super) fn authorized<B>(
    request: ureq::RequestBuilder<B>,
    key: Option<&str>,
) -> ureq::RequestBuilder<B> {
    match key {
        Some(key) => request.header("Authorization", format!("Bearer {key}")),
        None => request,
    }
}
