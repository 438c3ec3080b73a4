//! A Rust service that keeps its own logs: it logs through `tracing`, the
//! engine's layer records every event, and the service serves the search
//! page and API over them under `/logs/` of its own router.
//!
//! ```text
//! cargo run -p logingest-server --example axum_service            # http://127.0.0.1:8080/logs
//! cargo run -p logingest-server --example axum_service -- --listen 127.0.0.1:9000
//! cargo run -p logingest-server --example axum_service -- --self-test
//! ```
//!
//! `--self-test` listens on a free port, calls its own `/orders/{id}` ten
//! times, then finds those requests' log events through its own
//! `/logs/api/search` and prints how many it found.

use std::net::SocketAddr;

use axum::extract::Path;
use axum::response::Redirect;
use axum::routing::get;
use axum::Router;
use logingest::layer::EngineLayer;
use logingest::Engine;
use logingest_server::Service;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

const ORDERS: u32 = 10;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let self_test = args.iter().any(|a| a == "--self-test");
    let listen = match args.iter().position(|a| a == "--listen") {
        Some(i) => args.get(i + 1).ok_or("--listen needs an address")?.as_str(),
        None if self_test => "127.0.0.1:0",
        None => "127.0.0.1:8080",
    };
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(dir.path())?;

    let layer = EngineLayer::builder(engine.clone())
        .resource_id("shop")
        .build()?;
    let logs = layer.handle();
    // The service's logs go to stderr as RUST_LOG says, and from `info` up
    // into its engine.
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())),
        )
        .with(layer.with_filter(LevelFilter::INFO))
        .init();

    let app = Router::new()
        .route("/", get(|| async { "shop: see /logs/ for its logs\n" }))
        .route("/orders/{id}", get(order))
        .nest("/logs", Service::new(engine.clone()).router()?)
        // A nested router sees `/logs`, not `/logs/`.
        .route("/logs/", get(|| async { Redirect::permanent("/logs") }));

    let address: SocketAddr = listen.parse()?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("listening on {base}; its logs at {base}/logs");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if !self_test {
        server.await??;
        return Ok(());
    }

    let found = tokio::task::spawn_blocking(
        move || -> Result<_, Box<dyn std::error::Error + Send + Sync>> {
            for id in 0..ORDERS {
                ureq::get(format!("{base}/orders/{id}")).call()?;
            }
            // Everything logged so far: durable and searchable.
            logs.flush()?;
            let page = ureq::get(format!("{base}/logs/")) // redirected to /logs
                .call()?
                .body_mut()
                .read_to_string()?;
            assert!(
                page.contains(r#"<base href="/logs/">"#),
                "the page is mounted under /logs/"
            );
            let query = r#"resourceId:shop AND metadata.span:order AND "order shipped""#;
            let answer = ureq::get(format!("{base}/logs/api/search"))
                .query("q", query)
                .call()?
                .body_mut()
                .read_to_string()?;
            let answer: serde_json::Value = serde_json::from_str(&answer)?;
            Ok(answer["total"].as_u64().unwrap_or(0))
        },
    )
    .await?
    .map_err(|e| e.to_string())?;
    println!(
        "found {found} of {ORDERS} order requests in the service's own logs via /logs/api/search"
    );
    engine.close()?;
    Ok(())
}

/// `GET /orders/{id}`: logs inside a span carrying the order id.
async fn order(Path(id): Path<u32>) -> String {
    let span = tracing::info_span!("order", order_id = id, trace_id = %format!("{:032x}", id + 1));
    let _in = span.enter();
    tracing::info!(http.status = 200_u64, items = id % 3 + 1, "order shipped");
    format!("order {id} shipped\n")
}
