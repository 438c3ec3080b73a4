//! Directories written by other versions, and damaged ones, through the
//! backend's public API: an index of an older schema is rebuilt from the
//! record store on open, and a damaged block of the record store is an
//! error naming it, never a wrong or missing hit.

use logingest_core::query::parse_query;
use logingest_core::{
    parse_records, Backend, FacetRequest, HistogramRequest, ParseOptions, Record, SearchRequest,
    Timestamp,
};
use logingest_tantivy::{TantivyBackend, TantivyConfig};

fn body(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "{{\"message\":\"record number {i}\",\"level\":\"{}\",\"timestamp\":\"2024-01-01T00:00:{:02}Z\"}}\n",
                ["info", "error"][i % 2],
                i % 60
            )
        })
        .collect()
}

fn config() -> TantivyConfig {
    TantivyConfig::default()
        .refresh_interval(None)
        .block_records(100)
}

fn count(backend: &TantivyBackend, q: &str) -> u64 {
    let mut request = SearchRequest::new(parse_query(q).unwrap());
    request.limit = 1000;
    backend.search(&request).unwrap().total
}

/// A directory holding `n` records, written and committed, its backend
/// closed; and the records.
fn written(n: usize) -> (tempfile::TempDir, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let records = parse_records(body(n).as_bytes(), &ParseOptions::default()).unwrap();
    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    backend.write_batch(&records).unwrap();
    backend.refresh().unwrap();
    drop(backend);
    (dir, records)
}

#[test]
fn an_index_of_another_schema_is_rebuilt_from_the_record_store() {
    let (dir, _) = written(250);
    // Replace the index by one of a different schema, as an older version
    // would have left it.
    let index_dir = dir.path().join("index");
    std::fs::remove_dir_all(&index_dir).unwrap();
    std::fs::create_dir_all(&index_dir).unwrap();
    let mut builder = tantivy::schema::Schema::builder();
    builder.add_i64_field("ts", tantivy::schema::INDEXED);
    let old = tantivy::Index::create_in_dir(&index_dir, builder.build()).unwrap();
    let mut writer: tantivy::IndexWriter = old.writer(15_000_000).unwrap();
    writer.commit().unwrap();
    drop(writer);

    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    assert_eq!(count(&backend, ""), 250);
    assert_eq!(count(&backend, "level:error"), 125);
    assert_eq!(count(&backend, "\"number 7\""), 1);
}

#[test]
fn a_damaged_block_is_an_error_naming_it_not_a_wrong_answer() {
    let (dir, records) = written(300);
    // Damage the second block (records 101..=200) in the file itself.
    let path = dir.path().join("records.sqlite");
    let data: Vec<u8> = {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row(
            "SELECT data FROM block_data JOIN blocks USING (id) WHERE first_seq = 101",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let mut file = std::fs::read(&path).unwrap();
    let at = unique_position(&file, &data);
    file[at + 3] ^= 0x01;
    std::fs::write(&path, &file).unwrap();

    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    // Record 150 (seq 151) is in the damaged block: its search fails loudly.
    let err = backend
        .search(&SearchRequest::new(parse_query("\"number 150\"").unwrap()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("records 101..=200") && err.contains("corrupt"),
        "{err}"
    );
    // So does a message regex, which verifies its candidates on the
    // blocks' messages, when a candidate is in the damaged block: in a
    // search, a histogram and facets alike.
    let regex = parse_query("message:/number 1[5]0$/").unwrap();
    let err = backend
        .search(&SearchRequest::new(regex.clone()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("records 101..=200"), "{err}");
    let start = Timestamp::parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
    let end = Timestamp::parse_rfc3339("2024-01-01T00:01:00Z").unwrap();
    let histogram = HistogramRequest::new(regex.clone(), start, end, 4);
    assert!(backend.histogram(&histogram).is_err());
    assert!(backend
        .facets(&FacetRequest::new(regex, "level", 5))
        .is_err());
    // Records in other blocks are still served.
    let page = backend
        .search(&SearchRequest::new(parse_query("\"number 250\"").unwrap()))
        .unwrap();
    assert_eq!(page.hits.len(), 1);
    assert_eq!(page.hits[0].source, records[250].source());
    let regex = parse_query("message:/number 2[5]0$/").unwrap();
    let page = backend.search(&SearchRequest::new(regex)).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.hits[0].source, records[250].source());
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

#[test]
fn an_index_without_this_versions_format_file_is_rebuilt() {
    let (dir, _) = written(250);
    let index_dir = dir.path().join("index");
    let segments = || {
        tantivy::Index::open_in_dir(&index_dir)
            .unwrap()
            .searchable_segment_ids()
            .unwrap()
    };
    let before = segments();
    assert!(!before.is_empty());
    // An index of the same schema with FST term dictionaries (earlier
    // versions) has no format file; its dictionaries cannot be read.
    std::fs::remove_file(index_dir.join("logingest-index-format")).unwrap();

    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    assert_eq!(count(&backend, ""), 250);
    assert_eq!(count(&backend, "\"number 7\""), 1);
    drop(backend);
    assert!(index_dir.join("logingest-index-format").exists());
    let after = segments();
    assert!(
        after.iter().all(|id| !before.contains(id)),
        "the index was kept, not rebuilt: {before:?} -> {after:?}"
    );
    // Opened again, it is kept.
    let backend = TantivyBackend::open(dir.path(), config()).unwrap();
    assert_eq!(count(&backend, ""), 250);
    drop(backend);
    assert_eq!(segments(), after);
}
