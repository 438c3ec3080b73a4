use logingest_core::{parse_records, ParseOptions};

use super::*;

/// Records `{"message":"m", <path>: <value>}` for each pair.
fn records(pairs: &[(&str, String)]) -> Vec<Record> {
    let ndjson: Vec<String> = pairs
        .iter()
        .map(|(path, value)| serde_json::json!({"message": "m", *path: value}).to_string())
        .collect();
    parse_records(ndjson.join("\n").as_bytes(), &ParseOptions::default()).unwrap()
}

#[test]
fn repeated_values_keep_their_column_and_unique_ones_lose_it() {
    let mut columns = KeywordColumns::new(10, 256, None);
    let batch: Vec<(&str, String)> = (0..1_000)
        .flat_map(|i| {
            [
                ("level", format!("l{}", i % 5)),
                ("spanId", format!("{i:016x}")),
            ]
        })
        .collect();
    columns.plan(&records(&batch[..2]));
    assert!(columns.has_column("level") && columns.has_column("spanId"));
    columns.plan(&records(&batch));
    assert!(columns.has_column("level"));
    assert!(!columns.has_column("spanId"));
    assert!(!columns.has_column("never.seen"));
}

#[test]
fn a_quarter_distinct_is_the_threshold() {
    // 256 values a window: 32 distinct keep the column, 128 lose it.
    for (distinct, kept) in [(32, true), (48, true), (128, false), (256, false)] {
        let mut columns = KeywordColumns::new(10, 256, None);
        let batch: Vec<(&str, String)> = (0..256)
            .map(|i| ("p", format!("v{}", i % distinct)))
            .collect();
        columns.plan(&records(&batch));
        assert_eq!(columns.has_column("p"), kept, "{distinct} distinct of 256");
    }
}

#[test]
fn the_cap_never_frees() {
    let mut columns = KeywordColumns::new(2, 16, None);
    let unique: Vec<(&str, String)> = (0..16).map(|i| ("a", i.to_string())).collect();
    columns.plan(&records(&unique));
    assert!(!columns.has_column("a"), "lost its column");
    columns.plan(&records(&[("b", "x".into()), ("c", "x".into())]));
    assert!(columns.has_column("b"));
    assert!(!columns.has_column("c"), "past the cap: a lost, b given");
    columns.plan(&records(&[("c", "x".into())]));
    assert!(
        !columns.has_column("c"),
        "a path seen without a column never gets one"
    );
}

#[test]
fn the_saved_state_is_restored() {
    let mut columns = KeywordColumns::new(3, 16, None);
    let mut batch: Vec<(&str, String)> = (0..16).map(|i| ("id", i.to_string())).collect();
    batch.push(("level", "info".into()));
    columns.plan(&records(&batch));
    let saved = columns.saved();
    assert_eq!(
        saved,
        SavedColumns {
            column: vec!["level".into()],
            terms: vec!["id".into()],
            capped: false,
        }
    );
    let json = serde_json::to_string(&saved).unwrap();
    let mut reopened = KeywordColumns::new(3, 16, serde_json::from_str(&json).unwrap());
    assert!(reopened.has_column("level") && !reopened.has_column("id"));
    // Two of three given: one more path may have a column, then none.
    reopened.plan(&records(&[("x", "1".into()), ("y", "1".into())]));
    assert!(reopened.has_column("x") && !reopened.has_column("y"));
}

#[test]
fn column_names_keep_a_path_in_one_segment() {
    assert_eq!(column_name("col", "level"), "col.level");
    assert_eq!(
        column_name("col", "metadata.http.status"),
        r"col.metadata\.http\.status"
    );
    assert_eq!(column_name("col", r"a\b.c"), r"col.a\\b\.c");
}

#[test]
fn a_path_holding_nul_gets_no_column() {
    let mut columns = KeywordColumns::new(10, 16, None);
    columns.plan(&records(&[("a\0b", "x".into()), ("a", "y".into())]));
    assert!(!columns.has_column("a\0b"));
    assert!(columns.has_column("a"));
}

#[test]
fn a_refusal_for_the_cap_outlives_a_larger_cap() {
    let mut columns = KeywordColumns::new(1, 16, None);
    columns.plan(&records(&[("p1", "x".into()), ("p2", "y".into())]));
    assert!(columns.has_column("p1") && !columns.has_column("p2"));
    let saved = columns.saved();
    assert!(saved.capped);
    // p2's first document has no column: it must never get one, nor any
    // path after it.
    let mut reopened = KeywordColumns::new(10, 16, Some(saved));
    reopened.plan(&records(&[("p2", "z".into()), ("p3", "z".into())]));
    assert!(!reopened.has_column("p2") && !reopened.has_column("p3"));
    assert!(reopened.has_column("p1"));
}

#[test]
fn long_paths_get_no_column() {
    let mut columns = KeywordColumns::new(10, 16, None);
    let long = "k".repeat(MAX_PATH_BYTES + 1);
    let edge = "k".repeat(MAX_PATH_BYTES);
    columns.plan(&records(&[
        (long.as_str(), "x".into()),
        (edge.as_str(), "x".into()),
    ]));
    assert!(!columns.has_column(&long));
    assert!(columns.has_column(&edge));
    assert!(!columns.saved().capped);
}
