//! The `tracing` layer and `log` bridge: events of a real `tracing`
//! program are found by query with their fields; a full buffer drops and
//! counts instead of blocking; the engine's own events stay out.

use std::time::Duration;

use logingest::layer::{EngineLayer, LayerHandle, Overflow};
use logingest::{Engine, SearchRequest};
use tracing_subscriber::prelude::*;

fn sources(engine: &Engine, query: &str) -> Vec<String> {
    let page = engine
        .search(&SearchRequest::parse(query).expect("query").limit(1000))
        .expect("search");
    assert_eq!(page.total as usize, page.hits.len());
    page.hits.into_iter().map(|h| h.source).collect()
}

#[test]
fn events_are_records_with_their_fields_spans_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(dir.path()).unwrap();
    let layer = EngineLayer::builder(engine.clone())
        .resource_id("shop")
        .build()
        .unwrap();
    let handle = layer.handle();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!(
            "request",
            trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
            route = "/pay"
        );
        let _request = request.enter();
        for i in 0..3 {
            tracing::info!(order = i, "order placed");
        }
        let payment = tracing::warn_span!("payment", span_id = "00f067aa0ba902b7", amount = 12.5);
        let _payment = payment.enter();
        tracing::error!(user = "alice", http.status = 503_u64, error = %"card declined", "Failed to charge card");
        // The engine's own target: not recorded.
        tracing::error!(target: "logingest_core::ingest", "a commit");
    });
    handle.flush().unwrap();
    assert_eq!(handle.stats().ingested, 4);
    assert_eq!(sources(&engine, "*").len(), 4);
    assert_eq!(
        sources(
            &engine,
            r#"level:info AND "order placed" AND metadata.route:"/pay""#
        )
        .len(),
        3
    );
    let failed = sources(
        &engine,
        r#"level:error AND "failed to charge" AND metadata.user:alice AND metadata.http.status:503 AND resourceId:shop"#,
    );
    assert_eq!(failed.len(), 1, "{failed:?}");
    let record: serde_json::Value = serde_json::from_str(&failed[0]).unwrap();
    assert_eq!(record["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(record["spanId"], "00f067aa0ba902b7");
    assert_eq!(record["metadata"]["span"], "payment");
    assert_eq!(record["metadata"]["amount"], 12.5);
    assert_eq!(record["metadata"]["error"], "card declined");
    assert_eq!(record["metadata"]["target"], "tracing_layer");
    assert_eq!(
        sources(&engine, r#"traceId:"4bf92f3577b34da6a3ce929d0e0e4736""#).len(),
        4
    );
    engine.close().unwrap();
}

/// 1,000 events into a layer with a 4 KiB buffer.
fn burst_into_small_buffer(overflow: Overflow, linger: Duration) -> (Engine, LayerHandle) {
    let engine = Engine::builder()
        .backend(logingest::MemoryBackend::new())
        .open()
        .unwrap();
    let layer = EngineLayer::builder(engine.clone())
        .buffer_bytes(4096)
        .linger(linger)
        .overflow(overflow)
        .build()
        .unwrap();
    let handle = layer.handle();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..1_000 {
            tracing::info!(i, "event number {i}");
        }
    });
    (engine, handle)
}

#[test]
fn a_full_buffer_drops_and_counts_instead_of_blocking() {
    // Nothing is taken from the buffer during the burst: the first event
    // wakes the layer's thread, which then lingers.
    let (_engine, handle) =
        burst_into_small_buffer(Overflow::DropNewest, Duration::from_secs(3600));
    let stats = handle.stats();
    assert!(stats.dropped_full > 900, "{stats:?}");
    assert_eq!(stats.ingested, 0, "{stats:?}");
    // Every event is either buffered or counted: 4 KiB holds few.
    assert!(stats.dropped_full < 1_000, "{stats:?}");
}

#[test]
fn drop_oldest_keeps_the_newest_events() {
    let (engine, handle) =
        burst_into_small_buffer(Overflow::DropOldest, Duration::from_millis(500));
    handle.flush().unwrap();
    let stats = handle.stats();
    assert_eq!(stats.ingested + stats.dropped_full, 1_000, "{stats:?}");
    assert!(stats.dropped_full > 0, "{stats:?}");
    assert_eq!(sources(&engine, r#""event number 999""#).len(), 1);
    assert!(sources(&engine, r#""event number 0""#).is_empty());
}

#[test]
fn the_log_bridge_records_log_macros() {
    let engine = Engine::builder()
        .backend(logingest::MemoryBackend::new())
        .open()
        .unwrap();
    let layer = EngineLayer::new(engine.clone()).unwrap();
    let handle = layer.handle();
    log::set_boxed_logger(Box::new(layer.log_bridge())).unwrap();
    log::set_max_level(log::LevelFilter::Info);
    log::warn!(target: "billing", "invoice {} is late", 42);
    log::debug!("below the level: not recorded");
    log::error!(target: "tantivy::indexer", "the engine's own: not recorded");
    handle.flush().unwrap();
    let found = sources(
        &engine,
        r#"level:warn AND "invoice 42 is late" AND metadata.target:billing"#,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(sources(&engine, "*").len(), 1);
}
