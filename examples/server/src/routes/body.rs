//! Request bodies and query strings: byte budgets, gzip, size limits,
//! strict parameters.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use futures_util::StreamExt;

use crate::budget::{Budget, Meter, Reservation};
use crate::error::ApiError;
use crate::state::Shared;

/// Reads, decodes and parses a request body with every byte reserved from
/// the server's budget for ingest requests first (`crate::budget`): the
/// body as it arrives, its gunzipped form, and the records `parse` makes
/// (it reports them to the [`Meter`]). Returns what `parse` returned and
/// the reservation, which now holds only the records' memory: keep it
/// until the records are acknowledged.
///
/// A request waits for room (as `--when-full` says) only once, before it
/// holds anything: for a plain body of declared length, room for the body
/// and its records at once. Whatever it needs later it takes only if free
/// at that moment, or is refused with 503. Requests that waited for more
/// while holding part of the budget could all end up waiting for each
/// other (64 clients sending 4 MiB bodies into a 64 MiB budget did).
///
/// Decompressing and parsing are linear but can take seconds for a large
/// body, so they run off the runtime's threads (`crate::cpu`).
pub async fn parse_reserved<T: Send + 'static>(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    parse: impl FnOnce(&[u8], &mut Meter) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Reservation), ApiError> {
    parse_with(state, headers, body, Learn::Yes, parse).await
}

/// Whether a request teaches the estimate of records' memory per body byte
/// that later requests prepay (`RecordRatio`). Only our own JSON does: a
/// protocol's compact or compressed body would make every `/logs` request
/// prepay many times its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learn {
    Yes,
    No,
}

/// [`parse_reserved`], saying whether the request teaches the estimate.
pub async fn parse_with<T: Send + 'static>(
    state: &Shared,
    headers: &HeaderMap,
    body: Body,
    learn: Learn,
    parse: impl FnOnce(&[u8], &mut Meter) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Reservation), ApiError> {
    let budget = &state.requests;
    let limit = state.engine.limits().max_body_bytes;
    let gzip = encoding(headers)?;
    let declared = declared_length(headers, limit)?;
    // The first reservation, the only one that waits.
    let first = match declared {
        Some(length) if !gzip => {
            let records = state.record_ratio.estimate(length);
            length + records.min(budget.limit().saturating_sub(length))
        }
        Some(length) => length,
        None => READ_STEP,
    };
    let mut reservation = budget.none();
    budget.grow(&mut reservation, first, state.wait).await?;
    let payload = read(body, declared, limit, budget, &mut reservation).await?;
    if !gzip && payload.len() > limit {
        return Err(too_large(limit));
    }
    let shared = Arc::clone(state);
    state
        .cpu
        .run(move || {
            let budget = &shared.requests;
            let mut reservation = reservation;
            let bytes = if gzip {
                gunzip(&payload, limit, Some((budget, &mut reservation)))?
            } else {
                payload.clone()
            };
            // What the reservation holds beyond the body (and its gunzipped
            // form) is room for records.
            let buffers = payload.len() + if gzip { bytes.len() } else { 0 };
            let prepaid = reservation.bytes().saturating_sub(buffers);
            drop(payload);
            let mut meter = Meter::new(budget, &mut reservation, prepaid);
            let parsed = parse(&bytes, &mut meter);
            let records = meter.used();
            match &parsed {
                _ if learn == Learn::No => {}
                Ok(_) => shared.record_ratio.observe(bytes.len(), records),
                // Refused for lack of room: the body needs more than it
                // reached, twice as much is a fair guess.
                Err(e) if e.status() == StatusCode::SERVICE_UNAVAILABLE => {
                    shared
                        .record_ratio
                        .observe(bytes.len(), records.saturating_mul(2));
                }
                Err(_) => {}
            }
            let parsed = parsed?;
            drop(bytes);
            reservation.shrink_to(records);
            Ok((parsed, reservation))
        })
        .await?
}

/// Bytes a body of unknown length reserves at a time as it is read.
const READ_STEP: usize = 64 << 10;

/// The declared `Content-Length`, refused with 413 at once when it is more
/// than a body may be. A gzip body may be a little larger than what it
/// inflates to (the limit applies after decompression): the raw form gets
/// some slack.
fn declared_length(headers: &HeaderMap, limit: usize) -> Result<Option<usize>, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    match declared {
        Some(length) if length > raw_limit(limit) => Err(too_large(limit)),
        other => Ok(other),
    }
}

fn raw_limit(limit: usize) -> usize {
    limit.saturating_add(1024)
}

/// Reads the whole body into room reserved before it is filled (all of a
/// declared length is reserved already), refusing more than `limit` bytes
/// with 413 as soon as that is known.
async fn read(
    body: Body,
    declared: Option<usize>,
    limit: usize,
    budget: &Budget,
    reservation: &mut Reservation,
) -> Result<Bytes, ApiError> {
    let raw_limit = raw_limit(limit);
    let mut buffer = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        let needed = buffer.len() + chunk.len();
        if needed > raw_limit {
            return Err(too_large(limit));
        }
        if needed > buffer.capacity() {
            let capacity = needed.max(buffer.capacity() * 2).min(raw_limit);
            budget.try_grow(reservation, capacity.saturating_sub(reservation.bytes()))?;
            buffer.reserve_exact(capacity - buffer.len());
        }
        buffer.extend_from_slice(&chunk);
    }
    // The spare room of a buffer that grew by doubling goes back to the
    // allocator: what the body holds is exactly its length.
    buffer.shrink_to_fit();
    Ok(Bytes::from(buffer))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("body is larger than the limit of {limit} bytes"),
    )
}

/// Whether the body is gzip (`Content-Encoding: gzip`); 415 for encodings
/// other than gzip and none.
fn encoding(headers: &HeaderMap) -> Result<bool, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding `{other}` is not supported (use gzip or none)"),
        )),
    }
}

/// The body gunzipped, refused with 413 when it inflates to more than
/// `limit` bytes; the output's room is reserved before it is filled.
fn gunzip(
    body: &[u8],
    limit: usize,
    mut budget: Option<(&Budget, &mut Reservation)>,
) -> Result<Bytes, ApiError> {
    const STEP: usize = 64 << 10;
    let mut decoder = flate2::read::MultiGzDecoder::new(body).take(limit as u64 + 1);
    let mut out: Vec<u8> = Vec::new();
    let mut filled = 0;
    loop {
        if filled == out.len() {
            let room = (out.len() * 2).clamp(STEP, limit + 1);
            if room == out.len() {
                break;
            }
            if let Some((budget, reservation)) = &mut budget {
                budget.try_grow(reservation, room - out.len())?;
            }
            out.resize(room, 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(ApiError::bad_request(format!(
                    "body is not valid gzip: {e}"
                )))
            }
        }
    }
    if filled > limit {
        return Err(too_large(limit));
    }
    out.truncate(filled);
    Ok(Bytes::from(out))
}

/// A small body (at most `limit` bytes, a fixed limit of its endpoint),
/// gunzipped when `Content-Encoding: gzip`, refused with 413 when it is or
/// inflates to more than `limit`. Not reserved from a budget: only for
/// bodies whose limit is small (the POST form of queries).
pub fn decode(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let bytes = if encoding(headers)? {
        gunzip(&body, limit, None)?
    } else {
        body
    };
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// Whether the client declared NDJSON.
pub fn is_ndjson(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/x-ndjson") || v.starts_with("application/ndjson")
        })
}

/// Query-string parameters, refusing names not in `allowed` (a typo such as
/// `limt=5` should not be silently ignored).
pub fn params(
    raw: HashMap<String, String>,
    allowed: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut unknown: Vec<&String> = raw
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if let Some(first) = unknown.pop() {
        return Err(ApiError::bad_request(format!(
            "unknown parameter `{first}`; this endpoint takes: {}",
            allowed.join(", ")
        )));
    }
    Ok(raw)
}

/// A number parameter within `min..=max`, or `default` when absent.
pub fn number(
    params: &HashMap<String, String>,
    name: &str,
    default: usize,
    min: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "`{name}` must be a whole number from {min} to {max}, not `{text}`"
            ))),
        },
    }
}
