//! Crash tests: nodes die, and every acknowledged record is still searchable
//! exactly once after another node takes over.
//!
//! - `kill_9_at_random_moments`: a child process (this test binary run again
//!   with `--exact child_ingest`) ingests through an `Ingester` from three
//!   threads and is killed with SIGKILL at seeded random moments: during
//!   open, COPY, commit, delivery to the index, or the outbox sweep. After
//!   each kill a new backend opens the same tenant, refreshes, and the whole
//!   tenant is checked against the ledger of what the children were told.
//! - `abort_after_commit_is_delivered_by_another_node`: the failpoint stops a
//!   child right after a PG commit, before the batch reaches the index; a
//!   new node must find the outbox row and deliver it.
//!
//! The child prints `OPEN` once the backend is open, `SUBMIT <req> <n>` before
//! it submits a request of `n` records and `ACK <req> <n> <first_seq>` after
//! `wait_durable` returned `Ok`. After every kill:
//!
//! - every acknowledged request is present with all its records, exactly
//!   once, at the sequence numbers it was acknowledged with, and searchable;
//! - every other request is wholly present or wholly absent, never partial;
//! - nothing is present that was never submitted, no sequence number twice;
//! - PostgreSQL (`stats().records`) and the index (`*` total) agree.
//!
//! `LOGINGEST_CRASH_CYCLES` (default 10) and `LOGINGEST_CRASH_SEED` tune a run.
#![cfg(unix)]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logingest_core::query::parse_query;
use logingest_core::testkit::crash::{self, env_u64, exit_with_parent, say, spawn_child};
use logingest_core::{
    parse_records, Backend, Order, ParseOptions, Record, SearchRequest, Timestamp,
};
use logingest_pg::{PgBackend, PgConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD_TENANT: &str = "LOGINGEST_CRASH_CHILD_TENANT";
const CHILD_CYCLE: &str = "LOGINGEST_CRASH_CHILD_CYCLE";
const CHILD_SEED: &str = "LOGINGEST_CRASH_CHILD_SEED";
const ABORT_TENANT: &str = "LOGINGEST_CRASH_ABORT_TENANT";

/// The child's configuration: the parent's tenant, default options, and
/// PG sessions named after the tenant (see [`wait_for_sessions_to_end`]).
fn child_config(tenant: &str) -> PgConfig {
    let (pg, es) = common::services().expect("the parent checked the services");
    let separator = if pg.contains('?') { '&' } else { '?' };
    let pg = format!("{pg}{separator}application_name={}", session_name(tenant));
    PgConfig::new(pg, es).schema(tenant).index_prefix(tenant)
}

fn session_name(tenant: &str) -> String {
    format!("crash_{tenant}")
}

/// Waits until PostgreSQL has ended every session of the killed child. A
/// COMMIT the child sent just before it died may still complete on the
/// server after the kill: the batch is then committed though never
/// acknowledged, which is allowed, but the check must start after it.
fn wait_for_sessions_to_end(tenant: &str) {
    let (pg, _) = common::services().expect("services");
    let mut client = postgres::Client::connect(&pg, postgres::NoTls).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                &[&session_name(tenant)],
            )
            .expect("pg_stat_activity")
            .get(0);
        if n == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the killed child's sessions did not end"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The child: ingests from three threads until killed.
#[test]
#[ignore = "a child process of the crash tests, run by them"]
fn child_ingest() {
    let Ok(tenant) = std::env::var(CHILD_TENANT) else {
        return;
    };
    exit_with_parent();
    let cycle = env_u64(CHILD_CYCLE, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(env_u64(CHILD_SEED, 0));
    let backend = PgBackend::open(child_config(&tenant)).expect("child open");
    say("OPEN");
    crash::ingest_until_killed(Arc::new(backend), cycle, &mut rng, request);
}

/// The records of request `req`: `metadata.req` names it, `metadata.i` the
/// record's place in it; half carry the current time, half get the receive
/// time; times spread over two days so batches span daily partitions.
fn request(req: &str, count: usize, rng: &mut ChaCha8Rng) -> Vec<Record> {
    let mut ndjson = String::new();
    for i in 0..count {
        let level = ["info", "warn", "error"][rng.random_range(0..3)];
        let mut record = serde_json::json!({
            "level": level,
            "message": format!("crash record {req} n{i} {}", "x".repeat(rng.random_range(0..100))),
            "metadata": {"req": req, "i": i},
        });
        if rng.random_bool(0.5) {
            let back = rng.random_range(0..2) * 86_400_000_000_000;
            record["timestamp"] = Timestamp(Timestamp::now().0 - back).to_rfc3339().into();
        }
        ndjson.push_str(&record.to_string());
        ndjson.push('\n');
    }
    parse_records(ndjson.as_bytes(), &ParseOptions::default()).expect("valid records")
}

#[derive(Default)]
struct Run {
    ledger: crash::Ledger,
    killed_before_open: u64,
    slowest_open: Duration,
    checking: Duration,
    /// Of the last check: acknowledged, unacknowledged present and absent
    /// requests, records.
    last: [u64; 4],
}

#[test]
fn kill_9_at_random_moments() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let cycles = env_u64("LOGINGEST_CRASH_CYCLES", 10);
    let seed = env_u64("LOGINGEST_CRASH_SEED", 0x9e_57);
    println!("crash test: {cycles} cycles, LOGINGEST_CRASH_SEED={seed}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let tenant = common::Tenant::new(&pg, &es);
    let started = Instant::now();
    let mut run = Run::default();
    for cycle in 0..cycles {
        let after = if rng.random_bool(0.15) {
            rng.random_range(0..60)
        } else {
            rng.random_range(300..1500)
        };
        let env = [
            (CHILD_TENANT, tenant.config.schema.clone()),
            (CHILD_CYCLE, cycle.to_string()),
            (CHILD_SEED, rng.random::<u64>().to_string()),
        ];
        run.kill_child(&env, Duration::from_millis(after), cycle);
        wait_for_sessions_to_end(&tenant.config.schema);
        let checking = Instant::now();
        let backend = tenant.open();
        backend.refresh().expect("refresh after kill");
        run.check(&backend, cycle);
        run.checking += checking.elapsed();
    }
    let [acked, unacked_present, unacked_absent, records] = run.last;
    println!(
        "crash test: {cycles} kills in {:.1?}: {acked} requests acknowledged, {unacked_present} \
         unacknowledged present, {unacked_absent} absent; {records} records; {} kills before \
         the child opened (slowest open {:.1?}); checking took {:.1?}",
        started.elapsed(),
        run.killed_before_open,
        run.slowest_open,
        run.checking,
    );
}

impl Run {
    /// Runs an ingesting child for `after`, kills it and records its lines.
    fn kill_child(&mut self, env: &[(&str, String)], after: Duration, cycle: u64) {
        let mut child = spawn_child("child_ingest", env);
        let stdout = child.stdout.take().expect("piped");
        let spawned = Instant::now();
        let reader = std::thread::spawn(move || {
            let (mut lines, mut opened) = (Vec::new(), None);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.ends_with("OPEN") {
                    opened = Some(spawned.elapsed());
                }
                lines.push(line);
            }
            (lines, opened)
        });
        std::thread::sleep(after);
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        let (lines, opened) = reader.join().expect("reader");
        assert_eq!(status.signal(), Some(9), "child exited by itself: {status}");
        match opened {
            Some(took) => self.slowest_open = self.slowest_open.max(took),
            None => self.killed_before_open += 1,
        }
        for line in &lines {
            self.ledger.note(cycle, line);
        }
    }

    /// Checks the tenant against the ledger of every cycle so far.
    fn check(&mut self, backend: &PgBackend, cycle: u64) {
        let stored = backend.stats().expect("stats").records;
        let present = scan(backend, cycle);
        assert_eq!(
            present.values().map(Vec::len).sum::<usize>() as u64,
            stored,
            "cycle {cycle}: PG and index disagree"
        );
        let mut last = [0, 0, 0, stored];
        for (req, seqs) in &present {
            let entry = self
                .ledger
                .entries
                .get(req)
                .unwrap_or_else(|| panic!("cycle {cycle}: {req} present but never submitted"));
            assert_eq!(
                seqs.len() as u64,
                entry.count,
                "cycle {cycle}: {req} partially present"
            );
            if let Some(first) = entry.acked {
                let want: Vec<u64> = (first..first + entry.count).collect();
                assert_eq!(seqs, &want, "cycle {cycle}: {req} sequence numbers");
            }
        }
        for (req, entry) in &self.ledger.entries {
            match (entry.acked, present.contains_key(req)) {
                (Some(_), true) => last[0] += 1,
                (Some(_), false) => panic!("cycle {cycle}: acknowledged {req} lost"),
                (None, true) => last[1] += 1,
                (None, false) => last[2] += 1,
            }
        }
        // Searchable by keyword and by message token: this cycle's requests.
        for (req, entry) in self
            .ledger
            .entries
            .iter()
            .filter(|(r, e)| e.cycle == cycle && present.contains_key(*r))
        {
            for query in [format!("metadata.req:{req}"), req.clone()] {
                let request = SearchRequest::new(parse_query(&query).expect("query")).limit(1);
                let total = backend.search(&request).expect("search").total;
                assert_eq!(total, entry.count, "cycle {cycle}: `{query}`");
            }
        }
        self.last = last;
    }
}

/// Pages through every record: request → its sequence numbers (sorted, in
/// record order `metadata.i`); panics on a sequence number seen twice or a
/// total that disagrees with the pages.
fn scan(backend: &PgBackend, cycle: u64) -> HashMap<String, Vec<u64>> {
    let mut seen = HashSet::new();
    let mut by_req: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    let mut cursor = None;
    let mut total = None;
    loop {
        let request = SearchRequest::new(parse_query("*").expect("query"))
            .order(Order::Asc)
            .limit(SearchRequest::MAX_LIMIT)
            .cursor(cursor);
        let page = backend.search(&request).expect("search");
        assert_eq!(
            *total.get_or_insert(page.total),
            page.total,
            "cycle {cycle}: total changed"
        );
        for hit in &page.hits {
            assert!(seen.insert(hit.seq), "cycle {cycle}: seq {} twice", hit.seq);
            let v: serde_json::Value = serde_json::from_str(&hit.source).expect("source");
            let req = v["metadata"]["req"].as_str().expect("req").to_owned();
            let i = v["metadata"]["i"].as_u64().expect("i");
            by_req.entry(req).or_default().push((i, hit.seq));
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(
        Some(seen.len() as u64),
        total,
        "cycle {cycle}: pages miss records"
    );
    by_req
        .into_iter()
        .map(|(req, mut v)| {
            v.sort_unstable();
            let seqs: Vec<u64> = v.iter().map(|&(_, s)| s).collect();
            (req, seqs)
        })
        .collect()
}

/// The child of the fault-injection test: writes three batches normally,
/// then a fourth with the abort-after-commit failpoint on.
#[test]
#[ignore = "a child process of the crash tests, run by them"]
fn child_abort_after_commit() {
    let Ok(tenant) = std::env::var(ABORT_TENANT) else {
        return;
    };
    exit_with_parent();
    let config = child_config(&tenant).indexer_poll_interval(None);
    let backend = PgBackend::open(config.clone()).expect("child open");
    for b in 0..3 {
        let records = request(&format!("ok{b}"), 50, &mut ChaCha8Rng::seed_from_u64(b));
        let ack = backend.write_batch(&records).expect("write");
        say(&format!("ACK ok{b} 50 {}", ack.first_seq));
    }
    let mut failing = config;
    failing.abort_after_commit = true;
    let node = PgBackend::open(failing).expect("second handle");
    say("COMMITTING last");
    let records = request("last", 70, &mut ChaCha8Rng::seed_from_u64(9));
    let _ = node.write_batch(&records);
    say("NOT REACHED");
}

#[test]
fn abort_after_commit_is_delivered_by_another_node() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let tenant = common::Tenant::new(&pg, &es);
    let mut child = spawn_child(
        "child_abort_after_commit",
        &[(ABORT_TENANT, tenant.config.schema.clone())],
    );
    let stdout = child.stdout.take().expect("piped");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .collect();
    let status = child.wait().expect("wait");
    assert_eq!(
        status.signal(),
        Some(6),
        "the failpoint must abort the child: {status} {lines:?}"
    );
    assert!(lines.iter().any(|l| l == "COMMITTING last"), "{lines:?}");
    assert!(!lines.iter().any(|l| l == "NOT REACHED"), "{lines:?}");
    let acks: Vec<(String, u64)> = lines
        .iter()
        .filter_map(|l| match l.split(' ').collect::<Vec<_>>()[..] {
            ["ACK", req, _, first] => Some((req.to_owned(), first.parse().expect("seq"))),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), 3);

    // A node that neither sweeps nor refreshes: the aborted batch is in PG
    // (the commit happened) but nobody delivered it.
    let passive = PgBackend::open(tenant.config.clone().indexer_poll_interval(None)).expect("open");
    assert_eq!(
        passive.stats().expect("stats").records,
        220,
        "all four batches are committed"
    );
    let last = SearchRequest::new(parse_query("metadata.req:last").expect("query"));
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        passive.search(&last).expect("search").total,
        0,
        "nobody delivered the aborted batch"
    );
    drop(passive);

    // A node with the background sweep delivers it without being asked.
    let node = tenant.open();
    let deadline = Instant::now() + Duration::from_secs(10);
    while node.search(&last).expect("search").total < 70 {
        assert!(
            Instant::now() < deadline,
            "the sweep of a new node did not deliver the outbox"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    node.refresh().expect("refresh");
    let present = scan(&node, 0);
    assert_eq!(present.len(), 4, "{:?}", present.keys());
    for (req, first) in &acks {
        let want: Vec<u64> = (*first..first + 50).collect();
        assert_eq!(
            present[req], want,
            "{req}: exactly once at its acknowledged sequence numbers"
        );
    }
    assert_eq!(present["last"].len(), 70, "the aborted batch exactly once");
    let all = node
        .search(&SearchRequest::new(parse_query("*").expect("query")))
        .expect("search");
    assert_eq!(all.total, 220);
}
