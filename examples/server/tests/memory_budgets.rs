//! Memory is bounded by configuration: ingest requests in flight and live
//! tail each have a byte budget, past which the server sheds load (503 with
//! Retry-After, `lagged` events) instead of growing; the budgets show in
//! `--help` and `/metrics`. The peak RSS of the real binary under hostile
//! clients stays within twice the configured budgets.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{binary, Server};

const MIB: usize = 1 << 20;

/// An NDJSON body of `records` generator-like records (~300 bytes each).
fn body(records: usize) -> Vec<u8> {
    let mut body = String::new();
    for i in 0..records {
        body.push_str(&format!(
            r#"{{"timestamp":"2026-11-02T10:00:00Z","level":"info","message":"GET /api/v1/items/{i} answered 200 in 12 ms for a client of the load test","resourceId":"server-{}","traceId":"trace-{i}","metadata":{{"region":"eu-west-1","pod":"web-{}"}}}}"#,
            i % 97,
            i % 13
        ));
        body.push('\n');
    }
    body.into_bytes()
}

/// Peak resident set of process `pid`, bytes (`VmHWM`).
fn peak_rss(pid: u32) -> usize {
    let peak = logingest_benches::load::peak_rss(pid).expect("VmHWM in /proc/PID/status");
    usize::try_from(peak).expect("a peak that fits in memory")
}

/// A live-tail client that sends its request and then never reads.
fn stalled_tail(server: &Server) -> TcpStream {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET /api/tail?q= HTTP/1.1\r\nhost: {address}\r\naccept: text/event-stream\r\n\r\n"
    )
    .expect("send");
    stream
}

/// What one run of [`flood`] measured.
struct Flood {
    /// The sum of the memory budgets the server reports in `/metrics`.
    budgets: usize,
    peak: usize,
    /// Peaks of anonymous memory and of mapped files, sampled.
    anon: u64,
    file: u64,
    idle: usize,
    accepted: u64,
    refused: u64,
}

/// Sends 64 bodies of 4 MiB, from `clients` clients at once (each sending
/// its share one after the other, retrying refusals like a shipper), to a
/// server with small budgets, two live-tail clients that never read and
/// one that does. Checks that nothing acknowledged is lost and that the
/// reading subscriber saw or was told of every record.
fn flood(clients: usize) -> Flood {
    let args = [
        "--ingest-memory-bytes",
        "67108864",
        "--tail-memory-bytes",
        "16777216",
        "--index-writer-bytes",
        "33554432",
        "--block-cache-bytes",
        "8388608",
        "--max-body-bytes",
        "5000000",
    ];
    let server = Arc::new(Server::start_with(&args));
    let idle = peak_rss(server.pid());
    let budgets = budgets(&server);
    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (pid, running) = (server.pid(), Arc::clone(&running));
        std::thread::spawn(move || logingest_benches::load::sample_rss(Some(pid), &running))
    };
    let stalled: Vec<TcpStream> = (0..2).map(|_| stalled_tail(&server)).collect();
    let reader = server.sse("/api/tail?q=", None).expect("tail");

    let payload = Arc::new(body(17_800));
    assert!(payload.len() > 4 * MIB, "{} bytes", payload.len());
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (server, payload) = (Arc::clone(&server), Arc::clone(&payload));
            let (accepted, refused) = (Arc::clone(&accepted), Arc::clone(&refused));
            std::thread::spawn(move || {
                for _ in 0..64 / clients {
                    send_until_accepted(&server, &payload, &accepted, &refused);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("client thread");
    }
    let peak = peak_rss(server.pid());
    running.store(false, Ordering::Relaxed);
    let (anon, file) = sampler.join().expect("sampler");
    let (accepted, refused) = (
        accepted.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );

    // Nothing acknowledged was lost, and the reading subscriber was told
    // about every record: it saw it or was told it missed it.
    assert_eq!(server.post("/api/flush", b"", &[], None).status, 200);
    assert_eq!(server.count(""), accepted);
    let (mut seen, mut missed) = (0u64, 0u64);
    while seen + missed < accepted {
        let Some(event) = reader.next(Duration::from_secs(60)) else {
            panic!("tail ended after {seen} records and {missed} missed of {accepted}");
        };
        match event.event.as_str() {
            "" => seen += 1,
            "lagged" => {
                let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                missed += data["missed_records"].as_u64().expect("missed_records");
            }
            "ready" => {}
            other => panic!("unexpected event {other}: {}", event.data),
        }
    }
    assert_eq!(seen + missed, accepted, "seen {seen}, missed {missed}");
    drop(stalled);
    Flood {
        budgets,
        peak,
        anon,
        file,
        idle,
        accepted,
        refused,
    }
}

/// The sum of `logingest_memory_budget_bytes` over its budgets.
fn budgets(server: &Server) -> usize {
    let metrics = server.get("/metrics", None).text;
    let budgets: Vec<(&str, usize)> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("logingest_memory_budget_bytes{budget=\""))
        .map(|l| {
            let (name, value) = l.split_once("\"} ").expect("budget=\"NAME\"} VALUE");
            let value = value.parse().unwrap_or_else(|_| panic!("budget `{l}`"));
            (name, value)
        })
        .collect();
    // The server's own budgets, and at least one of the backend's.
    let names: Vec<&str> = budgets.iter().map(|&(name, _)| name).collect();
    assert!(
        names.contains(&"ingest_requests") && names.contains(&"tail") && names.len() >= 3,
        "budgets in /metrics:\n{metrics}"
    );
    budgets.iter().map(|&(_, value)| value).sum()
}

/// Posts `payload` until it is accepted; refusals must be 503 with
/// Retry-After naming the budget.
fn send_until_accepted(server: &Server, payload: &[u8], accepted: &AtomicU64, refused: &AtomicU64) {
    for _attempt in 0..240 {
        let answer = server.post_reading_early(
            "/logs",
            payload,
            &[("content-type", "application/x-ndjson")],
        );
        match answer.status {
            200 => {
                let n = answer.json()["accepted"].as_u64().expect("accepted");
                accepted.fetch_add(n, Ordering::Relaxed);
                return;
            }
            503 => {
                assert_eq!(answer.retry_after.as_deref(), Some("1"), "{answer:?}");
                let message = answer.json()["error"].as_str().unwrap().to_owned();
                assert!(
                    message.contains("server busy") && message.contains("--ingest-memory-bytes"),
                    "{message}"
                );
                refused.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(250));
            }
            other => panic!("status {other}: {}", answer.text),
        }
    }
    panic!("a body was refused 240 times");
}

#[test]
fn peak_rss_does_not_grow_with_the_clients_sending_at_once() {
    // The same 64 bodies, from 8 clients and then from 64 at once: before
    // the budgets, memory grew with the bytes in flight (64 clients sending
    // 4 MiB bodies peaked at 1.5 GB, ~6 times what they sent at once).
    let few = flood(8);
    let many = flood(64);
    for (clients, run) in [(8, &few), (64, &many)] {
        eprintln!(
            "{clients} clients: budgets {} MiB, peak RSS {} MiB (anonymous {} MiB, files {} MiB; idle {} MiB), accepted {} records, refused {} requests",
            run.budgets / MIB,
            run.peak / MIB,
            run.anon / MIB as u64,
            run.file / MIB as u64,
            run.idle / MIB,
            run.accepted,
            run.refused
        );
    }
    assert_eq!(
        few.accepted, many.accepted,
        "every body was accepted in both runs"
    );
    assert!(
        many.refused > 0,
        "the ingest budget never refused a request"
    );
    // The hardening target: whatever the clients do, the process stays
    // within twice the memory it was configured to use.
    for (clients, run) in [(8, &few), (64, &many)] {
        assert!(
            run.peak <= 2 * run.budgets,
            "{clients} clients: peak RSS {} MiB, more than twice the budgets of {} MiB",
            run.peak / MIB,
            run.budgets / MIB
        );
    }
    assert!(
        many.peak * 2 <= few.peak * 3,
        "64 clients peaked at {} bytes, more than 1.5 times the {} of 8 clients",
        many.peak,
        few.peak
    );
}

#[test]
fn records_past_the_tail_budget_are_reported_as_missed() {
    // A budget smaller than one request's records: none of them fit.
    let server = Server::start_with(&["--tail-memory-bytes", "65536"]);
    let tail = server.sse("/api/tail?q=", None).expect("tail");
    assert_eq!(tail.next(Duration::from_secs(30)).unwrap().event, "ready");
    let small = body(20);
    let large = body(2_000);
    server.ingest(&small);
    server.ingest(&large);
    server.ingest(&small);
    let mut seen = 0;
    let mut missed = 0;
    while seen + missed < 2_040 {
        let event = tail.next(Duration::from_secs(30)).expect("an event");
        match event.event.as_str() {
            "" => seen += 1,
            "lagged" => {
                let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
                missed += data["missed_records"].as_u64().expect("missed_records");
            }
            other => panic!("unexpected event {other}: {}", event.data),
        }
    }
    // The small requests fit; most of the large one cannot (its batches
    // are larger than the budget), and every record is accounted for.
    assert_eq!(seen + missed, 2_040, "seen {seen}, missed {missed}");
    assert!(missed >= 1_000, "seen {seen}, missed {missed}");
    assert_eq!(
        server.count(""),
        2_040,
        "tail budgets never drop stored records"
    );
}

#[test]
fn a_request_larger_than_the_whole_ingest_budget_is_413_and_startup_checks_budgets() {
    let server = Server::start_with(&[
        "--ingest-memory-bytes",
        "1048576",
        "--max-body-bytes",
        "1048576",
    ]);
    // ~900 KB of JSON needs about three times that once parsed.
    let answer = server.post_reading_early("/logs", &body(3_000), &[]);
    assert_eq!(answer.status, 413, "{}", answer.text);
    let message = answer.json()["error"].as_str().unwrap().to_owned();
    assert!(message.contains("--ingest-memory-bytes"), "{message}");
    assert_eq!(server.count(""), 0);
    // A small request still goes through: nothing stayed reserved.
    server.ingest(&body(10));
    assert_eq!(server.count(""), 10);

    let out = std::process::Command::new(binary())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--ingest-memory-bytes",
            "1000",
            "--max-body-bytes",
            "2000",
        ])
        .arg("--data")
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--ingest-memory-bytes"), "{stderr}");
}

#[test]
fn budgets_show_in_help_and_metrics() {
    let help = std::process::Command::new(binary())
        .args(["serve", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--ingest-memory-bytes",
        "--tail-memory-bytes",
        "--index-writer-bytes",
        "--block-cache-bytes",
        "--queue-bytes",
    ] {
        assert!(help.contains(flag), "--help does not show {flag}");
    }
    let server = Server::start_with(&["--ingest-memory-bytes", "100000000"]);
    let metrics = server.get("/metrics", None).text;
    for line in [
        "logingest_memory_budget_bytes{budget=\"ingest_requests\"} 100000000",
        "logingest_memory_budget_bytes{budget=\"tail\"} 67108864",
        "logingest_memory_used_bytes{budget=\"ingest_requests\"} 0",
    ] {
        assert!(
            metrics.contains(line),
            "/metrics lacks `{line}`:\n{metrics}"
        );
    }
}

#[test]
fn a_body_read_slowly_holds_its_reservation_and_gives_it_back() {
    // A client that declares a large body and sends it slowly holds its
    // room in the budget: a second one that does not fit is refused at once.
    let server = Server::start_with(&[
        "--ingest-memory-bytes",
        "2000000",
        "--max-body-bytes",
        "1500000",
        "--when-full",
        "reject",
    ]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).expect("connect");
    write!(
        slow,
        "POST /logs HTTP/1.1\r\nhost: x\r\ncontent-length: 1400000\r\n\r\n{{\"message\":\"a\"}}\n"
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let answer = server.post_reading_early("/logs", &body(3_000), &[]);
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    assert!(
        server.metric("logingest_memory_used_bytes{budget=\"ingest_requests\"}") >= 1_400_000.0
    );
    // The slow client goes away: its room comes back.
    drop(slow);
    let mut freed = false;
    for _ in 0..100 {
        if server.metric("logingest_memory_used_bytes{budget=\"ingest_requests\"}") == 0.0 {
            freed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(freed, "the slow body's reservation was not given back");
    server.ingest(&body(10));
}
