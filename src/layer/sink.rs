//! The bounded buffer between a program's logging calls and its engine.
//!
//! A logging call must never wait for storage, so the layer only formats
//! the event as one NDJSON line and appends it here; a thread of the sink
//! takes what has accumulated, at most every `linger`, and ingests it as
//! one submission. The buffer is bounded in bytes: when it is full the line
//! is dropped (or the oldest lines are, as configured) and counted, never
//! the caller held up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{Engine, IngestError};

/// What the layer does with an event when its buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Overflow {
    /// Drop the new event: what is buffered is kept (the default).
    #[default]
    DropNewest,
    /// Drop the oldest buffered events until the new one fits: the most
    /// recent history is kept.
    DropOldest,
}

/// Counters of a layer's sink, from [`LayerHandle::stats`](super::LayerHandle::stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SinkStats {
    /// Events handed to the engine.
    pub ingested: u64,
    /// Events dropped because the buffer was full.
    pub dropped_full: u64,
    /// Events the engine refused (a record over its limits, a closed
    /// engine, a queue that stayed full).
    pub dropped_refused: u64,
}

struct Buffer {
    lines: VecDeque<String>,
    bytes: usize,
    /// Lines ever buffered, and of them those done with (handed to the
    /// engine, refused, or evicted): `drain` waits for the second to reach
    /// what the first was when it was called, so steady logging by others
    /// cannot keep it waiting.
    pushed: u64,
    done: u64,
    /// Someone waits for the buffer to be handed on: do not linger.
    hurry: bool,
    closed: bool,
}

pub(crate) struct Sink {
    buffer: Mutex<Buffer>,
    /// Signalled when lines arrive, when a batch was handed on, at close.
    changed: Condvar,
    budget: usize,
    overflow: Overflow,
    linger: Duration,
    ingested: AtomicU64,
    dropped_full: AtomicU64,
    dropped_refused: AtomicU64,
}

impl Sink {
    /// A sink of at most `budget` bytes of lines, with its thread.
    pub(crate) fn start(
        engine: Engine,
        budget: usize,
        overflow: Overflow,
        linger: Duration,
    ) -> std::io::Result<Arc<Sink>> {
        let sink = Arc::new(Sink {
            buffer: Mutex::new(Buffer {
                lines: VecDeque::new(),
                bytes: 0,
                pushed: 0,
                done: 0,
                hurry: false,
                closed: false,
            }),
            changed: Condvar::new(),
            budget,
            overflow,
            linger,
            ingested: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            dropped_refused: AtomicU64::new(0),
        });
        let worker = Arc::clone(&sink);
        std::thread::Builder::new()
            .name("logingest-layer".into())
            .spawn(move || worker.run(&engine))?;
        Ok(sink)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one NDJSON line (without its newline); never blocks on the
    /// engine.
    pub(crate) fn push(&self, line: String) {
        let mut buffer = self.lock();
        if buffer.closed {
            self.dropped_refused.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let bytes = line.len() + 1;
        if buffer.bytes + bytes > self.budget {
            if bytes > self.budget || self.overflow == Overflow::DropNewest {
                // Larger than the whole buffer, or the newest is what goes.
                self.dropped_full.fetch_add(1, Ordering::Relaxed);
                return;
            }
            while buffer.bytes + bytes > self.budget {
                let old = buffer.lines.pop_front().expect("lines fill the buffer");
                buffer.bytes -= old.len() + 1;
                buffer.done += 1;
                self.dropped_full.fetch_add(1, Ordering::Relaxed);
            }
        }
        buffer.bytes += bytes;
        buffer.pushed += 1;
        buffer.lines.push_back(line);
        if buffer.lines.len() == 1 {
            self.changed.notify_all();
        }
    }

    /// The counters.
    pub(crate) fn stats(&self) -> SinkStats {
        SinkStats {
            ingested: self.ingested.load(Ordering::Relaxed),
            dropped_full: self.dropped_full.load(Ordering::Relaxed),
            dropped_refused: self.dropped_refused.load(Ordering::Relaxed),
        }
    }

    /// Waits until every line pushed before the call was handed to the
    /// engine (not until it is durable: flush the engine for that).
    pub(crate) fn drain(&self) {
        let mut buffer = self.lock();
        let target = buffer.pushed;
        while buffer.done < target {
            buffer.hurry = true;
            self.changed.notify_all();
            buffer = self
                .changed
                .wait(buffer)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Hands on what is buffered and stops the thread; later events are
    /// counted as refused.
    pub(crate) fn close(&self) {
        self.drain();
        self.lock().closed = true;
        self.changed.notify_all();
    }

    fn run(&self, engine: &Engine) {
        let mut buffer = self.lock();
        loop {
            while buffer.lines.is_empty() && !buffer.closed {
                buffer = self
                    .changed
                    .wait(buffer)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if buffer.lines.is_empty() {
                return;
            }
            // Let a burst gather into one submission, unless someone waits.
            let deadline = Instant::now() + self.linger;
            while !buffer.hurry && !buffer.closed {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                    break;
                };
                buffer = self
                    .changed
                    .wait_timeout(buffer, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            buffer.hurry = false;
            buffer.bytes = 0;
            let lines = std::mem::take(&mut buffer.lines);
            drop(buffer);
            let count = lines.len() as u64;
            self.ingest(engine, lines);
            buffer = self.lock();
            buffer.done += count;
            self.changed.notify_all();
        }
    }

    /// Ingests `lines` in submissions within the engine's limits. If the
    /// engine refuses one for a bad or oversized record (which spoils the
    /// whole body), its lines go one by one, so that only what is refused
    /// is lost; if it refuses for want of room or because it closed, the
    /// submission's lines are counted as refused (retrying each would only
    /// wait again).
    fn ingest(&self, engine: &Engine, lines: VecDeque<String>) {
        let limits = engine.limits();
        let mut lines = lines.into_iter().peekable();
        while lines.peek().is_some() {
            let mut batch = Vec::new();
            let mut body = String::new();
            while let Some(line) = lines.peek() {
                let full = batch.len() >= limits.max_records
                    || body.len() + line.len() + 1 > limits.max_body_bytes;
                if full && !batch.is_empty() {
                    break;
                }
                body.push_str(line);
                body.push('\n');
                batch.push(lines.next().expect("peeked"));
            }
            self.submit(engine, &batch, &body);
        }
    }

    fn submit(&self, engine: &Engine, batch: &[String], body: &str) {
        let count = batch.len() as u64;
        match engine.ingest_json(body.as_bytes()) {
            Ok(_) => {
                self.ingested.fetch_add(count, Ordering::Relaxed);
            }
            Err(IngestError::InvalidRecord(_) | IngestError::TooLarge(_)) if count > 1 => {
                for line in batch {
                    let counter = match engine.ingest_json(line.as_bytes()) {
                        Ok(_) => &self.ingested,
                        Err(_) => &self.dropped_refused,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(_) => {
                self.dropped_refused.fetch_add(count, Ordering::Relaxed);
            }
        }
    }
}
