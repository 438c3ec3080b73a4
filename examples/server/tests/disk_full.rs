//! The real server (always on the embedded backend) on a small tmpfs that
//! fills up (`docs/hardening.md`, "Disk full"): every answer says "disk full" (never a backend's own
//! text, never "index writer was killed"), acknowledged records stay
//! searchable, `/healthz` reports the degraded state, and once the ballast
//! is removed writes succeed again and health is ok, without a restart.
//! Records are counted batch by batch: nothing acknowledged may be lost.

mod common;

use common::Server;
use logingest::testkit::small_disk::SmallDisk;

/// Records per batch; each batch has its own `traceId`.
const BATCH: u64 = 500;

/// Batch `name` as NDJSON, with many distinct terms so the index needs room.
fn batch(name: &str) -> Vec<u8> {
    (0..BATCH)
        .map(|i| {
            let words: Vec<String> = (0..12).map(|k| format!("w{name}x{i}y{k}")).collect();
            format!(
                "{{\"message\":\"{name} {}\",\"traceId\":\"{name}\"}}\n",
                words.join(" ")
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// `POST /logs` of batch `name`, waiting for visibility or not.
fn send(server: &Server, name: &str, wait: bool) -> common::Answer {
    let path = if wait {
        "/logs?refresh=wait_for"
    } else {
        "/logs"
    };
    server.post(
        path,
        &batch(name),
        &[("Content-Type", "application/x-ndjson")],
        None,
    )
}

/// Asserts a 503 that says disk full, with `Retry-After`.
fn assert_disk_full(answer: &common::Answer, what: &str) {
    assert_eq!(answer.status, 503, "{what}: {}", answer.text);
    let error = answer.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(error.starts_with("disk full"), "{what}: {error}");
    assert!(
        !error.contains("killed") && !error.contains("database or disk"),
        "{what}: {error}"
    );
    assert!(answer.retry_after.is_some(), "{what}: no Retry-After");
}

/// Asserts every batch of `names` is found whole.
fn assert_found(server: &Server, names: &[&str]) {
    for name in names {
        assert_eq!(
            server.count(&format!("traceId:{name}")),
            BATCH,
            "batch {name}"
        );
    }
}

/// `/healthz` until it is ok (the backend re-checks on each call).
fn wait_healthy(server: &Server) -> common::Answer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let answer = server.get("/healthz", None);
        if answer.status == 200 || std::time::Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Starts a server whose refresher never commits by itself within a test,
/// so a batch sent without `refresh=wait_for` is stored but not yet indexed.
fn start(disk: &SmallDisk) -> Server {
    Server::start_in(&disk.path().join("data"), &["--refresh-ms", "600000"])
}

#[test]
fn a_full_disk_is_reported_and_recovered_from_without_restart() {
    let disk = SmallDisk::mount(16 << 20);
    let server = start(&disk);
    for name in ["a", "b", "c"] {
        assert_eq!(send(&server, name, true).status, 200, "batch {name}");
    }
    // Acknowledged (durable) but not yet searchable when the disk fills.
    assert_eq!(send(&server, "d", false).status, 200);
    disk.fill();

    assert_disk_full(&server.post("/api/flush", b"", &[], None), "flush");
    let health = server.get("/healthz", None);
    assert_eq!(health.status, 503, "healthz: {}", health.text);
    assert_eq!(health.json()["status"], "degraded");
    let reason = health.json()["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(reason.starts_with("disk full"), "healthz reason: {reason}");
    assert_eq!(
        health.json()["records"],
        4 * BATCH,
        "nothing acknowledged lost"
    );

    let refused = send(&server, "e", true);
    assert_disk_full(&refused, "ingest");
    assert!(
        refused.text.contains("nothing of this request was stored"),
        "{}",
        refused.text
    );
    assert_found(&server, &["a", "b", "c"]);
    assert_eq!(server.count("traceId:e"), 0);

    disk.free();
    let health = wait_healthy(&server);
    assert_eq!(
        health.status, 200,
        "healthz after freeing space: {}",
        health.text
    );
    assert_eq!(health.json()["status"], "ok");
    assert_eq!(
        send(&server, "f", true).status,
        200,
        "write after freeing space"
    );
    assert_eq!(server.post("/api/flush", b"", &[], None).status, 200);
    assert_found(&server, &["a", "b", "c", "d", "f"]);
    assert_eq!(
        server.count("traceId:e"),
        0,
        "the refused batch was not stored"
    );
    assert_eq!(server.count("*"), 5 * BATCH);
}

#[test]
fn a_restart_on_a_full_disk_answers_searches_and_recovers() {
    let disk = SmallDisk::mount(16 << 20);
    let mut server = start(&disk);
    assert_eq!(send(&server, "a", true).status, 200);
    assert_eq!(send(&server, "b", false).status, 200);
    disk.fill();
    server.terminate();

    server.restart();
    let health = server.get("/healthz", None);
    assert_eq!(health.status, 503, "healthz after restart: {}", health.text);
    assert!(
        health.json()["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("disk full"),
        "{}",
        health.text
    );
    assert_found(&server, &["a"]);
    assert_disk_full(&send(&server, "c", true), "ingest after restart");

    disk.free();
    assert_eq!(wait_healthy(&server).status, 200);
    assert_eq!(send(&server, "c", true).status, 200);
    assert_found(&server, &["a", "b", "c"]);
    assert_eq!(server.count("*"), 3 * BATCH);
}
