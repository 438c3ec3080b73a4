//! Syslog listeners: `--syslog-tcp ADDR` (RFC 6587 framing, `tcp.rs`)
//! and `--syslog-udp ADDR` (a message a datagram, `udp.rs`), both off by
//! default. Messages are read into records by
//! [`logingest_protocols::syslog`] and submitted like any request's.
//!
//! Syslog has no acknowledgement, so what a sender can rely on is what
//! the receiver does with what it read (docs/ingest-protocols.md):
//! - TCP: a message is accepted once its frame is read whole; it is
//!   durable within the batch linger, and nothing read is given up while
//!   the server runs: when the queue or the memory budget is full, the
//!   connection stops being read (the sender's socket fills and it waits)
//!   and the batch is retried until it is stored (not once it was queued
//!   and its commit is only unconfirmed: that could store it twice). A
//!   shutdown stores what was read before it, within 25 more tries.
//! - UDP: there is no way to slow a sender down, so what does not fit is
//!   dropped, and counted.
//!
//! Every message not stored is counted in
//! `logingest_syslog_refused_messages_total{transport,reason}`.

mod tcp;
mod udp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use logingest::{ParseOptions, Record, Timestamp};
use logingest_protocols::syslog::{self, FrameError, Origin};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::budget::{Meter, Wait};
use crate::error::ApiError;
use crate::routes::{enqueue, MaybeStored};
use crate::state::Shared;

/// Most batches a connection (or the UDP socket) has in flight: read
/// while the previous ones are committed.
const IN_FLIGHT: usize = 4;

/// The running listeners.
pub struct Listeners {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Listeners {
    /// Binds the addresses given and starts listening; prints (and logs)
    /// each bound address, as the HTTP listener does.
    pub async fn start(
        state: &Shared,
        tcp: Option<SocketAddr>,
        udp: Option<SocketAddr>,
    ) -> Result<Listeners, String> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        if let Some(address) = tcp {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| format!("cannot listen for syslog on tcp {address}: {e}"))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(address = %local, "syslog listening on tcp");
            println!("syslog listening on tcp {local}");
            tasks.spawn(tcp::accept(Arc::clone(state), listener, stopped.clone()));
        }
        if let Some(address) = udp {
            let socket = tokio::net::UdpSocket::bind(address)
                .await
                .map_err(|e| format!("cannot listen for syslog on udp {address}: {e}"))?;
            let local = socket.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(address = %local, "syslog listening on udp");
            println!("syslog listening on udp {local}");
            tasks.spawn(udp::receive(Arc::clone(state), socket, stopped));
        }
        Ok(Listeners { stop, tasks })
    }

    /// Stops reading and waits until what was read is stored.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Messages read together, stored as one submission.
#[derive(Debug, Default)]
struct Frames {
    text: Vec<u8>,
    /// Where each message ends in `text`, and who sent it.
    ends: Vec<(usize, Option<IpAddr>)>,
}

impl Frames {
    fn push(&mut self, frame: &[u8], peer: Option<IpAddr>) {
        self.text.extend_from_slice(frame);
        self.ends.push((self.text.len(), peer));
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Memory held.
    fn bytes(&self) -> usize {
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<(usize, Option<IpAddr>)>()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], Option<IpAddr>)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|(end, _)| *end));
        starts
            .zip(&self.ends)
            .map(|(start, &(end, peer))| (&self.text[start..end], peer))
    }
}

/// Messages gathered into batches of at most `cap` bytes of [`need`]
/// each (one message alone may need more).
#[derive(Debug)]
struct Batches {
    done: Vec<Frames>,
    current: Frames,
    cap: usize,
}

impl Batches {
    /// Batches that each need at most a quarter of the budget: a batch can
    /// always be reserved whole while three others are.
    fn new(state: &Shared) -> Batches {
        Batches {
            done: Vec::new(),
            current: Frames::default(),
            cap: state.requests.limit() / 4,
        }
    }

    fn push(&mut self, frame: &[u8], peer: Option<IpAddr>) {
        if !self.current.is_empty() && need(&self.current) + 8 * frame.len() + 1536 > self.cap {
            self.done.push(std::mem::take(&mut self.current));
        }
        self.current.push(frame, peer);
    }

    /// Bytes of messages gathered.
    fn len(&self) -> usize {
        self.done.iter().map(|f| f.text.len()).sum::<usize>() + self.current.text.len()
    }

    /// Memory held by the messages.
    fn bytes(&self) -> usize {
        self.done.iter().map(Frames::bytes).sum::<usize>() + self.current.bytes()
    }

    /// The batches, each sized to what it holds.
    fn into_batches(mut self) -> Vec<Frames> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        for frames in &mut self.done {
            frames.text.shrink_to_fit();
            frames.ends.shrink_to_fit();
        }
        self.done
    }
}

/// The `reason` label of a frame refused by the framer.
fn frame_reason(error: &FrameError) -> &'static str {
    match error {
        FrameError::TooLarge { .. } => "too_large",
        FrameError::Truncated { .. } => "truncated",
    }
}

/// What a batch is expected to need while it is decoded: its messages and
/// the records (their text, keywords and message); about
/// 1.3 KiB a record and 7 bytes a byte of message in all (`Record::memory`
/// of syslog records: 1,085 bytes for a 48-byte message, 2,148 for 278).
fn need(frames: &Frames) -> usize {
    frames.bytes() + 8 * frames.text.len() + 1536 * frames.len()
}

/// What the tries of one batch learnt.
#[derive(Debug)]
struct Tries {
    /// When the batch was read: the time of its messages without one, and
    /// the year of RFC 3164 times, whichever try stores it.
    received: Timestamp,
    /// Messages that made no record (counted by the first try to decode).
    invalid: Option<usize>,
    /// Memory to reserve, in one wait, before decoding.
    need: usize,
}

impl Tries {
    fn new(state: &Shared, frames: &Frames) -> Tries {
        Tries {
            received: Timestamp::now(),
            invalid: None,
            need: need(frames).min(state.requests.limit() / 2),
        }
    }
}

/// Why a try did not store its batch.
struct Failed {
    error: ApiError,
    /// Whether trying again may help and cannot store the batch twice.
    again: bool,
    /// The records may be stored all the same (the wait for their commit
    /// timed out).
    maybe_stored: bool,
}

impl From<ApiError> for Failed {
    /// An error before the records were queued: nothing was stored.
    fn from(error: ApiError) -> Failed {
        Failed {
            again: transient(&error),
            maybe_stored: false,
            error,
        }
    }
}

/// Decodes `frames` off the runtime's threads and submits their records,
/// answering once they are durable. Messages that make no valid record are
/// counted (`invalid`) once.
///
/// All the memory a batch needs is reserved in one wait before it is
/// decoded: batches that each held part of the budget while waiting for
/// more could wait for each other forever. A batch that needed more than
/// it reserved reserves twice what it reached on its next try.
async fn store(
    state: &Shared,
    frames: &Arc<Frames>,
    transport: &'static str,
    wait: Wait,
    tries: &mut Tries,
) -> Result<usize, Failed> {
    let mut reservation = state.requests.none();
    state
        .requests
        .grow(&mut reservation, tries.need, wait)
        .await?;
    let shared = Arc::clone(state);
    let batch = Arc::clone(frames);
    let prepaid = tries.need.saturating_sub(frames.bytes());
    let received = tries.received;
    let decoded = state
        .cpu
        .run(move || {
            let options = ParseOptions::default().limits(shared.engine.limits());
            let messages: Vec<(&[u8], Origin)> = batch
                .iter()
                .map(|(frame, peer)| (frame, Origin { received, peer }))
                .collect();
            let mut meter = Meter::new(&shared.requests, &mut reservation, prepaid);
            let decoded = syslog::decode_all(&messages, &options, |bytes| meter.add(bytes))
                .map_err(|e| (e, meter.used()))?;
            // What the meter was told beyond the records (nothing, as the
            // records are written in one pass) is given back.
            let kept: usize = decoded.records.iter().map(Record::memory).sum();
            meter.release(meter.used().saturating_sub(kept));
            let kept = meter.used();
            reservation.shrink_to(batch.bytes() + kept);
            for e in &decoded.refused {
                tracing::debug!(error = %e, transport, "syslog message refused");
            }
            Ok::<_, (ApiError, usize)>((decoded.records, decoded.refused.len(), reservation))
        })
        .await?;
    let (records, invalid, reservation) = decoded.map_err(|(e, reached)| {
        // At most half the budget: a need that could never be met while
        // connections hold their buffers would be retried forever.
        tries.need = (frames.bytes() + 2 * reached).min(state.requests.limit() / 2);
        e
    })?;
    if tries.invalid.is_none() && invalid > 0 {
        state.metrics.syslog_refused(transport, "invalid", invalid);
    }
    tries.invalid = Some(invalid);
    if records.is_empty() {
        return Ok(0);
    }
    let queued = enqueue(state, records).await?;
    let (count, _) = queued
        .wait(state, false)
        .await
        .map_err(|(error, maybe)| Failed {
            again: maybe == MaybeStored::No && transient(&error),
            maybe_stored: maybe == MaybeStored::Yes,
            error,
        })?;
    drop(reservation);
    state.metrics.ingest_outcome("syslog", Ok(&count));
    Ok(count)
}

/// Counts the messages of a batch given up after `failed` (less those
/// counted as `invalid` already) under `reason`, or `unconfirmed` when they
/// may be stored all the same.
fn count_given_up(
    state: &Shared,
    transport: &str,
    frames: &Frames,
    tries: &Tries,
    failed: &Failed,
    reason: &'static str,
) {
    let messages = frames.len() - tries.invalid.unwrap_or(0);
    let reason = if failed.maybe_stored {
        "unconfirmed"
    } else {
        reason
    };
    tracing::warn!(
        error = failed.error.message(),
        messages,
        transport,
        reason,
        "syslog: batch given up"
    );
    state.metrics.syslog_refused(transport, reason, messages);
}

/// Whether a refused submission may succeed later: room in a budget or the
/// queue, or disk space, freed (all 429 or 503).
fn transient(error: &ApiError) -> bool {
    matches!(
        error.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    )
}

/// How long a TCP batch waits before it is tried again.
const RETRY: Duration = Duration::from_millis(200);
