//! The child side of a backend's crash test, and its plumbing.
//!
//! A crash test runs its own test binary again as a child process
//! ([`spawn_child`]), lets it ingest through an [`Ingester`]
//! ([`ingest_until_killed`]) and kills it with SIGKILL at a random moment;
//! the parent then reopens the storage and checks it against what the child
//! said on stdout. The protocol, one line each: `OPEN` once the backend is
//! open (the caller says it), `SUBMIT <req> <n>` before a request of `n`
//! records is submitted, `ACK <req> <n> <first_seq>` once `wait_durable`
//! returned `Ok`, `ERR <req> <error>` otherwise. What to check after a kill
//! depends on the backend and stays in its test.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::Backend;
use crate::ingest::{BatchPolicy, IngestConfig, Ingester};
use crate::record::Record;

/// The whole-number environment variable `name`, or `default` when unset.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).map_or(default, |v| v.parse().expect(name))
}

/// Runs the test `name` of the current test binary as a child process with
/// `env`, stdin and stdout piped. Children are `#[ignore]`d tests (with a
/// reason saying whose child they are), so that a test run reports them as
/// ignored instead of as passing tests; this runs them with `--ignored`.
pub fn spawn_child(name: &str, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    // `--quiet`: no `test <name> ... ` prefix before the child's first line.
    command.args(["--exact", name, "--ignored", "--nocapture", "--quiet"]);
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command.stdin(Stdio::piped()).stdout(Stdio::piped());
    command.spawn().expect("spawn child")
}

/// In the child: exits when stdin closes, so a failed parent leaves no orphan.
pub fn exit_with_parent() {
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
}

/// In the child: one protocol line on stdout, flushed at once (the parent
/// may kill the process right after).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("stdout");
    out.flush().expect("stdout");
}

/// In the child: ingests into `backend` from three threads until killed
/// (or 60 s pass), saying `SUBMIT`, `ACK` and `ERR` lines. Requests are
/// named `c<cycle>t<thread>q<n>`; `request(name, count, rng)` makes their
/// records. The batch policy and refresh interval are drawn from `rng`, so
/// kills land in commits, refreshes and merges alike.
pub fn ingest_until_killed(
    backend: Arc<dyn Backend>,
    cycle: u64,
    rng: &mut ChaCha8Rng,
    request: fn(&str, usize, &mut ChaCha8Rng) -> Vec<Record>,
) {
    let linger = Duration::from_millis(rng.random_range(0..=5));
    let policy = BatchPolicy::new(rng.random_range(50..=500), 4 << 20, linger).expect("policy");
    let refresh = [0, 20, 200, 1000][rng.random_range(0..4)];
    let config = IngestConfig::default()
        .policy(policy)
        .refresh_interval(Duration::from_millis(refresh));
    let ingester = Arc::new(Ingester::start(backend, config).expect("ingester"));
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let (ingester, seed) = (Arc::clone(&ingester), rng.random());
            std::thread::spawn(move || {
                submit_until_killed(&ingester, &format!("c{cycle}t{t}"), seed, request)
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("ingest thread");
    }
}

/// Submits requests `<prefix>q<n>`, up to three in flight, and reports each
/// acknowledgement, until killed (or 60 s pass).
fn submit_until_killed(
    ingester: &Ingester,
    prefix: &str,
    seed: u64,
    request: fn(&str, usize, &mut ChaCha8Rng) -> Vec<Record>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    while Instant::now() < deadline {
        let mut tickets = Vec::new();
        for _ in 0..rng.random_range(1..=3) {
            n += 1;
            let req = format!("{prefix}q{n}");
            // Mostly small requests, some up to 200 records.
            let most = if rng.random_bool(0.1) { 200 } else { 10 };
            let count = rng.random_range(1..=most);
            let records = request(&req, count, &mut rng);
            say(&format!("SUBMIT {req} {count}"));
            tickets.push((req, count, ingester.submit(records).expect("submit")));
        }
        for (req, count, ticket) in tickets {
            match ticket.wait_durable() {
                Ok(ack) => say(&format!("ACK {req} {count} {}", ack.first_seq)),
                Err(e) => say(&format!("ERR {req} {e}")),
            }
        }
        // Keep the volume modest: every check scans everything.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..10)));
    }
}

/// What the parent knows about one request of a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Records in the request.
    pub count: u64,
    /// `first_seq` of its acknowledgement, if the child got one.
    pub acked: Option<u64>,
    /// The kill cycle it was submitted in.
    pub cycle: u64,
}

/// The parent's ledger: every request the children said they submitted,
/// and which of them were acknowledged, by request name.
#[derive(Debug, Default)]
pub struct Ledger {
    /// The requests by name.
    pub entries: HashMap<String, Entry>,
}

impl Ledger {
    /// Takes one line a child of cycle `cycle` said. Returns `false` for a
    /// line that is not `SUBMIT` or `ACK` (the test's own lines).
    ///
    /// # Panics
    ///
    /// On `ERR` (the child got an error for a request), a request submitted
    /// twice, or an `ACK` of a request never submitted.
    pub fn note(&mut self, cycle: u64, line: &str) -> bool {
        match line.split(' ').collect::<Vec<_>>()[..] {
            ["SUBMIT", req, count] => {
                let entry = Entry {
                    count: count.parse().expect("count"),
                    acked: None,
                    cycle,
                };
                let old = self.entries.insert(req.to_owned(), entry);
                assert!(old.is_none(), "{req} submitted twice");
                true
            }
            ["ACK", req, _, first_seq] => {
                let entry = self
                    .entries
                    .get_mut(req)
                    .expect("ACK of a submitted request");
                entry.acked = Some(first_seq.parse().expect("seq"));
                true
            }
            ["ERR", ..] => panic!("cycle {cycle}: the child got an error: {line}"),
            _ => false,
        }
    }
}
