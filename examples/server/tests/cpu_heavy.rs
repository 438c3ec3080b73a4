//! CPU-heavy input must not stall the server: parsing is linear in the
//! input, parsing and live-tail filtering run off the async runtime's
//! threads, and every ingest endpoint obeys every limit (issue: hardening,
//! classes 1 and 2).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{encode, Server};

/// An NDJSON body of `n` valid records whose last line is a record of the
/// wrong type: parsed to the end, then refused with 400, so the request's
/// whole time is parsing.
fn heavy_invalid_body(n: usize) -> Vec<u8> {
    let mut body = String::with_capacity(n * 200);
    for i in 0..n {
        body.push_str(&format!(
            r#"{{"message":"heavy record {i} with enough words to tokenize and index","level":"info","metadata":{{"a":"b{i}","c":{{"d":"e"}}}}}}"#
        ));
        body.push('\n');
    }
    body.push_str("{\"message\":5}\n");
    body.into_bytes()
}

/// Four bodies that take seconds to parse, twice as many as the runtime
/// has worker threads on these machines: parsed on the workers, they held
/// all of them. `/healthz` is probed back to back from before the first
/// body is sent until the last answer; the slowest probe must take less
/// than a quarter of the time the heavy requests took (a ratio in the same
/// run, no clock bound: on the runtime's threads a probe waits for a whole
/// parse, about half of that time).
#[test]
fn health_answers_while_heavy_bodies_parse() {
    let server = Arc::new(Server::start_with(&[
        "--max-body-bytes",
        "268435456",
        "--max-records",
        "1000000",
    ]));
    let body = Arc::new(heavy_invalid_body(150_000));
    let prober = Prober::start(&server);
    let started = Instant::now();
    let heavy: Vec<_> = (0..4)
        .map(|_| {
            let (server, body) = (Arc::clone(&server), Arc::clone(&body));
            std::thread::spawn(move || server.post("/logs", &body, &[], None).status)
        })
        .collect();
    for thread in heavy {
        assert_eq!(thread.join().unwrap(), 400, "the last record is invalid");
    }
    let heavy_took = started.elapsed();
    let (probes, slowest) = prober.stop();
    eprintln!(
        "heavy requests took {heavy_took:?}; {probes} /healthz probes, the slowest {slowest:?}"
    );
    assert!(
        slowest * 4 < heavy_took,
        "/healthz took {slowest:?} while heavy requests parsed for {heavy_took:?}: parsing held the runtime"
    );
    // Nothing of the refused bodies was stored.
    assert_eq!(server.records(), 0);
}

/// Probes `/healthz` back to back on a thread of its own, keeping the
/// slowest answer's time, until stopped.
struct Prober {
    done: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Duration)>,
}

impl Prober {
    fn start(server: &Arc<Server>) -> Prober {
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let (server, done) = (Arc::clone(server), Arc::clone(&done));
            std::thread::spawn(move || {
                let (mut probes, mut slowest) = (0, Duration::ZERO);
                while !done.load(Ordering::SeqCst) {
                    let start = Instant::now();
                    assert_eq!(server.get("/healthz", None).status, 200);
                    slowest = slowest.max(start.elapsed());
                    probes += 1;
                }
                (probes, slowest)
            })
        };
        Prober { done, thread }
    }

    /// The number of probes and the slowest one's time.
    fn stop(self) -> (usize, Duration) {
        self.done.store(true, Ordering::SeqCst);
        self.thread
            .join()
            .expect("every /healthz probe answered 200")
    }
}

#[test]
fn a_record_with_100000_keys_is_accepted_and_searchable() {
    let server = Server::start_with(&[
        "--max-record-bytes",
        "8388608",
        "--max-body-bytes",
        "16777216",
    ]);
    let members: Vec<String> = (0..100_000).map(|i| format!(r#""k{i}":"v{i}""#)).collect();
    let record = format!(
        r#"{{"message":"wide record","metadata":{{{}}}}}"#,
        members.join(",")
    );
    assert_eq!(server.ingest(record.as_bytes()), 1);
    assert_eq!(server.count("metadata.k99999:v99999"), 1);
    assert_eq!(server.count("metadata.k0:v0 wide"), 1);
}

#[test]
fn bulk_obeys_max_records_as_logs_does() {
    let server = Server::start_with(&["--max-records", "10"]);
    let mut logs = String::new();
    let mut bulk = String::new();
    for i in 0..11 {
        logs.push_str(&format!("{{\"message\":\"m{i}\"}}\n"));
        bulk.push_str(&format!("{{\"index\":{{}}}}\n{{\"message\":\"m{i}\"}}\n"));
    }
    let logs_answer = server.post("/logs", logs.as_bytes(), &[], None);
    assert_eq!(logs_answer.status, 413, "{}", logs_answer.text);
    let bulk_answer = server.post("/_bulk", bulk.as_bytes(), &[], None);
    assert_eq!(bulk_answer.status, 413, "{}", bulk_answer.text);
    assert!(
        bulk_answer.text.contains("the limit is 10"),
        "{}",
        bulk_answer.text
    );
    // Actions that store nothing count too: they are work and answer items.
    let deletes = "{\"delete\":{\"_id\":\"1\"}}\n".repeat(11);
    assert_eq!(
        server.post("/_bulk", deletes.as_bytes(), &[], None).status,
        413
    );
    // At the limit, both accept.
    let ten: String = bulk.lines().take(20).map(|l| format!("{l}\n")).collect();
    let answer = server.post("/_bulk?refresh=wait_for", ten.as_bytes(), &[], None);
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(server.count(""), 10);
}

/// Tail subscribers whose query is costly to evaluate (thousands of terms)
/// filter a request's records for seconds. Filtering on the runtime's
/// worker threads (two on these machines, fewer than the subscribers) held
/// every request meanwhile; off them, `/healthz` keeps answering at once.
/// No wall-clock bound: the slowest `/healthz` answer is compared with the
/// time the tails took in the same run.
#[test]
fn health_answers_while_tails_filter_heavy_batches() {
    let server = Arc::new(Server::start());
    let mut terms: Vec<String> = (0..TAIL_TERMS).map(|i| format!("a{i}")).collect();
    terms.push("needle".into());
    let query = terms.join(" OR ");
    let tails: Vec<common::Sse> = (0..4)
        .map(|_| {
            let sse = server
                .sse(&format!("/api/tail?q={}", encode(&query)), None)
                .unwrap_or_else(|a| panic!("tail: {} {}", a.status, a.text));
            let ready = sse.next(TAIL_WAIT).expect("a `ready` event");
            assert_eq!(ready.event, "ready", "{ready:?}");
            sse
        })
        .collect();
    // One batch of the tail (under 1 MiB): records of many words each, the
    // last one the only match.
    let words: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let mut body = String::new();
    for i in 0..TAIL_RECORDS {
        body.push_str(&format!(r#"{{"message":"{i} {}"}}"#, words.join(" ")));
        body.push('\n');
    }
    body.push_str("{\"message\":\"the needle\"}\n");
    assert_eq!(server.ingest(body.as_bytes()), TAIL_RECORDS as u64 + 1);
    let acknowledged = Instant::now();
    // Probe /healthz back to back until every tail has the needle.
    let prober = Prober::start(&server);
    for tail in &tails {
        let event = tail.next(TAIL_WAIT).expect("the needle reaches every tail");
        assert!(event.data.contains("the needle"), "{event:?}");
    }
    let filtering = acknowledged.elapsed();
    let (probes, slowest) = prober.stop();
    eprintln!("tails took {filtering:?}; {probes} /healthz probes, the slowest {slowest:?}");
    assert!(
        slowest * 4 < filtering,
        "/healthz took {slowest:?} while the tails filtered for {filtering:?}: the filtering held the runtime"
    );
}

/// Terms of the tail query beside `needle`.
const TAIL_TERMS: usize = 200;

/// Records of the request the tails filter.
const TAIL_RECORDS: usize = 3_000;

/// Generous bound for one tail event.
const TAIL_WAIT: Duration = Duration::from_secs(120);
