//! A full disk on a real (small) file system: acknowledged records stay
//! searchable, writes are refused with `Error::DiskFull`, health says so,
//! and the backend recovers its index writer by itself once space is
//! freed, also after reopening on a full disk. See `docs/hardening.md`,
//! "Disk full".

use logingest_core::query::parse_query;
use logingest_core::testkit::small_disk::SmallDisk;
use logingest_core::{parse_records, Backend, ParseOptions, SearchRequest};
use logingest_tantivy::{TantivyBackend, TantivyConfig};

/// Records per batch; each batch has its own `traceId`.
const BATCH: usize = 500;

fn config() -> TantivyConfig {
    TantivyConfig::default()
        .refresh_interval(None)
        .upkeep_interval(None)
}

/// Batch `name`: records with many distinct terms, so the index needs room.
fn batch(name: &str) -> Vec<logingest_core::Record> {
    let body: String = (0..BATCH)
        .map(|i| {
            let words: Vec<String> = (0..12).map(|k| format!("w{name}x{i}y{k}")).collect();
            format!(
                "{{\"message\":\"{} {}\",\"traceId\":\"{name}\"}}\n",
                name,
                words.join(" ")
            )
        })
        .collect();
    parse_records(body.as_bytes(), &ParseOptions::default()).unwrap()
}

fn count(backend: &TantivyBackend, q: &str) -> u64 {
    backend
        .search(&SearchRequest::new(parse_query(q).unwrap()))
        .unwrap()
        .total
}

#[test]
fn a_full_disk_refuses_writes_keeps_searches_and_recovers_without_reopening() {
    let disk = SmallDisk::mount(12 << 20);
    let backend = TantivyBackend::open(disk.path().join("data"), config()).unwrap();
    for name in ["a", "b"] {
        backend.write_batch(&batch(name)).unwrap();
        backend.refresh().unwrap();
    }
    // Stored, not yet committed in the index; then no room at all.
    backend.write_batch(&batch("c")).unwrap();
    disk.fill();

    let refresh = backend.refresh().unwrap_err();
    assert!(refresh.is_disk_full(), "refresh: {refresh}");
    assert!(!refresh.to_string().contains("killed"), "{refresh}");
    assert!(backend.health().unwrap_err().is_disk_full());
    let refused = backend.write_batch(&batch("d")).unwrap_err();
    assert!(refused.is_disk_full(), "write: {refused}");
    assert_eq!(
        backend.stats().unwrap().records,
        3 * BATCH as u64,
        "nothing of d stored"
    );
    for name in ["a", "b"] {
        assert_eq!(
            count(&backend, &format!("traceId:{name}")),
            BATCH as u64,
            "{name}"
        );
    }

    disk.free();
    backend.health().expect("healthy once space is freed");
    backend.write_batch(&batch("e")).unwrap();
    backend.refresh().unwrap();
    for name in ["a", "b", "c", "e"] {
        assert_eq!(
            count(&backend, &format!("traceId:{name}")),
            BATCH as u64,
            "{name}"
        );
    }
    assert_eq!(count(&backend, "traceId:d"), 0);
    assert_eq!(count(&backend, "*"), 4 * BATCH as u64);
}

#[test]
fn reopening_on_a_full_disk_answers_searches_and_recovers_when_space_is_freed() {
    let disk = SmallDisk::mount(12 << 20);
    let dir = disk.path().join("data");
    {
        let backend = TantivyBackend::open(&dir, config()).unwrap();
        backend.write_batch(&batch("a")).unwrap();
        backend.refresh().unwrap();
        backend.write_batch(&batch("b")).unwrap();
        disk.fill();
        // Dropped: its last refresh fails for lack of space.
    }
    let backend = TantivyBackend::open(&dir, config()).expect("opens on a full disk");
    assert_eq!(count(&backend, "traceId:a"), BATCH as u64);
    assert!(backend.health().unwrap_err().is_disk_full());
    assert!(backend.write_batch(&batch("c")).unwrap_err().is_disk_full());

    disk.free();
    backend.health().expect("healthy once space is freed");
    assert_eq!(count(&backend, "traceId:b"), BATCH as u64);
    backend.write_batch(&batch("c")).unwrap();
    backend.refresh().unwrap();
    assert_eq!(count(&backend, "*"), 3 * BATCH as u64);
}
