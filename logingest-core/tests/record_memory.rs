//! `Record::memory` is an estimate that memory budgets rely on: if it fell
//! short of what parsing really allocates, a server could hold more than
//! its configured budget. This test counts the bytes the allocator is
//! asked for while real log bodies are parsed and checks the metered
//! total covers them, and is not wildly above them either.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use logingest_core::{parse_records_metered, Error, Format, ParseOptions};

/// The system allocator, counting the bytes live in blocks it handed out.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::SeqCst);
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
