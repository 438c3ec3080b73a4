//! Test corpora: seeded random records and the shared Loghub samples.
//!
//! Random records are built to stress the semantics rather than to look
//! realistic: few distinct timestamps (so ordering ties are common), mixed
//! case and Unicode words, tokens far longer than 40 bytes, punctuation that
//! splits tokens, numbers and booleans in metadata, arrays (multi-valued
//! paths), nulls, unknown top-level fields, and missing optional fields.
//! Everything is derived from the seed, so a failure can be replayed.

use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use crate::parse::{parse_records, ParseOptions};
use crate::record::Record;
use crate::timestamp::Timestamp;

/// The HDFS sample of Loghub (2,000 records; see `testdata/loghub/README.md`).
pub const LOGHUB_HDFS: &str = include_str!("../../../testdata/loghub/hdfs_2k.ndjson");
/// The OpenStack sample of Loghub (2,000 records).
pub const LOGHUB_OPENSTACK: &str = include_str!("../../../testdata/loghub/openstack_2k.ndjson");

/// The sample record of docs/query-language.md.
pub const PRODUCT_SAMPLE: &str = r#"{"level":"error","message":"Failed to connect to DB","resourceId":"server-1234","timestamp":"2023-09-15T08:00:00Z","traceId":"abc-xyz-123","spanId":"span-456","commit":"5e5342f","metadata":{"parentResourceId":"server-0987"}}"#;

/// Receive time used for generated records without a timestamp.
pub const RECEIVE_TIME: Timestamp = Timestamp(1_694_800_000_000_000_000);

/// Parses NDJSON test data; panics on invalid data (it is test input).
pub fn records(ndjson: &str) -> Vec<Record> {
    let options = ParseOptions::default().receive_time(RECEIVE_TIME);
    parse_records(ndjson.as_bytes(), &options).expect("test corpus parses")
}

/// Both Loghub samples, HDFS first.
pub fn loghub() -> Vec<Record> {
    let mut all = records(LOGHUB_HDFS);
    all.extend(records(LOGHUB_OPENSTACK));
    all
}

/// Words messages are made of. Some are longer than 40 bytes, some mix case,
/// some are not ASCII.
pub const WORDS: &[&str] = &[
    "Failed",
    "failed",
    "FAILED",
    "to",
    "connect",
    "connection",
    "connected",
    "DB",
    "db",
    "timeout",
    "error",
    "Error",
    "retry",
    "retrying",
    "server",
    "block",
    "blk_38865049064139660",
    "PacketResponder",
    "terminating",
    "10",
    "251",
    "73",
    "220",
    "50010",
    "0",
    "1",
    "2",
    "café",
    "Ünïcode",
    "日本語",
    "straße",
    "ΣΊΣΥΦΟΣ",
    "naïve",
    "x",
    "GET",
    "v2",
    "servers",
    "detail",
    "averyveryverylongtokenthatgoeswellbeyondfortybytesinlength0123456789",
    "anotherextremelylongidentifierwithoutanyseparatorsatallwhatsoever",
];

/// Separators between words; each non-alphanumeric one splits tokens.
const SEPARATORS: &[&str] = &[
    " ", " ", " ", ", ", ".", ":", "-", "/", "_", "\"", "'", "\t", " (", ") ", "=", "é", "\n",
];

const LEVELS: &[&str] = &["error", "warn", "info", "debug", "ERROR", "Info"];
const RESOURCES: &[&str] = &[
    "server-1234",
    "server-1235",
    "server-12",
    "server-0987",
    "dfs.DataNode$PacketResponder",
    "svc a b",
    "nova.api",
    "Server-1234",
    "ünï/cödé",
];
const TRACES: &[&str] = &[
    "abc-xyz-123",
    "abc-xyz-124",
    "trace-1",
    "t?*x",
    "blk_-6952295868487656571",
];
const COMMITS: &[&str] = &["5e5342f", "6d2a98e", "3d8bd6f"];
const TAGS: &[&str] = &["a", "b", "prod", "canary", "a b"];

/// Base time of generated records: 2023-09-15T00:00:00Z.
pub const BASE_TIME: i64 = 1_694_736_000_000_000_000;

/// A corpus of `n` random records from `seed`, as NDJSON text (one record a line).
pub fn random_ndjson(seed: u64, n: usize) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = String::new();
    for i in 0..n {
        let value = random_record(&mut rng, i);
        let text = if rng.random_bool(0.1) {
            // Unusual formatting must survive too ("returned exactly as sent").
            serde_json::to_string_pretty(&value)
                .expect("serializable")
                .replace('\n', " ")
        } else {
            value.to_string()
        };
        out.push_str(&text);
        out.push('\n');
    }
    out
}

/// `n` random records from `seed`.
pub fn random_records(seed: u64, n: usize) -> Vec<Record> {
    records(&random_ndjson(seed, n))
}

fn random_record(rng: &mut ChaCha8Rng, i: usize) -> Value {
    let mut obj = Map::new();
    let pick =
        |rng: &mut ChaCha8Rng, obj: &mut Map<String, Value>, key: &str, from: &[&str], p: f64| {
            if rng.random_bool(p) {
                obj.insert(key.to_owned(), json!(from.choose(rng).expect("non-empty")));
            }
        };
    pick(rng, &mut obj, "level", LEVELS, 0.9);
    obj.insert("message".into(), json!(random_message(rng)));
    pick(rng, &mut obj, "resourceId", RESOURCES, 0.85);
    if rng.random_bool(0.9) {
        obj.insert("timestamp".into(), json!(random_time(rng)));
    }
    pick(rng, &mut obj, "traceId", TRACES, 0.6);
    obj.insert("spanId".into(), json!(format!("span-{i}")));
    pick(rng, &mut obj, "commit", COMMITS, 0.5);
    if rng.random_bool(0.8) {
        obj.insert("metadata".into(), random_metadata(rng));
    }
    if rng.random_bool(0.2) {
        obj.insert(
            "host".into(),
            json!(format!("host-{}", rng.random_range(0..3))),
        );
    }
    Value::Object(obj)
}

fn random_message(rng: &mut ChaCha8Rng) -> String {
    let words = rng.random_range(0..12);
    let mut m = String::new();
    if rng.random_bool(0.01) {
        // A large message: many tokens, some long.
        for k in 0..500 {
            m.push_str(&format!("chunk{k}{} ", WORDS[k % WORDS.len()]));
        }
    }
    for w in 0..words {
        if w > 0 {
            m.push_str(SEPARATORS.choose(rng).expect("non-empty"));
        }
        m.push_str(WORDS.choose(rng).expect("non-empty"));
    }
    m
}

fn random_time(rng: &mut ChaCha8Rng) -> String {
    // 40 distinct instants over two days, so ties are frequent; some carry
    // nanoseconds, some an offset.
    let slot = rng.random_range(0..40i64);
    let nanos = BASE_TIME + slot * 3_600_000_000_000 + if slot % 7 == 0 { 123_456_789 } else { 0 };
    let t = Timestamp(nanos);
    if slot % 5 == 0 {
        let shifted = Timestamp(nanos + 2 * 3_600_000_000_000).to_rfc3339();
        format!("{}+02:00", shifted.trim_end_matches('Z'))
    } else {
        t.to_rfc3339()
    }
}

fn random_metadata(rng: &mut ChaCha8Rng) -> Value {
    let mut m = Map::new();
    if rng.random_bool(0.7) {
        m.insert(
            "parentResourceId".into(),
            json!(RESOURCES.choose(rng).expect("non-empty")),
        );
    }
    if rng.random_bool(0.4) {
        m.insert("retries".into(), json!(rng.random_range(0..4)));
    }
    if rng.random_bool(0.2) {
        m.insert("ratio".into(), json!(rng.random_range(0..4) as f64 / 2.0));
    }
    if rng.random_bool(0.3) {
        m.insert("ok".into(), json!(rng.random_bool(0.5)));
    }
    if rng.random_bool(0.3) {
        let n = rng.random_range(0..3);
        let tags: Vec<&str> = (0..n)
            .map(|_| *TAGS.choose(rng).expect("non-empty"))
            .collect();
        m.insert("tags".into(), json!(tags));
    }
    if rng.random_bool(0.2) {
        m.insert("a".into(), json!({"b": TAGS.choose(rng), "c": null}));
    }
    if rng.random_bool(0.1) {
        m.insert("gone".into(), Value::Null);
    }
    if rng.random_bool(0.3) {
        // Numbers of every kind, arrays of them, and text that looks like
        // one (which numeric comparisons must not see).
        let size = match rng.random_range(0..9) {
            0 => json!(-3),
            1 => json!(0),
            2 => json!(-0.0),
            3 => json!(2.5),
            4 => json!(1e3),
            5 => json!(9_007_199_254_740_993u64),
            6 => json!("7"),
            7 => json!([1, "2", 1000.5]),
            _ => json!(rng.random_range(-50..50)),
        };
        m.insert("size".into(), size);
    }
    Value::Object(m)
}
