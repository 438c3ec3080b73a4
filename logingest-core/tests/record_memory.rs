//! `Record::memory` is an estimate that memory budgets rely on: if it fell
//! short of what parsing really allocates, a server could hold more than
//! its configured budget. This test counts the bytes the allocator is
//! asked for while real log bodies are parsed and checks the metered
//! total covers them, and is not wildly above them either; and that what
//! a record holds before it is metered at all is bounded.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use logingest_core::{parse_records_metered, Error, Format, ParseOptions};

/// The system allocator, counting the bytes live in blocks it handed out.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The highest `LIVE` since it was last reset.
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// The tests one at a time: each counts every thread's allocations.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// (bytes the records hold, as counted; bytes the meter was told).
fn measure(body: &[u8]) -> (usize, usize) {
    let options = ParseOptions::default().format(Format::Ndjson);
    let mut metered = 0;
    let before = LIVE.load(Ordering::SeqCst);
    let records = parse_records_metered(body, &options, |bytes| {
        metered += bytes;
        Ok::<_, Error>(())
    })
    .expect("test bodies parse");
    let held = LIVE.load(Ordering::SeqCst) - before;
    drop(records);
    (held, metered)
}

#[test]
fn metered_memory_covers_what_parsed_records_hold() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tiny_fields: String = (0..2_000)
        .map(|i| format!("{{\"message\":\"m\",\"a\":[1,2,3,4,5,6,7,8],\"b\":{{\"c\":{i}}}}}\n"))
        .collect();
    let bodies = [
        (
            "hdfs",
            include_str!("../../testdata/loghub/hdfs_2k.ndjson").to_owned(),
        ),
        (
            "openstack",
            include_str!("../../testdata/loghub/openstack_2k.ndjson").to_owned(),
        ),
        ("tiny fields", tiny_fields),
    ];
    for (name, body) in bodies {
        let (held, metered) = measure(body.as_bytes());
        assert!(
            metered >= held,
            "{name}: the meter was told {metered} bytes, the records hold {held}"
        );
        assert!(
            metered <= held * 2,
            "{name}: the meter was told {metered} bytes, more than twice the {held} held"
        );
        eprintln!(
            "{name}: body {} bytes, records hold {held} bytes ({:.1}x), metered {metered}",
            body.len(),
            held as f64 / body.len() as f64
        );
    }
}

/// A record small enough to pass the size limit whose dotted paths are not:
/// a 64 KiB key over an array of 2,000 numbers (68 KiB of JSON) would
/// make 125 MiB of keyword paths, all before the meter hears of the record.
/// Refused once its keyword fields pass the indexing limit (4 MiB by
/// default), holding no more than that meanwhile.
#[test]
fn a_long_key_over_a_long_array_is_refused_before_it_holds_its_paths() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let key = "k".repeat(64 << 10);
    let elements = vec!["1"; 2_000].join(",");
    let body = format!("{{\"message\":\"m\",\"{key}\":[{elements}]}}\n");
    let options = ParseOptions::default().format(Format::Ndjson);
    let limit = options.limits.indexed_bytes_limit();
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    let outcome = parse_records_metered(body.as_bytes(), &options, |_| Ok::<_, Error>(()));
    let peak = PEAK.load(Ordering::SeqCst) - before;
    let Err(Error::InvalidRecord(e)) = outcome else {
        panic!("expected the record to be refused, got {outcome:?}");
    };
    assert_eq!(e.field.as_deref(), Some(key.as_str()));
    assert!(
        e.reason
            .contains(&format!("take more than {limit} bytes to index")),
        "{}",
        e.reason
    );
    assert!(
        peak <= limit + 4 * body.len() + (1 << 20),
        "parsing held {peak} bytes at its peak for a body of {} bytes (indexing limit {limit})",
        body.len()
    );
    eprintln!("peak while refusing: {peak} bytes");
}
