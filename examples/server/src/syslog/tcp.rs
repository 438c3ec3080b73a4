//! Syslog over TCP: each connection read into frames ([`Framer`]), each
//! read's frames stored as one batch, up to [`IN_FLIGHT`] batches being
//! committed while the next is read. A batch that cannot be stored yet is
//! retried, and the connection is not read meanwhile: back-pressure the
//! sender feels as a full socket.

use std::net::SocketAddr;
use std::sync::Arc;

use logingest_protocols::syslog::{FrameError, Framer};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{count_given_up, frame_reason, store, Batches, Frames, Tries, IN_FLIGHT, RETRY};
use crate::state::Shared;

/// Bytes read from a connection at a time.
const READ_BYTES: usize = 64 << 10;

/// Most bytes of messages a connection gathers into one batch from what
/// has arrived.
const BATCH_BYTES: usize = 1 << 20;

/// Accepts connections until stopped, then waits for them to store what
/// they read.
pub async fn accept(state: Shared, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(Arc::clone(&state), stream, peer, stop.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "syslog: cannot accept a tcp connection");
                    tokio::time::sleep(RETRY).await;
                }
            },
            // Finished connections are reaped as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    while connections.join_next().await.is_some() {}
}

/// Reads one connection until it ends or the server stops.
async fn connection(
    state: Shared,
    mut stream: TcpStream,
    peer: SocketAddr,
    mut stop: watch::Receiver<bool>,
) {
    let budget = &state.requests;
    // The read buffer and the frame being read come out of the ingest
    // memory budget too (128 KiB a connection): many idle connections
    // cannot exhaust memory. A connection waits for its room, holding
    // nothing and read by nobody: its sender waits too.
    let mut held = budget.none();
    while budget
        .grow(&mut held, held_for(0), state.wait)
        .await
        .is_err()
    {
        if *stop.borrow() {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
    let mut framer = Framer::new(state.engine.limits().max_record_bytes);
    let mut buffer = vec![0; READ_BYTES];
    let mut stores = JoinSet::new();
    loop {
        let read = tokio::select! {
            read = stream.read(&mut buffer) => read,
            _ = stop.changed() => {
                // What was read of a frame is lost with the connection.
                if framer.in_frame() {
                    state.metrics.syslog_refused("tcp", "truncated", 1);
                }
                break;
            }
        };
        let (read, mut ended) = match read {
            Ok(0) => (0, true),
            Ok(n) => (n, false),
            Err(e) => {
                tracing::debug!(%peer, error = %e, "syslog: tcp connection failed");
                (0, true)
            }
        };
        let mut gathered = Batches::new(&state);
        let mut refused = Vec::new();
        let ip = Some(peer.ip());
        framer.push(&buffer[..read], |f| {
            collect(f, &mut gathered, &mut refused, ip)
        });
        // What else has arrived goes into the same submission (fewer,
        // larger submissions when a sender is fast), up to BATCH_BYTES and
        // while the budget has room for the messages.
        while !ended && gathered.len() < BATCH_BYTES {
            let wanted = held_for(framer.held()) + gathered.bytes();
            let more = wanted.saturating_sub(held.bytes());
            if more > 0 && budget.try_grow(&mut held, more).is_err() {
                break;
            }
            match stream.try_read(&mut buffer) {
                Ok(0) => ended = true,
                Ok(n) => framer.push(&buffer[..n], |f| {
                    collect(f, &mut gathered, &mut refused, ip)
                }),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "syslog: tcp connection failed");
                    ended = true;
                }
            }
        }
        if ended {
            framer.finish(|f| collect(f, &mut gathered, &mut refused, ip));
        }
        for e in &refused {
            tracing::debug!(%peer, error = %e, "syslog: frame refused");
            state.metrics.syslog_refused("tcp", frame_reason(e), 1);
        }
        for frames in gathered.into_batches() {
            while stores.len() >= IN_FLIGHT {
                stores.join_next().await;
            }
            // The batch is reserved by its store from here on: no longer
            // by the connection (counted twice, batches waiting to be
            // handed over could take the room their stores wait for).
            let floor = held_for(framer.held());
            held.shrink_to(held.bytes().saturating_sub(frames.bytes()).max(floor));
            stores.spawn(store_until_done(
                Arc::clone(&state),
                Arc::new(frames),
                stop.clone(),
            ));
        }
        // The frame being read stays with the connection.
        let wanted = held_for(framer.held());
        let more = wanted.saturating_sub(held.bytes());
        if more > 0 && budget.grow(&mut held, more, state.wait).await.is_err() {
            tracing::warn!(%peer, "syslog: no memory for a long frame; connection closed");
            state.metrics.syslog_refused("tcp", "overloaded", 1);
            break;
        }
        held.shrink_to(wanted);
        if ended {
            break;
        }
    }
    while stores.join_next().await.is_some() {}
}

/// What a connection holds of the budget while the frame it is reading
/// takes `frame` bytes: its read buffer and room for a frame of up to
/// [`READ_BYTES`], so that only longer frames need more (a connection that
/// waited for a few bytes behind a large reservation could not go on).
fn held_for(frame: usize) -> usize {
    READ_BYTES + frame.max(READ_BYTES)
}

/// Keeps a frame, or notes why it was refused.
fn collect(
    frame: Result<&[u8], FrameError>,
    gathered: &mut Batches,
    refused: &mut Vec<FrameError>,
    peer: Option<std::net::IpAddr>,
) {
    match frame {
        Ok(frame) => gathered.push(frame, peer),
        Err(e) => refused.push(e),
    }
}

/// Stores a batch, trying again while the server is short of room (and,
/// once stopping, for a few seconds more); what cannot be stored is
/// counted.
async fn store_until_done(state: Shared, frames: Arc<Frames>, stop: watch::Receiver<bool>) {
    let mut tries = Tries::new(&state, &frames);
    let mut tries_left_stopping = STOPPING_TRIES;
    loop {
        let Err(failed) = store(&state, &frames, "tcp", state.wait, &mut tries).await else {
            return;
        };
        if *stop.borrow() {
            tries_left_stopping -= 1;
        }
        if !failed.again || tries_left_stopping == 0 {
            count_given_up(&state, "tcp", &frames, &tries, &failed, "error");
            return;
        }
        tracing::debug!(
            error = failed.error.message(),
            "syslog: batch not stored yet; retrying"
        );
        state.metrics.syslog_retries.inc();
        tokio::time::sleep(RETRY).await;
    }
}

/// Tries a batch still gets once the server is stopping (25 x `RETRY`: 5 s).
const STOPPING_TRIES: u32 = 25;
