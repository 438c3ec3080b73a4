//! Syslog over UDP: a message a datagram (RFC 5426). A sender cannot be
//! slowed down, so what finds no room (more than [`PENDING_BYTES`] waiting,
//! or a batch the memory budget or the queue cannot take now) is dropped
//! and counted, never waited for: waiting would only move the loss into
//! the kernel, where nobody counts it.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{count_given_up, store, Batches, Tries, IN_FLIGHT};
use crate::budget::Wait;
use crate::state::Shared;

/// The largest UDP payload.
const DATAGRAM_BYTES: usize = 65_535;

/// Most datagrams read before the loop looks at its batches and stop.
const DATAGRAMS_A_PASS: usize = 1024;

/// Most bytes of messages waiting for a batch in flight to finish; what
/// arrives beyond is dropped.
const PENDING_BYTES: usize = 8 << 20;

/// Receives datagrams until stopped, then stores what it received.
///
/// Datagrams are gathered into the next batch while up to [`IN_FLIGHT`]
/// batches are being stored, so a slow commit makes batches larger, not
/// datagrams lost; only past [`PENDING_BYTES`] are they dropped.
pub async fn receive(state: Shared, socket: UdpSocket, mut stop: watch::Receiver<bool>) {
    let limit = state.engine.limits().max_record_bytes;
    let mut buffer = vec![0; DATAGRAM_BYTES];
    let mut stores = JoinSet::new();
    let mut pending = Batches::new(&state);
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                let mut received = Some(received);
                let mut passed = 0;
                let (mut too_large, mut overloaded) = (0, 0);
                while let Some(result) = received.take() {
                    match result {
                        Ok((length, peer)) => {
                            let message = message(&buffer[..length]);
                            if message.len() > limit {
                                too_large += 1;
                            } else if pending.len() + message.len() > PENDING_BYTES {
                                overloaded += 1;
                            } else if !message.is_empty() {
                                pending.push(message, Some(peer.ip()));
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "syslog: udp receive failed"),
                    }
                    // Until nothing waits (`WouldBlock`), a receive fails, or
                    // a pass has read its share: a sender faster than this
                    // loop must not keep it from storing or stopping.
                    passed += 1;
                    if passed < DATAGRAMS_A_PASS {
                        received = socket.try_recv_from(&mut buffer).ok().map(Ok);
                    }
                }
                for (reason, count) in [("too_large", too_large), ("overloaded", overloaded)] {
                    if count > 0 {
                        state.metrics.syslog_refused("udp", reason, count);
                    }
                }
            }
            Some(_) = stores.join_next(), if !stores.is_empty() => {}
            _ = stop.changed() => break,
        }
        if pending.len() > 0 && stores.len() < IN_FLIGHT {
            let batches = std::mem::replace(&mut pending, Batches::new(&state));
            stores.spawn(store_or_drop(Arc::clone(&state), batches));
        }
    }
    if pending.len() > 0 {
        stores.spawn(store_or_drop(Arc::clone(&state), pending));
    }
    while stores.join_next().await.is_some() {}
}

/// Stores each batch if there is room for it now; otherwise it is dropped
/// and counted.
async fn store_or_drop(state: Shared, batches: Batches) {
    for frames in batches.into_batches() {
        let frames = Arc::new(frames);
        let mut tries = Tries::new(&state, &frames);
        if let Err(failed) = store(&state, &frames, "udp", Wait::No, &mut tries).await {
            let reason = if failed.again { "overloaded" } else { "error" };
            count_given_up(&state, "udp", &frames, &tries, &failed, reason);
        }
    }
}

/// A datagram's message: without the newline (or NUL) some senders end it
/// with.
fn message(datagram: &[u8]) -> &[u8] {
    let mut message = datagram;
    while let [rest @ .., b'\n' | b'\r' | 0] = message {
        message = rest;
    }
    message
}
