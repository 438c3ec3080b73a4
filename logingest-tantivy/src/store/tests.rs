use logingest_core::{parse_records, ParseOptions};

use rusqlite::params;

use super::*;

fn records(n: usize, start_ts: i64) -> Vec<Record> {
    let body: String = (0..n)
        .map(|i| {
            let ts = Timestamp(start_ts + i as i64 * 1_000_000_000).to_rfc3339();
            format!(
                "{{\"message\":\"record {i} of {n}\",\"level\":\"info\",\"timestamp\":\"{ts}\",\"metadata\":{{\"i\":{i}}}}}\n"
            )
        })
        .collect();
    parse_records(body.as_bytes(), &ParseOptions::default()).unwrap()
}

fn config(block_records: usize) -> TantivyConfig {
    TantivyConfig::default().block_records(block_records)
}

#[test]
fn appended_records_come_back_byte_for_byte_from_their_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite"), &config(10)).unwrap();
    let first = records(25, 0);
    let second = records(7, 100_000_000_000);
    assert_eq!(store.append(&first).unwrap().first_seq, 1);
    assert_eq!(store.append(&second).unwrap().first_seq, 26);
    assert_eq!(store.next_seq(), 33);
    let blocks: i64 = store
        .read(|c| {
            c.query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))
                .map_err(error::store)
        })
        .unwrap();
    assert_eq!(blocks, 4, "25 records in blocks of 10, then 7");
    let all: Vec<u64> = (1..=32).rev().collect();
    let sources = store.sources(&all).unwrap();
    let expected: Vec<&str> = first.iter().chain(&second).map(Record::source).collect();
    for (seq, source) in all.iter().zip(&sources) {
        assert_eq!(source.as_deref(), Some(expected[*seq as usize - 1]));
    }
    assert_eq!(
        store.sources(&[0, 33, 5]).unwrap(),
        [None, None, Some(expected[4].to_owned())]
    );
    assert_eq!(
        store.counts().unwrap(),
        (32, Some(Timestamp(0)), Some(Timestamp(106_000_000_000)))
    );
    let mut seen = Vec::new();
    store
        .scan_after(20, |seq, ts, source| {
            seen.push((seq, ts, source.to_owned()));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen.len(), 12);
    assert_eq!(seen[0].0, 21);
    assert_eq!(seen[0].2, expected[20]);
    assert_eq!(seen[11].1, 106_000_000_000);
}

#[test]
fn retention_drops_whole_blocks_and_rewrites_the_edge() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.sqlite"), &config(10)).unwrap();
    let batch = records(30, 0); // one record a second
    store.append(&batch).unwrap();
    // Keep ts >= 15 s: block 1..=10 goes whole, 11..=20 keeps 16..=20.
    assert_eq!(
        store.delete_older_than(Timestamp(15_000_000_000)).unwrap(),
        15
    );
    assert_eq!(store.counts().unwrap().0, 15);
    let got = store.sources(&[15, 16, 20, 21, 30]).unwrap();
    assert_eq!(got[0], None);
    assert_eq!(got[1].as_deref(), Some(batch[15].source()));
    assert_eq!(got[2].as_deref(), Some(batch[19].source()));
    assert_eq!(got[4].as_deref(), Some(batch[29].source()));
    // Sequence numbers never go back, even after deleting the newest.
    store.delete_older_than(Timestamp(i64::MAX)).unwrap();
    assert_eq!(store.counts().unwrap().0, 0);
    drop(store);
    let store = Store::open(&dir.path().join("s.sqlite"), &config(10)).unwrap();
    assert_eq!(store.next_seq(), 31);
}

#[test]
fn a_damaged_block_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path, &config(100)).unwrap();
    let batch = records(250, 0);
    store.append(&batch).unwrap();
    let (id, data): (i64, Vec<u8>) = store
        .read(|c| {
            c.query_row(
                "SELECT b.id, d.data FROM blocks b JOIN block_data d USING (id) WHERE first_seq = 101",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(error::store)
        })
        .unwrap();
    drop(store); // checkpoints the WAL into the file

    // Flip one byte of that block's data in the file itself.
    let mut file = std::fs::read(&path).unwrap();
    // (The data spans overflow pages: find a stretch within one page.)
    let at = unique_position(&file, &data);
    file[at + 5] ^= 0x40;
    std::fs::write(&path, &file).unwrap();

    let store = Store::open(&path, &config(100)).unwrap();
    let err = store.sources(&[150]).unwrap_err().to_string();
    assert!(
        err.contains(&format!("block {id} (records 101..=200)"))
            && err.contains("checksum mismatch"),
        "{err}"
    );
    // The other blocks still read; recovery's scan reports the same block.
    assert_eq!(
        store.sources(&[1]).unwrap()[0].as_deref(),
        Some(batch[0].source())
    );
    assert_eq!(
        store.sources(&[201]).unwrap()[0].as_deref(),
        Some(batch[200].source())
    );
    let err = store
        .scan_after(0, |_, _, _| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("block {id}")), "{err}");
}

#[test]
fn a_truncated_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path, &config(100)).unwrap();
    store.append(&records(500, 0)).unwrap();
    drop(store);
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);
    let outcome = Store::open(&path, &config(100))
        .and_then(|store| store.sources(&(1..=500).collect::<Vec<_>>()).map(|_| store));
    let err = outcome
        .err()
        .expect("reading a truncated file fails")
        .to_string();
    assert!(!err.is_empty());
}

#[test]
fn a_directory_of_the_row_format_is_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let batch = records(23, 0);
    {
        // The schema of the row-per-record format, as an old version wrote it.
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE records (seq INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, source TEXT NOT NULL);
             CREATE INDEX records_ts ON records(ts);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('retention_pending', '5');",
        )
        .unwrap();
        for (i, r) in batch.iter().enumerate() {
            conn.execute(
                "INSERT INTO records (seq, ts, source) VALUES (?1, ?2, ?3)",
                params![i as i64 + 1, r.timestamp().as_nanos(), r.source()],
            )
            .unwrap();
        }
        // Retention had deleted the newest rows: seq 24 and 25 were used.
        conn.execute(
            "UPDATE sqlite_sequence SET seq = 25 WHERE name = 'records'",
            [],
        )
        .unwrap();
    }
    let store = Store::open(&path, &config(10)).unwrap();
    assert_eq!(store.next_seq(), 26, "the old counter is kept");
    assert_eq!(store.counts().unwrap().0, 23);
    let all: Vec<u64> = (1..=23).collect();
    let sources = store.sources(&all).unwrap();
    for (got, want) in sources.iter().zip(&batch) {
        assert_eq!(got.as_deref(), Some(want.source()));
    }
    assert_eq!(
        store.meta("retention_pending").unwrap().as_deref(),
        Some("5")
    );
    let old: Option<String> = store
        .read(|c| {
            c.query_row(
                "SELECT name FROM sqlite_master WHERE name = 'records'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(error::store)
        })
        .unwrap();
    assert_eq!(old, None, "the old table is gone");
    drop(store);
    // Opening again is a no-op.
    let store = Store::open(&path, &config(10)).unwrap();
    assert_eq!(store.counts().unwrap().0, 23);
    assert_eq!(store.append(&records(1, 0)).unwrap().first_seq, 26);
}

/// Where in `file` a stretch of `data` lies that occurs there exactly once
/// (block headers repeat across blocks; compressed columns do not; the data
/// spans overflow pages, so a stretch must lie within one page).
fn unique_position(file: &[u8], data: &[u8]) -> usize {
    (data.len() / 2..data.len() - 24)
        .step_by(24)
        .find_map(|i| {
            let window = &data[i..i + 24];
            let mut hits = file.windows(24).enumerate().filter(|(_, w)| *w == window);
            match (hits.next(), hits.next()) {
                (Some((at, _)), None) => Some(at),
                _ => None,
            }
        })
        .expect("a unique stretch of the block's bytes is in the file")
}

fn block_counts(store: &Store) -> Vec<(i64, i64)> {
    store
        .read(|c| {
            c.prepare("SELECT count, dict FROM blocks ORDER BY first_seq")
                .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
                .map_err(error::store)
        })
        .unwrap()
}

fn all_sources(store: &Store, n: u64) -> Vec<Option<String>> {
    store.sources(&(1..=n).collect::<Vec<_>>()).unwrap()
}

#[test]
fn small_blocks_are_merged_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let store = Store::open(&path, &config(100).dictionary_records(0)).unwrap();
    let mut expected = Vec::new();
    for i in 0..30 {
        let batch = records(3, i * 10_000_000_000);
        store.append(&batch).unwrap();
        expected.extend(batch.iter().map(|r| Some(r.source().to_owned())));
    }
    // A full block in the middle stays as it is.
    let big = records(100, 400_000_000_000);
    store.append(&big).unwrap();
    expected.extend(big.iter().map(|r| Some(r.source().to_owned())));
    store.append(&records(2, 500_000_000_000)).unwrap();
    assert_eq!(block_counts(&store).len(), 32);
    let before = all_sources(&store, 192);

    let done = store.maintain().unwrap();
    assert_eq!(
        done.blocks_rewritten, 30,
        "30 small blocks before the full one"
    );
    let counts: Vec<i64> = block_counts(&store).into_iter().map(|(c, _)| c).collect();
    assert_eq!(counts, [90, 100, 2], "30 blocks of 3 → one of 90");
    assert_eq!(all_sources(&store, 192), before);
    assert_eq!(before[..190], expected[..190]);
    // Nothing more to merge: the last small block has no small neighbour.
    assert_eq!(store.maintain().unwrap().blocks_rewritten, 0);
    assert_eq!(store.counts().unwrap().0, 192);
}

/// Log-like records: what dictionaries are trained on.
fn logs(n: usize, first: usize) -> Vec<Record> {
    let body: String = (first..first + n)
        .map(|i| {
            format!(
                "{{\"level\":\"{}\",\"message\":\"GET /api/v{}/orders/{} answered {} in {}ms\",\"resourceId\":\"svc-{}\",\"timestamp\":\"{}\"}}\n",
                ["info", "warn", "error"][i % 3],
                i % 3,
                i * 7919 % 100_000,
                [200, 404, 500][i % 3],
                i * 31 % 997,
                i % 20,
                Timestamp(i as i64 * 1_000_000).to_rfc3339(),
            )
        })
        .collect();
    parse_records(body.as_bytes(), &ParseOptions::default()).unwrap()
}

#[test]
fn a_dictionary_set_is_trained_and_older_blocks_are_rewritten_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let config = config(64).dictionary_records(2_000);
    let store = Store::open(&path, &config).unwrap();
    let first = logs(1_000, 0);
    store.append(&first).unwrap();
    assert!(!store.maintain().unwrap().trained, "not enough records yet");
    let second = logs(1_500, 1_000);
    store.append(&second).unwrap();
    let size_before: i64 = store
        .read(|c| {
            c.query_row("SELECT sum(length(data)) FROM block_data", [], |r| r.get(0))
                .map_err(error::store)
        })
        .unwrap();
    let done = store.maintain().unwrap();
    assert!(done.trained);
    // Up to 16 blocks a pass are rewritten with the set; go on until done.
    while store.maintain().unwrap().blocks_rewritten > 0 {}
    assert!(
        block_counts(&store).iter().all(|&(_, dict)| dict == 1),
        "{:?}",
        block_counts(&store)
    );
    let size_after: i64 = store
        .read(|c| {
            c.query_row("SELECT sum(length(data)) FROM block_data", [], |r| r.get(0))
                .map_err(error::store)
        })
        .unwrap();
    assert!(size_after < size_before, "{size_after} >= {size_before}");
    let expected: Vec<Option<String>> = first
        .iter()
        .chain(&second)
        .map(|r| Some(r.source().to_owned()))
        .collect();
    assert_eq!(all_sources(&store, 2_500), expected);
    // New blocks use the set; after reopening too.
    drop(store);
    let store = Store::open(&path, &config).unwrap();
    store.append(&logs(10, 5_000)).unwrap();
    assert_eq!(block_counts(&store).last().unwrap().1, 1);
    assert_eq!(all_sources(&store, 2_500), expected);
    let mut n = 0;
    store
        .scan_after(0, |_, _, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 2_510);
}

#[test]
fn a_damaged_dictionary_set_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite");
    let config = config(64).dictionary_records(500);
    let store = Store::open(&path, &config).unwrap();
    store.append(&logs(600, 0)).unwrap();
    assert!(store.maintain().unwrap().trained);
    store.append(&logs(64, 600)).unwrap();
    drop(store);
    let conn = Connection::open(&path).unwrap();
    conn.execute("UPDATE dictionaries SET checksum = checksum + 1", [])
        .unwrap();
    drop(conn);
    let err = match Store::open(&path, &config) {
        Err(e) => e.to_string(),
        Ok(store) => store.sources(&[620]).unwrap_err().to_string(),
    };
    assert!(
        err.contains("dictionary set 1") && err.contains("checksum"),
        "{err}"
    );
}
