//! Numeric comparisons: which values are numbers, and how they compare.
//!
//! The cases `docs/query-language.md` spells out, on one small corpus, each
//! with the count the rules give (checked against the reference evaluator
//! too, so a count here and the evaluator cannot drift apart).

use super::assert_query;
use crate::testkit::corpus;
use crate::testkit::harness::{write_all, Harness};

/// Comparisons and ranges on JSON numbers: integers and floats alike,
/// strings that look like numbers never, any value of an array, `-0` is
/// `0`, and records without a number at the path only under `NOT`.
pub fn numeric_comparisons<H: Harness>(h: &mut H) {
    let records = corpus::records(
        &[
            r#"{"message":"a","timestamp":"2023-09-15T08:00:00Z","metadata":{"http":{"status":200},"ms":12.5}}"#,
            r#"{"message":"b","timestamp":"2023-09-15T08:00:01Z","metadata":{"http":{"status":503},"ms":1200}}"#,
            r#"{"message":"c","timestamp":"2023-09-15T08:00:02Z","metadata":{"http":{"status":"500"},"ms":-0.0}}"#,
            r#"{"message":"d","timestamp":"2023-09-15T08:00:03Z","metadata":{"http":{"status":404},"ms":[3,"700",1e3]}}"#,
            r#"{"message":"e","timestamp":"2023-09-15T08:00:04Z","metadata":{"http":{"status":500.0},"ms":-7}}"#,
            r#"{"message":"f","timestamp":"2023-09-15T08:00:05Z","metadata":{"ms":9007199254740993,"ok":true}}"#,
            r#"{"message":"g","timestamp":"2023-09-15T08:00:06Z","level":"500","size":1.5e-7}"#,
        ]
        .join("\n"),
    );
    write_all(h.backend(), &records, 3);
    for (text, count) in [
        ("metadata.http.status:>=500", 2),
        ("metadata.http.status>500", 1),
        ("metadata.http.status:<500", 2),
        ("metadata.http.status<=500", 3),
        ("metadata.http.status:[404 TO 503]", 3),
        ("metadata.http.status:{404 TO 503}", 1),
        ("metadata.http.status:[500 TO 500]", 1),
        ("metadata.http.status:[* TO *]", 4),
        ("metadata.http.status:>=*", 4),
        // Exact match compares the JSON text, numbers and strings alike.
        ("metadata.http.status:500", 1),
        ("metadata.http.status:\"500.0\"", 1),
        ("NOT metadata.http.status:>=500", 5),
        ("metadata.http:>=0", 0),
        ("metadata.ms:[0 TO 0]", 1),
        ("metadata.ms:{-1 TO 1}", 1),
        ("metadata.ms:<0", 1),
        ("metadata.ms:[500 TO 800]", 0),
        ("metadata.ms:>=1000", 3),
        ("metadata.ms:>9007199254740992", 0),
        ("metadata.ms:[9007199254740992 TO 9007199254740992]", 1),
        ("metadata.ms:(<0 OR >1000)", 3),
        ("metadata.ok:>=0", 0),
        ("level:>=0", 0),
        ("size:{0 TO 0.000001}", 1),
        ("size:<=1.5e-7", 1),
        ("metadata.http.status:[600 TO 100]", 0),
        ("metadata.http.status:>=500 metadata.ms:>0", 1),
        ("no.such.path:>=0", 0),
    ] {
        assert_eq!(assert_query(h, &records, text), count, "query `{text}`");
    }
}
