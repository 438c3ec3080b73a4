//! Facets of paths with a column of their own and of paths without one
//! (unique ids, which count the postings of their terms instead): the same
//! counts as the reference, over every record (where a term's document
//! frequency is its count) and filtered, after retention deleted records,
//! and after the directory is opened again; also when a segment has so
//! few matches that their values are read from the records.

use logingest_core::query::{parse_query, Query};
use logingest_core::testkit::reference_facets;
use logingest_core::{parse_records, Backend, FacetRequest, ParseOptions, Record};
use logingest_tantivy::{TantivyBackend, TantivyConfig};

/// Records with a unique `id`, a `level` of three values, a `host` of 40 and
/// `tags` arrays (repeated values included), one a second from 2026-01-01.
fn records(n: usize) -> Vec<Record> {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let level = ["info", "warn", "error"][i % 3];
            serde_json::json!({
                "message": format!("event {i}"),
                "timestamp": format!("2026-01-01T{:02}:{:02}:{:02}Z", i / 3600, i / 60 % 60, i % 60),
                "level": level,
                "id": format!("{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                "host": format!("h{}", i % 40),
                "tags": [format!("t{}", i % 7), format!("t{}", i % 5), "t0"],
            })
            .to_string()
        })
        .collect();
    parse_records(lines.join("\n").as_bytes(), &ParseOptions::default()).unwrap()
}

fn config() -> TantivyConfig {
    TantivyConfig::default()
        .refresh_interval(None)
        .column_window(256)
}

/// Every field's facets for `query` equal the reference's over `kept`.
fn check(backend: &TantivyBackend, kept: &[Record], query: &str) {
    let parsed = if query.is_empty() {
        Query::All
    } else {
        parse_query(query).unwrap()
    };
    for field in ["id", "level", "host", "tags", "missing"] {
        for size in [1, 5, 10_000] {
            let matching = kept.iter().filter(|r| logingest_core::matches(&parsed, r));
            let want = reference_facets(matching, field, size);
            let got: Vec<(String, u64)> = backend
                .facets(&FacetRequest::new(parsed.clone(), field, size))
                .unwrap()
                .into_iter()
                .map(|f| (f.value, f.count))
                .collect();
            assert_eq!(got, want, "facets of `{field}` (size {size}) for `{query}`");
        }
    }
}

#[test]
fn facets_agree_with_and_without_columns_across_deletes_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(6_000);
    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    for chunk in all.chunks(700) {
        backend.write_batch(chunk).unwrap();
        backend.refresh().unwrap();
    }
    // The last two match a few records a segment: their values are read
    // from the records instead of every term's postings.
    let queries = [
        "",
        "level:error",
        "host:h1*",
        "NOT tags:t3",
        "event",
        "host:h7 level:warn",
        "\"event 4242\"",
    ];
    for query in queries {
        check(&backend, &all, query);
    }

    drop(backend);
    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    check(&backend, &all, "");
    check(&backend, &all, "level:warn");

    // Retention leaves deleted documents in the segments: document
    // frequencies count them, so facets over everything must not use them.
    let cutoff = all[2_500].timestamp();
    backend.delete_older_than(cutoff).unwrap();
    backend.refresh().unwrap();
    let kept: Vec<Record> = all
        .iter()
        .filter(|r| r.timestamp() >= cutoff)
        .cloned()
        .collect();
    assert!(kept.len() < all.len());
    for query in queries {
        check(&backend, &kept, query);
    }
}

/// One segment of 6,000 unique ids: a query matching a record or two reads
/// their values from the records instead of the postings of 6,000 terms.
#[test]
fn few_matches_in_a_large_segment_are_counted_from_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let all = records(6_000);
    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    backend.write_batch(&all).unwrap();
    backend.refresh().unwrap();
    for query in [
        "\"event 4242\"",
        "\"event 4242\" OR \"event 17\"",
        "host:h7 level:warn",
    ] {
        check(&backend, &all, query);
    }
}
