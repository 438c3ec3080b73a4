//! What a load run measured, as a table for people and JSON for scripts.

use std::time::Duration;

use serde_json::{json, Value};

use super::verify::Verified;
use super::Protocol;

/// Disk use of the data directory after the server settled.
#[derive(Debug, Clone)]
pub struct Disk {
    /// Bytes of every file.
    pub total: u64,
    /// Bytes per component (file extension or name), largest first.
    pub components: Vec<(String, u64)>,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Endpoint used.
    pub protocol: Protocol,
    /// Records the run was to send.
    pub records_offered: u64,
    /// Records per request.
    pub batch: usize,
    /// Connections.
    pub connections: usize,
    /// Fixed rate, if any, records/s.
    pub rate: Option<f64>,
    /// Records in requests answered 200.
    pub acked_records: u64,
    /// Body bytes of those requests.
    pub acked_bytes: u64,
    /// Records of failed requests whose fate is unknown.
    pub in_doubt: u64,
    /// `429` answers (each retried).
    pub status_429: u64,
    /// `503` answers (each retried).
    pub status_503: u64,
    /// Failed requests (other statuses, connection errors, `_bulk` item errors).
    pub failures: u64,
    /// The first failure's description.
    pub first_failure: Option<String>,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
    /// Ack latency of every acknowledged request, sorted.
    pub latencies: Vec<Duration>,
    /// Server peak RSS (`VmHWM`), bytes.
    pub peak_rss: Option<u64>,
    /// Highest anonymous resident memory seen while sending (`RssAnon`,
    /// sampled every 100 ms): the heap, without mapped files.
    pub peak_rss_anon: Option<u64>,
    /// Highest file-backed resident memory seen while sending (`RssFile`):
    /// mapped index files, which the kernel can drop at any time.
    pub peak_rss_file: Option<u64>,
    /// Server CPU time during the run, seconds.
    pub cpu_seconds: Option<f64>,
    /// Data directory after stop, reopen and settle.
    pub disk: Option<Disk>,
    /// The verification's findings.
    pub verified: Option<Verified>,
}

impl Report {
    /// Acknowledged records per second.
    pub fn records_per_second(&self) -> f64 {
        self.acked_records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Acknowledged body MB (10^6 bytes) per second.
    pub fn mb_per_second(&self) -> f64 {
        self.acked_bytes as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Latency at quantile `q` (0..=1), milliseconds.
    pub fn latency_ms(&self, q: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let i = ((self.latencies.len() - 1) as f64 * q).round() as usize;
        Some(self.latencies[i].as_secs_f64() * 1e3)
    }

    /// Disk bytes per acknowledged record.
    pub fn disk_bytes_per_record(&self) -> Option<f64> {
        let disk = self.disk.as_ref()?;
        (self.acked_records > 0).then(|| disk.total as f64 / self.acked_records as f64)
    }

    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "protocol": format!("{:?}", self.protocol).to_lowercase(),
            "records_offered": self.records_offered,
            "batch": self.batch,
            "connections": self.connections,
            "rate": self.rate,
            "acked_records": self.acked_records,
            "acked_bytes": self.acked_bytes,
            "in_doubt": self.in_doubt,
            "status_429": self.status_429,
            "status_503": self.status_503,
            "failures": self.failures,
            "first_failure": self.first_failure,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "records_per_s": self.records_per_second(),
            "mb_per_s": self.mb_per_second(),
            "latency_ms": {
                "p50": self.latency_ms(0.5),
                "p99": self.latency_ms(0.99),
                "max": self.latency_ms(1.0),
            },
            "server_peak_rss_bytes": self.peak_rss,
            "server_peak_rss_anon_bytes": self.peak_rss_anon,
            "server_peak_rss_file_bytes": self.peak_rss_file,
            "server_cpu_s": self.cpu_seconds,
            "disk": self.disk.as_ref().map(|d| json!({
                "total_bytes": d.total,
                "bytes_per_record": self.disk_bytes_per_record(),
                "components": d.components.iter().map(|(name, bytes)| json!({
                    "name": name,
                    "bytes": bytes,
                    "bytes_per_record": *bytes as f64 / self.acked_records.max(1) as f64,
                })).collect::<Vec<_>>(),
            })),
            "verified": self.verified.as_ref().map(|v| json!({
                "total": v.total,
                "before": v.before,
                "samples": v.samples,
            })),
        })
    }

    /// The report as an aligned table.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut row = |name: &str, value: String| out.push_str(&format!("{name:<28} {value}\n"));
        let rate = self.rate.map_or_else(
            || "as fast as acknowledged".to_owned(),
            |r| format!("{r:.0} records/s offered"),
        );
        row(
            "load",
            format!(
                "{:?}, {} records in requests of {}, {} connections, {rate}",
                self.protocol, self.records_offered, self.batch, self.connections
            ),
        );
        row(
            "acknowledged",
            format!(
                "{} records, {:.1} MB in {:.2} s",
                self.acked_records,
                self.acked_bytes as f64 / 1e6,
                self.elapsed.as_secs_f64()
            ),
        );
        row(
            "rate",
            format!(
                "{:.1} k records/s, {:.1} MB/s",
                self.records_per_second() / 1e3,
                self.mb_per_second()
            ),
        );
        let ms = |q| self.latency_ms(q).map_or("-".into(), |v| format!("{v:.1}"));
        row(
            "ack latency ms",
            format!("p50 {}, p99 {}, max {}", ms(0.5), ms(0.99), ms(1.0)),
        );
        row(
            "429 / 503 / failed",
            format!(
                "{} / {} / {} (in doubt: {} records)",
                self.status_429, self.status_503, self.failures, self.in_doubt
            ),
        );
        if let Some(f) = &self.first_failure {
            row("first failure", f.clone());
        }
        let mib = |b: Option<u64>| {
            b.map_or("-".into(), |b| {
                format!("{:.0} MiB", b as f64 / (1 << 20) as f64)
            })
        };
        row(
            "server peak RSS",
            format!(
                "{} (VmHWM; sampled peaks: anonymous {}, mapped files {})",
                mib(self.peak_rss),
                mib(self.peak_rss_anon),
                mib(self.peak_rss_file)
            ),
        );
        row(
            "server CPU",
            self.cpu_seconds.map_or("-".into(), |s| {
                format!(
                    "{s:.1} s ({:.2} cores)",
                    s / self.elapsed.as_secs_f64().max(1e-9)
                )
            }),
        );
        if let Some(disk) = &self.disk {
            let per = |b: u64| b as f64 / self.acked_records.max(1) as f64;
            row(
                "disk after reopen",
                format!(
                    "{:.1} MB, {:.1} bytes/record ({:.3} × the request bytes)",
                    disk.total as f64 / 1e6,
                    per(disk.total),
                    disk.total as f64 / self.acked_bytes.max(1) as f64
                ),
            );
            for (name, bytes) in &disk.components {
                row(
                    &format!("  {name}"),
                    format!("{:.1} bytes/record", per(*bytes)),
                );
            }
        }
        if let Some(v) = &self.verified {
            row(
                "verified",
                format!(
                    "total {} (before {}, acknowledged {}); {} samples {}",
                    v.total,
                    v.before,
                    self.acked_records,
                    v.samples,
                    match self.protocol {
                        Protocol::Ndjson | Protocol::Bulk => "byte for byte",
                        Protocol::Otlp | Protocol::Loki | Protocol::Syslog => {
                            "found by their fields"
                        }
                    }
                ),
            );
        }
        out
    }
}
