//! `logingest serve`: open the backend and its engine, serve HTTP until
//! SIGINT/SIGTERM, then stop accepting, flush and close.

use std::sync::Arc;
use std::time::Duration;

use logingest::ingest::{BatchPolicy, IngestConfig, WhenFull};
use logingest::{Backend, Engine, Limits};
use logingest::{PgBackend, PgConfig};
use logingest::{TantivyBackend, TantivyConfig};

use crate::config::{BackendKind, ServeArgs, WhenFullKind};
use crate::head::{CheckedListener, HeadLimits};
use crate::metrics::Metrics;
use crate::service::{Service, ServiceError};
use crate::syslog::Listeners;

/// Runs the server until a shutdown signal (SIGINT or SIGTERM), then
/// stops accepting, flushes and closes the engine.
pub async fn serve(args: ServeArgs) -> Result<(), ServiceError> {
    run(args).await.map_err(ServiceError::from)
}

async fn run(args: ServeArgs) -> Result<(), String> {
    if args.auth_file.is_none() && !args.listen.ip().is_loopback() && !args.allow_unauthenticated {
        return Err(format!(
            "refusing to listen on {} without an auth file: anyone who can reach it could read and write logs. \
             Pass --auth-file FILE, or --allow-unauthenticated if the network is trusted.",
            args.listen
        ));
    }
    for (flag, address) in [
        ("--syslog-tcp", args.syslog_tcp),
        ("--syslog-udp", args.syslog_udp),
    ] {
        match address {
            Some(address) if !address.ip().is_loopback() && !args.allow_unauthenticated => {
                return Err(format!(
                    "refusing to receive syslog on {address} ({flag}): syslog has no authentication, \
                     so anyone who can reach it could write logs. Pass --allow-unauthenticated if the network is trusted."
                ));
            }
            _ => {}
        }
    }
    // What each backend holds in memory at most, for `/metrics`.
    let (backend, backend_memory): (Arc<dyn Backend>, Vec<(&'static str, usize)>) = match args
        .backend
    {
        BackendKind::Tantivy => {
            let config = TantivyConfig::default()
                .refresh_interval(None)
                .writer_memory_bytes(args.index_writer_bytes)
                .block_cache_bytes(args.block_cache_bytes);
            let memory = vec![
                ("index_writer", config.writer_memory_bytes),
                ("index_queue", config.index_queue_bytes),
                ("block_cache", config.block_cache_bytes),
            ];
            let data = args.data.clone();
            let backend = tokio::task::spawn_blocking(move || TantivyBackend::open(&data, config))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot open {}: {e}", args.data.display()))?;
            (Arc::new(backend), memory)
        }
        BackendKind::Pg => {
            let missing = |flag: &str, env: &str| {
                format!("--backend pg needs {flag} (or {env}); see docs/deploy.md")
            };
            let pg_url = args
                .pg_url
                .clone()
                .ok_or_else(|| missing("--pg-url", "LOGINGEST_PG_URL"))?;
            let es_url = args
                .es_url
                .clone()
                .ok_or_else(|| missing("--es-url", "LOGINGEST_ES_URL"))?;
            let config = PgConfig::new(pg_url, es_url)
                .schema(args.pg_schema.clone())
                .index_prefix(args.es_index_prefix.clone())
                .number_of_replicas(args.es_replicas);
            // Bodies queued for the indexer, and the one it is sending.
            let memory = vec![
                ("index_queue", config.index_queue_bytes),
                ("search_index_bulk", config.bulk_max_bytes),
            ];
            let backend = tokio::task::spawn_blocking(move || PgBackend::open(config))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot open the pg backend: {e}"))?;
            (Arc::new(backend), memory)
        }
    };
    let metrics = Arc::new(Metrics::new());
    let policy = BatchPolicy::new(
        args.batch_records,
        64 << 20,
        Duration::from_millis(args.batch_linger_ms),
    )
    .map_err(|e| e.to_string())?;
    let when_full = match args.when_full {
        WhenFullKind::Block => WhenFull::Block {
            timeout: Duration::from_millis(args.block_timeout_ms),
        },
        WhenFullKind::Reject => WhenFull::Reject,
    };
    let mut ingest = IngestConfig::default();
    ingest.policy = policy;
    ingest.queue_capacity = args.queue_capacity;
    ingest.max_queued_bytes = args.queue_bytes;
    ingest.when_full = when_full;
    ingest.refresh_interval = Duration::from_millis(args.refresh_ms);
    ingest.observer = Some(Arc::clone(&metrics) as _);
    let mut limits = Limits::default()
        .max_body_bytes(args.max_body_bytes)
        .max_record_bytes(args.max_record_bytes)
        .max_records(args.max_records);
    limits.max_indexed_bytes = args.max_indexed_bytes;
    let engine = Engine::builder()
        .shared_backend(backend)
        .ingest_config(ingest)
        .limits(limits)
        .tail_memory_bytes(args.tail_memory_bytes)
        .open()
        .map_err(|e| e.to_string())?;
    let mut service = Service::new(engine.clone())
        .tail_memory_bytes(args.tail_memory_bytes)
        .ingest_memory_bytes(args.ingest_memory_bytes)
        .wait_when_full(match args.when_full {
            WhenFullKind::Block => Some(Duration::from_millis(args.block_timeout_ms)),
            WhenFullKind::Reject => None,
        })
        .metrics(metrics)
        .backend_memory(backend_memory);
    if let Some(path) = &args.auth_file {
        service = service.auth_file(path).map_err(|e| e.to_string())?;
    }
    let authenticated = args.auth_file.is_some();
    let (router, state) = service.build().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Printed (and bound) before the HTTP line, which tests wait for.
    let syslog = Listeners::start(&state, args.syslog_tcp, args.syslog_udp).await?;
    drop(state);
    tracing::info!(address = %local, data = %args.data.display(), auth = authenticated, "logingest listening");
    // Tests and scripts read this line to find the port when --listen used port 0.
    println!("listening on http://{local}");
    // Heads are checked before hyper sees them, so that HTTP-layer errors
    // are answered in JSON too (see `head`).
    let listener =
        CheckedListener::new(listener, HeadLimits::default()).map_err(|e| e.to_string())?;
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("shutting down: storing what syslog senders sent");
    syslog.stop().await;
    tracing::info!("shutting down: flushing the ingest queue");
    tokio::task::spawn_blocking(move || engine.close())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("final flush failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
