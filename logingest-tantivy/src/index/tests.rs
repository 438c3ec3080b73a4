use logingest_core::{parse_records, Limits, ParseOptions};
use tantivy::schema::Value;

use super::*;

fn wide(n: usize) -> Record {
    let members: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{{"x":"v"}}"#)).collect();
    let text = format!(r#"{{"message":"m","metadata":{{{}}}}}"#, members.join(","));
    let limits = Limits::default()
        .max_record_bytes(usize::MAX)
        .max_body_bytes(usize::MAX);
    let options = ParseOptions::default().limits(limits);
    parse_records(text.as_bytes(), &options).unwrap().remove(0)
}

/// The default column rule, planned over `record`.
fn columns(record: &Record) -> KeywordColumns {
    let config = TantivyConfig::default();
    let mut columns = KeywordColumns::new(config.column_paths, config.column_window, None);
    columns.plan(std::slice::from_ref(record));
    columns
}

#[test]
fn each_path_and_parent_once() {
    let (_, fields) = schema();
    let record = wide(3);
    let doc = document(&fields, &columns(&record), 1, &record);
    let mut paths: Vec<&str> = doc
        .get_all(fields.path)
        .filter_map(|v| v.as_str())
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "metadata",
            "metadata.k0",
            "metadata.k0.x",
            "metadata.k1",
            "metadata.k1.x",
            "metadata.k2",
            "metadata.k2.x"
        ]
    );
}

#[test]
fn documents_cost_linear_time_in_their_keys() {
    // A ratio within one run, not a time limit: 8× the keys must cost
    // about 8× (the earlier list search for known paths cost ~64×; the
    // bound leaves room for a busy machine).
    let (_, fields) = schema();
    let (small, large) = (wide(2_500), wide(20_000));
    let fastest = |record: &Record| {
        let columns = columns(record);
        (0..5)
            .map(|_| {
                let started = std::time::Instant::now();
                std::hint::black_box(document(&fields, &columns, 1, record));
                started.elapsed()
            })
            .min()
            .unwrap()
            .as_secs_f64()
    };
    let ratio = fastest(&large) / fastest(&small);
    assert!(ratio < 24.0, "8× the keys took {ratio:.1}× the time");
}
