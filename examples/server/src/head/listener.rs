//! A listener for `axum::serve` that admits a connection only once the
//! head of its first request has been checked, and answers a refused head
//! itself, in JSON.
//!
//! Accepting stays sequential and cheap: every accepted connection is read
//! in a task of its own (at most [`HeadLimits::head`] bytes plus one read,
//! for at most [`HeadLimits::timeout`]), so a slow client holds up no one.
//! An admitted connection goes to axum through a small channel, its bytes
//! read so far replayed in front of the socket, so axum's own accept loop,
//! its graceful shutdown and hyper's serving are unchanged.

use std::io::{self, Cursor};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use axum::response::IntoResponse;
use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, Chain, Join};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::check::{HeadReader, Progress, Refusal};
use super::HeadLimits;
use crate::error::ApiError;

/// A connection whose first request head passed: the bytes read while
/// checking it, then the rest of the socket.
pub type Admitted = Join<Chain<Cursor<Vec<u8>>, OwnedReadHalf>, OwnedWriteHalf>;

/// After a refusal, how much of what the client still sends is read and
/// dropped, and for how long, before closing. Closing a socket with unread
/// input makes the kernel reset the connection, and a reset can destroy
/// the answer before the client reads it (a client still sending a 1 MB
/// header, say).
const LINGER_BYTES: usize = 4 << 20;
const LINGER_TIME: Duration = Duration::from_secs(2);

/// How many admitted connections may wait for axum to take them.
const WAITING: usize = 16;

/// A TCP listener whose connections come out with a checked first head.
pub struct CheckedListener {
    admitted: mpsc::Receiver<(Admitted, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl CheckedListener {
    /// Starts accepting on `listener`, checking heads against `limits`.
    pub fn new(listener: TcpListener, limits: HeadLimits) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, admitted) = mpsc::channel(WAITING);
        let acceptor = tokio::spawn(accept_loop(listener, sender, limits));
        Ok(CheckedListener {
            admitted,
            local,
            acceptor,
        })
    }
}

impl Drop for CheckedListener {
    /// Stops accepting at once (axum drops its listener when a graceful
    /// shutdown begins).
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl Listener for CheckedListener {
    type Io = Admitted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.admitted.recv().await {
            Some(connection) => connection,
            // The acceptor ended (it never does on its own): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts connections until the listener is dropped, each checked in a
/// task of its own.
async fn accept_loop(
    mut listener: TcpListener,
    sender: mpsc::Sender<(Admitted, SocketAddr)>,
    limits: HeadLimits,
) {
    loop {
        // axum's accept for a TcpListener: it logs and retries on errors
        // (and waits a second when out of file descriptors).
        let (stream, remote) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = sender.closed() => return,
        };
        let sender = sender.clone();
        tokio::spawn(async move {
            if let Some(admitted) = admit(stream, limits).await {
                // The receiver is gone only when the server is stopping.
                let _ = sender.send((admitted, remote)).await;
            }
        });
    }
}

/// Reads and checks the first head of `stream`: the connection to serve,
/// or `None` once a refusal has been answered (or the client left).
async fn admit(mut stream: TcpStream, limits: HeadLimits) -> Option<Admitted> {
    let mut buf = Vec::new();
    let verdict = tokio::time::timeout(limits.timeout, read_head(&mut stream, &mut buf, limits))
        .await
        .unwrap_or(Err(Refusal::Timeout(limits.timeout)));
    match verdict {
        Ok(()) => {
            let (read, write) = stream.into_split();
            Some(tokio::io::join(Cursor::new(buf).chain(read), write))
        }
        // Nothing was sent: a connection opened and left (or kept idle in
        // reserve, as browsers do). There is no request to answer.
        Err(Refusal::Truncated | Refusal::Timeout(_)) if buf.is_empty() => None,
        Err(refusal) => {
            tracing::debug!(%refusal, "request head refused");
            refuse(stream, refusal).await;
            None
        }
    }
}

/// Reads into `buf` until the head is complete or refused.
async fn read_head(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    limits: HeadLimits,
) -> Result<(), Refusal> {
    let mut reader = HeadReader::new(limits);
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|_| Refusal::Truncated)?;
        if n == 0 {
            return Err(Refusal::Truncated);
        }
        let old = buf.len();
        buf.extend_from_slice(&chunk[..n]);
        if reader.advance(buf, old)? == Progress::Complete {
            return Ok(());
        }
    }
}

/// Answers `refusal` as every other error is answered (JSON, from
/// [`ApiError`]), closes the connection, and lingers a little reading.
async fn refuse(mut stream: TcpStream, refusal: Refusal) {
    let (parts, body) = ApiError::from(refusal).into_response().into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut answer = format!("HTTP/1.1 {}\r\n", parts.status).into_bytes();
    for (name, value) in &parts.headers {
        answer.extend_from_slice(name.as_str().as_bytes());
        answer.extend_from_slice(b": ");
        answer.extend_from_slice(value.as_bytes());
        answer.extend_from_slice(b"\r\n");
    }
    let date = httpdate::fmt_http_date(SystemTime::now());
    let tail = format!(
        "content-length: {}\r\nconnection: close\r\ndate: {date}\r\n\r\n",
        body.len()
    );
    answer.extend_from_slice(tail.as_bytes());
    answer.extend_from_slice(&body);
    if stream.write_all(&answer).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(LINGER_TIME, drain(&mut stream)).await;
}

/// Reads and drops up to [`LINGER_BYTES`] until the client closes.
async fn drain(stream: &mut (impl AsyncRead + Unpin)) {
    let mut sink = [0u8; 8192];
    let mut total = 0;
    while total < LINGER_BYTES {
        match stream.read(&mut sink).await {
            Ok(0) | Err(_) => return,
            Ok(n) => total += n,
        }
    }
}
