//! Crash test: a child process ingests through the library and is killed with
//! SIGKILL at random moments; after a kill the directory is reopened (which
//! runs recovery) and checked against a ledger of what the child was told.
//!
//! The child is this test binary run again with `--exact child_ingest`: the
//! `child_*` tests do nothing unless their environment variable names a
//! directory. The child prints `OPEN` once the backend is open, `SUBMIT <req>
//! <n>` before it submits a request of `n` records and `ACK <req> <n>
//! <first_seq>` after `wait_durable` returned `Ok`. After every kill:
//!
//! - every acknowledged request is present with all its records, exactly once,
//!   at the sequence numbers it was acknowledged with, and searchable;
//! - every other request is wholly present or wholly absent, never partial;
//! - nothing is present that was never submitted, no `spanId` appears twice;
//! - SQLite (`stats().records`) and the index (`*` total) agree, and the index
//!   has each record at its original time (also after re-indexing).
//!
//! One cycle in five skips the reopen, so the next child runs the recovery
//! itself (and is more likely to be killed during it); the check after the
//! following cycle covers both. Data accumulates in one directory.
//!
//! `LOGINGEST_CRASH_CYCLES` (default 20) and `LOGINGEST_CRASH_SEED` tune a run.
//!
//! A second run (`kill_9_during_merges_and_retention`) kills children that,
//! besides ingesting, keep the record store busy: blocks of 32 records
//! merged by a thread calling the store's upkeep every 2 ms, a dictionary
//! set trained after 400 records
//! and blocks rewritten with it, and a thread running retention every 15 ms
//! that deletes the requests filed in 2001 (a quarter of them, chosen by
//! name). After each kill the same checks hold, except that an old request,
//! acknowledged or not, may be gone, wholly. `LOGINGEST_CRASH_UPKEEP_CYCLES`
//! (default 10) tunes it.
#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logingest_core::query::parse_query;
use logingest_core::testkit::crash::{self, env_u64, exit_with_parent, say, spawn_child};
use logingest_core::{
    parse_records, Backend, FacetRequest, Order, ParseOptions, SearchRequest, TimeRange, Timestamp,
};
use logingest_tantivy::{TantivyBackend, TantivyConfig};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHILD_DIR: &str = "LOGINGEST_CRASH_CHILD_DIR";
const CHILD_CYCLE: &str = "LOGINGEST_CRASH_CHILD_CYCLE";
const CHILD_SEED: &str = "LOGINGEST_CRASH_CHILD_SEED";
const HOLD_DIR: &str = "LOGINGEST_CRASH_HOLD_DIR";
const CHILD_UPKEEP: &str = "LOGINGEST_CRASH_CHILD_UPKEEP";

/// Retention in the upkeep run deletes everything before this.
const OLD_CUTOFF: Timestamp = Timestamp(1_009_843_200_000_000_000); // 2002-01-01

/// Whether request `req` is filed in 2001 (deleted by the upkeep run's
/// retention): a quarter of the names, the same in parent and child.
fn is_old(req: &str) -> bool {
    req.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        .is_multiple_of(4)
}

/// The store settings of the upkeep run: everything small and frequent.
/// The child runs the upkeep itself (and says what each pass did), so the
/// backend's own upkeep thread is off.
fn upkeep_config() -> TantivyConfig {
    TantivyConfig::default()
        .block_records(32)
        .dictionary_records(400)
        .refresh_interval(Some(Duration::from_millis(5)))
        .upkeep_interval(None)
}

/// The child: ingests from three threads until killed.
#[test]
#[ignore = "a child process of the crash tests, run by them"]
fn child_ingest() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    exit_with_parent();
    let cycle = env_u64(CHILD_CYCLE, 0);
    let mut rng = ChaCha8Rng::seed_from_u64(env_u64(CHILD_SEED, 0));
    if std::env::var_os(CHILD_UPKEEP).is_some() {
        let backend = Arc::new(TantivyBackend::open(&dir, upkeep_config()).expect("child open"));
        say("OPEN");
        let upkeep = Arc::clone(&backend);
        std::thread::spawn(move || loop {
            match upkeep.maintain_store() {
                Ok((merged, trained)) if merged > 0 || trained => {
                    say(&format!("UPKEEP {merged} {trained}"))
                }
                Ok(_) => {}
                Err(e) => say(&format!("ERR upkeep: {e}")),
            }
            std::thread::sleep(Duration::from_millis(2));
        });
        let retention = Arc::clone(&backend);
        std::thread::spawn(move || loop {
            match retention.delete_older_than(OLD_CUTOFF) {
                Ok(0) => {}
                Ok(n) => say(&format!("RETENTION {n}")),
                Err(e) => say(&format!("ERR retention: {e}")),
            }
            std::thread::sleep(Duration::from_millis(15));
        });
        crash::ingest_until_killed(backend, cycle, &mut rng, request_upkeep);
        return;
    }
    let backend = TantivyBackend::open(&dir, TantivyConfig::default()).expect("child open");
    say("OPEN");
    crash::ingest_until_killed(Arc::new(backend), cycle, &mut rng, request);
}

/// [`request`], filed in 2001 when [`is_old`] says so.
fn request_upkeep(req: &str, count: usize, rng: &mut ChaCha8Rng) -> Vec<logingest_core::Record> {
    let mut records = request(req, count, rng);
    if is_old(req) {
        let ndjson: String = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut value: serde_json::Value = serde_json::from_str(r.source()).expect("json");
                value["timestamp"] = format!("2001-06-01T00:00:{:02}Z", i % 60).into();
                format!("{value}\n")
            })
            .collect();
        records = parse_records(ndjson.as_bytes(), &ParseOptions::default()).expect("valid");
    }
    records
}

/// The records of request `req`: `spanId` `<req>r<i>`, the request id in
/// `metadata.req` and as a message token; half without a timestamp (so the
/// receive time is stored), half with the current time.
fn request(req: &str, count: usize, rng: &mut ChaCha8Rng) -> Vec<logingest_core::Record> {
    let mut ndjson = String::new();
    for i in 0..count {
        let level = ["info", "warn", "error"][rng.random_range(0..3)];
        let mut record = serde_json::json!({
            "level": level,
            "message": format!("crash record {req} n{i} {}", "x".repeat(rng.random_range(0..100))),
            "spanId": format!("{req}r{i}"),
            "metadata": {"req": req, "i": i},
        });
        if rng.random_bool(0.5) {
            record["timestamp"] = Timestamp::now().to_rfc3339().into();
        }
        ndjson.push_str(&record.to_string());
        ndjson.push('\n');
    }
    parse_records(ndjson.as_bytes(), &ParseOptions::default()).expect("valid records")
}

/// The parent's side of a run: the ledger of what the children were told,
/// and numbers for the summary.
#[derive(Default)]
struct Run {
    ledger: crash::Ledger,
    /// The first cycle no check has seen yet.
    unchecked_from: u64,
    checks: u64,
    killed_before_open: u64,
    slowest_child_open: Duration,
    reindexed: u64,
    reopening: Duration,
    slowest_reopen: Duration,
    checking: Duration,
    /// Of the last check: acknowledged, unacknowledged present and absent
    /// requests, records.
    last: [u64; 4],
    /// The upkeep run: old requests may be deleted by retention.
    upkeep: bool,
    /// Upkeep passes that replaced blocks or trained, and retention passes
    /// that deleted records, as the children reported them.
    upkeep_lines: u64,
    retention_lines: u64,
    /// Dictionary sets trained, as the children reported them.
    trained: u64,
    /// Kills that came while the child's last word was an upkeep or a
    /// retention line (the store was most likely busy with one).
    killed_in_upkeep: u64,
    /// Acknowledged old requests that retention deleted.
    deleted_old: u64,
    /// Children run and killed.
    cycles: u64,
}

#[test]
fn kill_9_at_random_moments() {
    let cycles = env_u64("LOGINGEST_CRASH_CYCLES", 20);
    let seed = env_u64("LOGINGEST_CRASH_SEED", 0x10_9e57);
    campaign(cycles, seed, false);
}

#[test]
fn kill_9_during_merges_and_retention() {
    let cycles = env_u64("LOGINGEST_CRASH_UPKEEP_CYCLES", 10);
    let seed = env_u64("LOGINGEST_CRASH_SEED", 0x10_9e57) ^ 0x5eed;
    let run = campaign(cycles, seed, true);
    println!(
        "upkeep run: {} upkeep passes that replaced blocks or trained ({} dictionary sets), \
         {} retention passes that deleted records; {} of {} kills right after one of \
         them; {} acknowledged old requests deleted by retention",
        run.upkeep_lines,
        run.trained,
        run.retention_lines,
        run.killed_in_upkeep,
        run.cycles,
        run.deleted_old
    );
    assert!(run.trained > 0, "no dictionary set was trained");
    assert!(
        run.upkeep_lines > 0,
        "no merge happened: the run proves nothing"
    );
    assert!(
        run.retention_lines > 0,
        "no retention happened: the run proves nothing"
    );
}

/// Kills `cycles` children at random moments, checking the directory after
/// each reopen; `upkeep` selects the run with merges and retention.
fn campaign(cycles: u64, seed: u64, upkeep: bool) -> Run {
    println!("crash test: {cycles} cycles, LOGINGEST_CRASH_SEED={seed}, upkeep {upkeep}");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    // Every record is written after this (a minute of slack for the clock).
    let since = Timestamp(Timestamp::now().0 - 60_000_000_000);
    let mut run = Run {
        upkeep,
        ..Run::default()
    };
    let mut recovery_pending = false;
    // The upkeep run goes on (up to three times as long) until it has seen
    // a merge, a training and a retention: kills come by the clock, and on
    // a busy machine a child may do too little before its kill for the
    // store to grow that far in `cycles` cycles.
    let last_cycle = if upkeep { 3 * cycles } else { cycles };
    let mut cycle = 0;
    while cycle < cycles || (cycle < last_cycle && !run.saw_all_upkeep()) {
        let this = cycle;
        cycle += 1;
        // Now and then kill while the child is starting, more often when it
        // has a recovery to run (the previous cycle was not reopened here).
        let after = if rng.random_bool(if recovery_pending { 0.5 } else { 0.15 }) {
            rng.random_range(0..100)
        } else {
            rng.random_range(50..600)
        };
        let mut env = vec![
            (CHILD_DIR, dir.path().display().to_string()),
            (CHILD_CYCLE, this.to_string()),
            (CHILD_SEED, rng.random::<u64>().to_string()),
        ];
        if upkeep {
            env.push((CHILD_UPKEEP, "1".to_owned()));
        }
        run.kill_child(&env, Duration::from_millis(after), this);
        // One cycle in five leaves the recovery to the next child (the
        // open after the last cycle recovers too).
        recovery_pending = rng.random_bool(0.2);
        if recovery_pending {
            continue;
        }
        let committed_before = committed_seq(dir.path());
        let opening = Instant::now();
        let backend = TantivyBackend::open(dir.path(), TantivyConfig::default())
            .unwrap_or_else(|e| panic!("cycle {this}: reopen after kill: {e}"));
        run.slowest_reopen = run.slowest_reopen.max(opening.elapsed());
        run.reopening += opening.elapsed();
        run.reindexed += committed_seq(dir.path()) - committed_before;
        backend.refresh().expect("refresh");
        let checking = Instant::now();
        run.check(&backend, this, since, &mut rng);
        run.checking += checking.elapsed();
    }
    run.cycles = cycle;
    let backend = TantivyBackend::open(dir.path(), TantivyConfig::default()).expect("open");
    if recovery_pending {
        // The last child's recovery was left to a next one: this open.
        backend.refresh().expect("refresh");
        run.check(&backend, cycle - 1, since, &mut rng);
    }
    scan_everything(&backend, run.last[3]);
    let [acked, unacked_present, unacked_absent, records] = run.last;
    println!(
        "crash test: {} kills, {} checks in {:.1?}: {acked} requests acknowledged, \
         {unacked_present} unacknowledged present, {unacked_absent} absent; {records} records; \
         {} re-indexed on reopen (took {:.1?}, slowest {:.1?}); {} kills before the child \
         opened (slowest child open {:.1?}); checking took {:.1?}",
        run.cycles,
        run.checks,
        started.elapsed(),
        run.reindexed,
        run.reopening,
        run.slowest_reopen,
        run.killed_before_open,
        run.slowest_child_open,
        run.checking,
    );
    run
}

impl Run {
    /// Whether children reported a merge, a training and a retention.
    fn saw_all_upkeep(&self) -> bool {
        self.upkeep_lines > 0 && self.trained > 0 && self.retention_lines > 0
    }

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
        assert!(status.code().is_none(), "child exited by itself: {status}");
        match opened {
            Some(took) => self.slowest_child_open = self.slowest_child_open.max(took),
            None => self.killed_before_open += 1,
        }
        if lines
            .last()
            .is_some_and(|l| l.contains("UPKEEP") || l.contains("RETENTION"))
        {
            self.killed_in_upkeep += 1;
        }
        for line in &lines {
            match line.split(' ').collect::<Vec<_>>()[..] {
                ["UPKEEP", _, trained] => {
                    self.upkeep_lines += 1;
                    self.trained += u64::from(trained == "true");
                }
                ["RETENTION", ..] => self.retention_lines += 1,
                _ => {
                    self.ledger.note(cycle, line);
                }
            }
        }
    }

    /// Checks the reopened directory against the ledger of every cycle so far.
    fn check(
        &mut self,
        backend: &TantivyBackend,
        cycle: u64,
        since: Timestamp,
        rng: &mut ChaCha8Rng,
    ) {
        let ledger = &self.ledger.entries;
        let stored = backend.stats().expect("stats").records;
        let indexed = search(backend, SearchRequest::new(all()).limit(1)).total;
        assert_eq!(stored, indexed, "cycle {cycle}: SQLite and index disagree");
        // A record indexed at a wrong time (say, re-indexed with a default
        // receive time) would fall out of this window.
        let window = TimeRange {
            start: Some(since),
            end: None,
        };
        let recent = search(backend, SearchRequest::new(all()).time(window).limit(1));
        let present = facets(backend, "metadata.req");
        let old_present: u64 = present
            .iter()
            .filter(|(req, _)| self.upkeep && is_old(req))
            .map(|(_, n)| n)
            .sum();
        assert_eq!(
            recent.total + old_present,
            indexed,
            "cycle {cycle}: wrong times"
        );

        let mut sum = 0;
        for (req, &n) in &present {
            let entry = ledger
                .get(req)
                .unwrap_or_else(|| panic!("cycle {cycle}: {req} present but never submitted"));
            assert_eq!(n, entry.count, "cycle {cycle}: {req} partially present");
            sum += n;
        }
        assert_eq!(sum, indexed, "cycle {cycle}: records without a request");
        let mut last = [0, 0, 0, indexed];
        let mut deleted_old = 0;
        for (req, entry) in ledger {
            match (entry.acked, present.contains_key(req)) {
                (Some(_), true) => last[0] += 1,
                (Some(_), false) if self.upkeep && is_old(req) => deleted_old += 1,
                (Some(_), false) => panic!("cycle {cycle}: acknowledged {req} lost"),
                (None, true) => last[1] += 1,
                (None, false) => last[2] += 1,
            }
        }

        // Exactly the expected spanIds, each once.
        let spans = facets(backend, "spanId");
        assert_eq!(spans.len() as u64, indexed, "cycle {cycle}: spanIds");
        for (span, &n) in &spans {
            assert_eq!(n, 1, "cycle {cycle}: spanId {span} appears {n} times");
            let (req, i) = span.rsplit_once('r').expect("spanId shape");
            let i: u64 = i.parse().expect("spanId index");
            assert!(present.contains_key(req) && i < ledger[req].count, "{span}");
        }

        // Searchable by keyword and by message token, at the acknowledged
        // sequence numbers: every request since the last check, and 1% of
        // older ones (they were searched after their own crash).
        let unchecked_from = self.unchecked_from;
        let sample = present
            .keys()
            .filter(|req| ledger[*req].cycle >= unchecked_from || rng.random_bool(0.01));
        for req in sample {
            let entry = &ledger[req];
            let by_kw = search_for(backend, &format!("metadata.req:{req}"), 500);
            let by_token = search_for(backend, req, 1);
            assert_eq!(by_kw.total, entry.count, "cycle {cycle}: {req} by keyword");
            assert_eq!(by_token.total, entry.count, "cycle {cycle}: {req} by token");
            assert_eq!(by_kw.hits.len() as u64, entry.count, "{req}: sources");
            let mut seqs: Vec<u64> = by_kw.hits.iter().map(|h| h.seq).collect();
            seqs.sort_unstable();
            if let Some(first) = entry.acked {
                let expected: Vec<u64> = (first..first + entry.count).collect();
                assert_eq!(seqs, expected, "cycle {cycle}: {req} sequence numbers");
            }
            let tag = format!("\"req\":\"{req}\"");
            assert!(by_kw.hits.iter().all(|h| h.source.contains(&tag)), "{req}");
        }
        self.last = last;
        self.deleted_old = deleted_old;
        self.unchecked_from = cycle + 1;
        self.checks += 1;
    }
}

/// The sequence number the index's last commit covers (its payload).
fn committed_seq(dir: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(dir.join("index/meta.json")) else {
        return 0;
    };
    let meta: serde_json::Value = serde_json::from_str(&text).expect("meta.json");
    meta["payload"].as_str().map_or(0, |p| {
        let payload: serde_json::Value = serde_json::from_str(p).expect("payload");
        payload["seq"].as_u64().expect("seq")
    })
}

fn all() -> logingest_core::query::Query {
    parse_query("*").expect("query")
}

fn search(backend: &TantivyBackend, request: SearchRequest) -> logingest_core::SearchPage {
    backend.search(&request).expect("search")
}

fn search_for(backend: &TantivyBackend, query: &str, limit: usize) -> logingest_core::SearchPage {
    let request = SearchRequest::new(parse_query(query).expect("query")).limit(limit);
    search(backend, request)
}

fn facets(backend: &TantivyBackend, field: &str) -> HashMap<String, u64> {
    let request = FacetRequest::new(all(), field, usize::MAX);
    let facets = backend.facets(&request).expect("facets");
    facets.into_iter().map(|f| (f.value, f.count)).collect()
}

/// Pages through every record: each index hit has its SQLite source, once.
fn scan_everything(backend: &TantivyBackend, expected: u64) {
    let mut seen = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let request = SearchRequest::new(all())
            .order(Order::Asc)
            .limit(SearchRequest::MAX_LIMIT)
            .cursor(cursor);
        let page = search(backend, request);
        for hit in &page.hits {
            assert!(seen.insert(hit.seq), "seq {} twice", hit.seq);
        }
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len() as u64, expected, "pages miss records");
}

/// The child of the lock test: holds the directory open until killed.
#[test]
#[ignore = "a child process of the crash tests, run by them"]
fn child_hold() {
    let Some(dir) = std::env::var_os(HOLD_DIR) else {
        return;
    };
    let _backend = TantivyBackend::open(&dir, TantivyConfig::default()).expect("child open");
    say("OPEN");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

#[test]
fn a_second_process_cannot_open_a_held_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let held = (HOLD_DIR, dir.path().display().to_string());
    let mut child = spawn_child("child_hold", &[held]);
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let opened = lines.any(|l| l.ends_with("OPEN"));
    assert!(opened, "the child did not open the directory");
    let err = TantivyBackend::open(dir.path(), TantivyConfig::default())
        .expect_err("a second process must not open the directory");
    assert!(err.to_string().contains("already open"), "{err}");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    TantivyBackend::open(dir.path(), TantivyConfig::default()).expect("open after the holder died");
}

/// An index whose metadata names a file that is gone (as a kill during a
/// merge left it once, 2026-12-04) is rebuilt from SQLite on open: every
/// record is found again.
#[test]
fn an_index_missing_a_segment_file_is_rebuilt_from_the_stored_records() {
    let dir = tempfile::tempdir().unwrap();
    let records = parse_records(
        (0..50)
            .map(|i| format!("{{\"message\":\"record {i}\"}}\n"))
            .collect::<String>()
            .as_bytes(),
        &ParseOptions::default(),
    )
    .unwrap();
    {
        let backend = TantivyBackend::open(dir.path(), TantivyConfig::default()).unwrap();
        backend.write_batch(&records).unwrap();
        backend.refresh().unwrap();
    }
    let term = std::fs::read_dir(dir.path().join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "term"))
        .expect("a segment's term file");
    std::fs::remove_file(term).unwrap();
    let backend = TantivyBackend::open(dir.path(), TantivyConfig::default()).expect("reopens");
    backend.refresh().unwrap();
    let page = backend
        .search(&logingest_core::SearchRequest::new(
            logingest_core::query::Query::All,
        ))
        .unwrap();
    assert_eq!(page.total, 50);
}
