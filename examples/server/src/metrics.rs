//! Prometheus metrics, served as text at `/metrics`.
//!
//! Counters are updated where things happen; gauges of the ingest queue are
//! read from the ingester at scrape time; the flush latency histogram is fed
//! by the ingester's `FlushObserver` hook, so it measures real backend
//! commits, not HTTP round trips.

use std::time::Duration;

use axum::http::StatusCode;
use logingest::ingest::{FlushObserver, IngestStats};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    /// Records accepted (durable).
    pub ingested_records: IntCounter,
    /// Bytes of records accepted.
    pub ingested_bytes: IntCounter,
    /// Ingest requests refused, by reason (`invalid`, `too_large`, `queue_full`, `overloaded`, `error`).
    rejected: IntCounterVec,
    /// Records accepted, by protocol (`ndjson`, `bulk`, `otlp`, ...).
    protocol_records: IntCounterVec,
    /// Ingest requests refused, by protocol and reason.
    protocol_rejected: IntCounterVec,
    /// Syslog messages refused or dropped, by transport and reason.
    syslog_refused: IntCounterVec,
    /// Syslog batches tried again (TCP back-pressure).
    pub syslog_retries: IntCounter,
    queue_requests: IntGauge,
    queue_records: IntGauge,
    queue_bytes: IntGauge,
    /// Backend commit and refresh latency, seconds.
    flush_seconds: HistogramVec,
    /// Query latency by endpoint, seconds.
    pub query_seconds: HistogramVec,
    memory_budget: IntGaugeVec,
    memory_used: IntGaugeVec,
}

/// One memory budget as `/metrics` shows it.
pub struct MemoryBudget {
    /// The `budget` label.
    pub name: &'static str,
    /// Configured bytes.
    pub limit: usize,
    /// Bytes reserved now, where the server keeps count.
    pub used: Option<usize>,
}

fn latency_buckets() -> Vec<f64> {
    vec![
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let ingested_records = IntCounter::new(
            "logingest_ingested_records_total",
            "Records accepted (durable).",
        )
        .expect("valid metric");
        let ingested_bytes = IntCounter::new(
            "logingest_ingested_bytes_total",
            "Bytes of records accepted.",
        )
        .expect("valid metric");
        let rejected = IntCounterVec::new(
            Opts::new(
                "logingest_rejected_requests_total",
                "Ingest requests refused, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let protocol_records = IntCounterVec::new(
            Opts::new(
                "logingest_protocol_records_total",
                "Records accepted (durable), by the protocol they came in.",
            ),
            &["protocol"],
        )
        .expect("valid metric");
        let protocol_rejected = IntCounterVec::new(
            Opts::new(
                "logingest_protocol_rejected_requests_total",
                "Ingest requests refused, by protocol and reason.",
            ),
            &["protocol", "reason"],
        )
        .expect("valid metric");
        let syslog_refused = IntCounterVec::new(
            Opts::new(
                "logingest_syslog_refused_messages_total",
                "Syslog messages not stored, by transport and reason (`too_large`, `truncated`, `invalid`, `overloaded`, `error`).",
            ),
            &["transport", "reason"],
        )
        .expect("valid metric");
        let syslog_retries = IntCounter::new(
            "logingest_syslog_retried_batches_total",
            "Syslog TCP batches tried again because the queue or the memory budget was full (their connections are not read meanwhile).",
        )
        .expect("valid metric");
        let queue_requests = IntGauge::new(
            "logingest_queue_requests",
            "Requests waiting in the ingest queue.",
        )
        .expect("valid metric");
        let queue_records = IntGauge::new(
            "logingest_queue_records",
            "Records waiting in the ingest queue.",
        )
        .expect("valid metric");
        let queue_bytes = IntGauge::new(
            "logingest_queue_bytes",
            "Bytes waiting in the ingest queue.",
        )
        .expect("valid metric");
        let flush_seconds = HistogramVec::new(
            HistogramOpts::new(
                "logingest_flush_seconds",
                "Backend commit (`write`) and refresh latency.",
            )
            .buckets(latency_buckets()),
            &["op"],
        )
        .expect("valid metric");
        let query_seconds = HistogramVec::new(
            HistogramOpts::new("logingest_query_seconds", "Query latency by endpoint.")
                .buckets(latency_buckets()),
            &["endpoint"],
        )
        .expect("valid metric");
        let memory_budget = IntGaugeVec::new(
            Opts::new(
                "logingest_memory_budget_bytes",
                "Configured memory budgets, by budget.",
            ),
            &["budget"],
        )
        .expect("valid metric");
        let memory_used = IntGaugeVec::new(
            Opts::new(
                "logingest_memory_used_bytes",
                "Bytes reserved from each memory budget now.",
            ),
            &["budget"],
        )
        .expect("valid metric");
        for c in [
            Box::new(ingested_records.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ingested_bytes.clone()),
            Box::new(rejected.clone()),
            Box::new(protocol_records.clone()),
            Box::new(protocol_rejected.clone()),
            Box::new(syslog_refused.clone()),
            Box::new(syslog_retries.clone()),
            Box::new(queue_requests.clone()),
            Box::new(queue_records.clone()),
            Box::new(queue_bytes.clone()),
            Box::new(flush_seconds.clone()),
            Box::new(query_seconds.clone()),
            Box::new(memory_budget.clone()),
            Box::new(memory_used.clone()),
        ] {
            registry.register(c).expect("metric names are unique");
        }
        Metrics {
            registry,
            ingested_records,
            ingested_bytes,
            rejected,
            protocol_records,
            protocol_rejected,
            syslog_refused,
            syslog_retries,
            queue_requests,
            queue_records,
            queue_bytes,
            flush_seconds,
            query_seconds,
            memory_budget,
            memory_used,
        }
    }

    /// Counts the outcome of an ingest request of `protocol`: the records
    /// it stored, or its refusal by the answer's status.
    pub fn ingest_outcome(&self, protocol: &str, outcome: Result<&usize, StatusCode>) {
        match outcome {
            Ok(records) => self
                .protocol_records
                .with_label_values(&[protocol])
                .inc_by(*records as u64),
            Err(status) => {
                let reason = match status.as_u16() {
                    400 | 415 => "invalid",
                    413 => "too_large",
                    429 => "queue_full",
                    503 => "overloaded",
                    _ => "error",
                };
                self.rejected.with_label_values(&[reason]).inc();
                self.protocol_rejected
                    .with_label_values(&[protocol, reason])
                    .inc();
            }
        }
    }

    /// Counts `count` syslog messages of `transport` not stored for
    /// `reason`.
    pub fn syslog_refused(&self, transport: &str, reason: &str, count: usize) {
        self.syslog_refused
            .with_label_values(&[transport, reason])
            .inc_by(count as u64);
    }

    /// The Prometheus text exposition, with queue gauges from `stats`.
    pub fn render(&self, stats: IngestStats, memory: &[MemoryBudget]) -> String {
        for budget in memory {
            let name = [budget.name];
            self.memory_budget
                .with_label_values(&name)
                .set(budget.limit as i64);
            if let Some(used) = budget.used {
                self.memory_used.with_label_values(&name).set(used as i64);
            }
        }
        self.queue_requests.set(stats.queued_submissions as i64);
        self.queue_records.set(stats.queued_records as i64);
        self.queue_bytes.set(stats.queued_bytes as i64);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl FlushObserver for Metrics {
    fn on_batch(&self, _records: usize, _bytes: usize, took: Duration, _ok: bool) {
        self.flush_seconds
            .with_label_values(&["write"])
            .observe(took.as_secs_f64());
    }

    fn on_refresh(&self, took: Duration, _ok: bool) {
        self.flush_seconds
            .with_label_values(&["refresh"])
            .observe(took.as_secs_f64());
    }
}
