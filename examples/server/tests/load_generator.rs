//! The HTTP load generator of `benches/` (`logingest_benches::load`, the
//! tool behind the ingest figures of docs/performance.md) run briefly
//! against the real server binary: every record it saw acknowledged must be
//! searchable, and its report must carry every figure. No wall-clock
//! assertion: these machines are too noisy for one.

mod common;

use common::{binary, Server};
use logingest_benches::load::{self, LoadConfig, Protocol, Report, Target};

fn config(target: Target, protocol: Protocol) -> LoadConfig {
    LoadConfig {
        target,
        records: 12_000,
        batch: 1_000,
        connections: 4,
        rate: None,
        protocol,
        seed: 7,
        key: None,
        verify: true,
        reopen: true,
        progress: false,
        prepare: false,
        syslog: None,
    }
}

fn check_common(report: &Report, records: u64) {
    assert_eq!(report.acked_records, records, "{}", report.to_text());
    assert_eq!(report.failures, 0, "{}", report.to_text());
    assert_eq!(report.in_doubt, 0);
    let verified = report.verified.as_ref().expect("verified");
    assert_eq!(verified.total, records);
    assert!(verified.samples >= 1, "{}", report.to_text());
    assert_eq!(report.latencies.len() as u64, records.div_ceil(1_000));
    assert!(report.records_per_second() > 0.0);
    assert!(report.latency_ms(0.99).is_some());
    assert!(report.acked_bytes > records * 100, "{}", report.to_text());
}

/// A server the tool starts itself: RSS, CPU and the disk after reopening.
#[test]
fn load_generator_drives_a_server_it_starts_and_measures_its_disk() {
    if std::env::var("LOGINGEST_TEST_BACKEND").as_deref() == Ok("pg") {
        // The tool starts an embedded server here; the test below covers pg.
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let target = Target::Spawn {
        binary: binary(),
        data: Some(dir.path().join("data")),
        args: vec![],
    };
    let report = load::run(&config(target, Protocol::Ndjson)).expect("load run");
    check_common(&report, 12_000);
    assert!(
        report.peak_rss.is_some_and(|b| b > 1 << 20),
        "{}",
        report.to_text()
    );
    assert!(
        report.cpu_seconds.is_some_and(|s| s > 0.0),
        "{}",
        report.to_text()
    );
    let disk = report.disk.as_ref().expect("disk figures");
    let sum: u64 = disk.components.iter().map(|(_, b)| b).sum();
    assert_eq!(sum, disk.total);
    assert!(
        disk.components.iter().any(|(name, _)| name == "sqlite"),
        "{:?}",
        disk.components
    );
    let json = report.to_json();
    assert_eq!(json["acked_records"], 12_000);
    assert!(json["disk"]["bytes_per_record"].as_f64().unwrap() > 0.0);
}

/// A running server (either backend) given by URL, over `_bulk`, OTLP,
/// Loki and syslog too (their samples are found by their fields: the server writes
/// their text).
#[test]
fn load_generator_drives_a_running_server_over_every_protocol() {
    let server = Server::start_with(&["--syslog-tcp", "127.0.0.1:0"]);
    let runs = [
        (Protocol::Ndjson, 12_000),
        (Protocol::Bulk, 24_000),
        (Protocol::Otlp, 36_000),
        (Protocol::Loki, 48_000),
        (Protocol::Syslog, 60_000),
    ];
    for (protocol, total) in runs {
        let target = Target::Url {
            url: server.url.clone(),
            pid: Some(server.pid()),
        };
        let mut config = config(target, protocol);
        // The second run adds to the first one's records.
        config.seed = total;
        // Bodies made ahead of the clock or as they are sent: the same records.
        config.prepare = matches!(protocol, Protocol::Bulk | Protocol::Loki);
        config.syslog = Some(server.syslog("tcp"));
        let report = load::run(&config).expect("load run");
        assert_eq!(report.acked_records, 12_000, "{}", report.to_text());
        assert_eq!(report.failures, 0, "{}", report.to_text());
        let verified = report.verified.as_ref().unwrap();
        assert_eq!(verified.total, total);
        assert!(verified.samples > 0, "{}", report.to_text());
        assert!(report.disk.is_none(), "no disk figures for a URL target");
        assert!(report.peak_rss.is_some());
    }
}
