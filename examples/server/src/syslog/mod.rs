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
//!   and the batch is retried until it is stored. A shutdown stores what
//!   was read before it.
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
use crate::routes::submit;
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
        self.text.capacity() + self.ends.capacity() * std::mem::size_of::<(usize, IpAddr)>()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], Option<IpAddr>)> {
        let starts = std::iter::once(0).chain(self.ends.iter().map(|(end, _)| *end));
        starts
            .zip(&self.ends)
            .map(|(start, &(end, peer))| (&self.text[start..end], peer))
    }
}

/// The `reason` label of a frame refused by the framer.
fn frame_reason(error: &FrameError) -> &'static str {
    match error {
        FrameError::TooLarge { .. } => "too_large",
        FrameError::Truncated { .. } => "truncated",
    }
}

/// Decodes `frames` off the runtime's threads and submits their records,
/// answering once they are durable. Messages that make no valid record are
/// counted (`invalid`) unless `counted` says a try before did; an error is
/// the submission's (the budget, the queue, the backend), for the caller
/// to retry or count.
async fn store(
    state: &Shared,
    frames: &Arc<Frames>,
    transport: &'static str,
    wait: Wait,
    counted: &mut bool,
) -> Result<usize, ApiError> {
    let mut reservation = state.requests.none();
    state
        .requests
        .grow(&mut reservation, frames.bytes(), wait)
        .await?;
    let shared = Arc::clone(state);
    let batch = Arc::clone(frames);
    let (records, invalid, reservation) = state
        .cpu
        .run(move || {
            let options = ParseOptions::default().limits(shared.engine.limits());
            let received = Timestamp::now();
            let messages: Vec<(&[u8], Origin)> = batch
                .iter()
                .map(|(frame, peer)| (frame, Origin { received, peer }))
                .collect();
            let mut meter = Meter::new(&shared.requests, &mut reservation, 0);
            let decoded = syslog::decode_all(&messages, &options, |bytes| meter.add(bytes))?;
            // The records' text is gone once they are made.
            let kept: usize = decoded.records.iter().map(Record::memory).sum();
            meter.release(meter.used().saturating_sub(kept));
            let kept = meter.used();
            reservation.shrink_to(batch.bytes() + kept);
            for e in &decoded.refused {
                tracing::debug!(error = %e, transport, "syslog message refused");
            }
            Ok::<_, ApiError>((decoded.records, decoded.refused.len(), reservation))
        })
        .await??;
    if !*counted && invalid > 0 {
        state.metrics.syslog_refused(transport, "invalid", invalid);
    }
    *counted = true;
    if records.is_empty() {
        return Ok(0);
    }
    let (count, _) = submit(state, records, false).await?;
    drop(reservation);
    state.metrics.ingest_outcome("syslog", Ok(&count));
    Ok(count)
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
