//! What a `tracing` event costs the thread that logs it: the engine's layer
//! (`logingest::layer::EngineLayer`) beside `tracing_subscriber::fmt`
//! writing to a file, the usual setup it replaces; and how fast events
//! become durable and searchable in the embedded backend.
//!
//! Run: `cargo bench -p logingest-benches --bench tracing_layer`.
//!
//! The event is a typical service log line: a message, three fields, inside
//! a span with two fields of its own. The layer's thread ingests what the
//! callers buffered while they run, as it would in a service, so the
//! caller-side figures include its competition for the cores; the buffer
//! is drained between chunks (untimed) so that no event is dropped, and
//! the bench fails if one is.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logingest::layer::{EngineLayer, LayerHandle};
use logingest::Engine;
use tracing_subscriber::prelude::*;

/// Events timed between two untimed drains of the layer's buffer.
const CHUNK: u64 = 10_000;

fn emit(i: u64) {
    tracing::info!(
        user_id = i % 1000,
        http.status = 200_u64,
        http.route = "/api/orders",
        "order {i} placed"
    );
}

/// Times `iters` events in chunks, running `between` untimed after each.
fn timed_events(iters: u64, mut between: impl FnMut()) -> Duration {
    let span = tracing::info_span!(
        "request",
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
        method = "POST"
    );
    let _in = span.enter();
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = CHUNK.min(iters - done);
        let start = Instant::now();
        for i in done..done + n {
            emit(i);
        }
        total += start.elapsed();
        done += n;
        between();
    }
    total
}

fn engine_layer(dir: &std::path::Path) -> (Engine, EngineLayer, LayerHandle) {
    let engine = Engine::open(dir).expect("opens");
    let layer = EngineLayer::builder(engine.clone())
        .resource_id("bench")
        .build()
        .expect("layer");
    let handle = layer.handle();
    (engine, layer, handle)
}

fn per_event(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracing_event");
    group.throughput(Throughput::Elements(1));

    let dir = tempfile::tempdir().expect("temp dir");
    let file = std::fs::File::create(dir.path().join("service.log")).expect("log file");
    let fmt = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(fmt, || {
        group.bench_function("fmt_to_file", |b| {
            b.iter_custom(|iters| timed_events(iters, || {}))
        });
    });

    let (engine, layer, handle) = engine_layer(&dir.path().join("engine"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        group.bench_function("engine_layer", |b| {
            b.iter_custom(|iters| timed_events(iters, || handle.drain()))
        });
    });
    group.finish();
    handle.flush().expect("flush");
    let stats = handle.stats();
    assert_eq!(stats.dropped_full + stats.dropped_refused, 0, "{stats:?}");
    let store = engine.stats().expect("stats");
    println!(
        "engine_layer: {stats:?}; {} records, {} bytes on disk",
        store.records, store.bytes_on_disk
    );
    engine.close().expect("close");
}

/// Events per second until durable and searchable: chunks of events, each
/// followed by a flush of the layer and the engine (timed).
fn until_searchable(c: &mut Criterion) {
    let mut group = c.benchmark_group("tracing_durable");
    group.throughput(Throughput::Elements(CHUNK));
    let dir = tempfile::tempdir().expect("temp dir");
    let (engine, layer, handle) = engine_layer(dir.path());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        group.bench_function("engine_layer_10k_events_then_flush", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    timed_events(CHUNK, || {});
                    handle.flush().expect("flush");
                }
                start.elapsed()
            })
        });
    });
    group.finish();
    let stats = handle.stats();
    assert_eq!(stats.dropped_full + stats.dropped_refused, 0, "{stats:?}");
    engine.close().expect("close");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = per_event, until_searchable
}
criterion_main!(benches);
