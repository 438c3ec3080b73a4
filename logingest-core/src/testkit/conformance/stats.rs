//! Stats and top pipes: each function's rows equal the reference
//! evaluator's, in the shapes where backends take different paths (no
//! groups, groups by a path with few values or by unique ids, by several
//! keys and multi-valued keys, a filter matching one record of many,
//! records deleted by retention).

use crate::backend::Backend;
use crate::query::parse_pipeline_at;
use crate::rows::RowsRequest;
use crate::testkit::corpus;
use crate::testkit::harness::{write_all, Harness};
use crate::timestamp::Timestamp;

/// Records with unique ids, few-valued keys, arrays, numbers (integers,
/// floats, a number twice in one array, strings that look like numbers),
/// 6,000 of them: enough ids that a backend may read a lone match's
/// record instead of its index.
fn records() -> Vec<crate::Record> {
    let lines: Vec<String> = (0..6_000)
        .map(|i| {
            let size = match i % 6 {
                0 => format!("{}", i % 7),
                1 => format!("[{0},{0}]", i % 5),
                2 => "\"12\"".to_owned(),
                3 => format!("{}.25", i % 11),
                4 => format!("-{}", i % 3),
                _ => "null".to_owned(),
            };
            let tags = match i % 4 {
                0 => r#"["a","b"]"#,
                1 => r#"["b","b"]"#,
                2 => r#""c""#,
                _ => "[]",
            };
            format!(
                r#"{{"message":"m {i}","timestamp":"2023-09-15T{:02}:{:02}:{:02}Z","level":"{}","traceId":"t{i}","tags":{tags},"metadata":{{"size":{size},"duration_ms":{}}}}}"#,
                8 + i / 3600,
                i / 60 % 60,
                i % 60,
                ["info", "warn", "error"][i % 3],
                (i * 37) % 1000,
            )
        })
        .collect();
    corpus::records(&lines.join("\n"))
}

/// Every function, grouped and not, equals the reference's rows, before
/// and after retention deleted the older half.
pub fn stats_functions<H: Harness>(h: &mut H) {
    let mut records = records();
    write_all(h.backend(), &records, 6_000);
    let check = |h: &mut H, records: &[crate::Record]| {
        for text in [
            "* | stats count(), count(metadata), count(tags), count_uniq(traceId), \
             count_uniq(level), sum(metadata.size), avg(metadata.size), \
             min(metadata.duration_ms), max(metadata.duration_ms), \
             quantile(0.5, metadata.size), quantile(0.99, metadata.duration_ms)",
            "level:error | stats count_uniq(traceId) as ids, sum(metadata.size)",
            "* | stats count_uniq(traceId), quantile(0.99, metadata.duration_ms) by (level)",
            "* | stats sum(metadata.size), count_uniq(tags), count() by (tags, bucket(timestamp, 10m))",
            "traceId:t7 | stats count(), sum(metadata.size), count_uniq(tags) by (traceId)",
            "traceId:t1* | stats max(metadata.duration_ms), count_uniq(traceId) by (level)",
            "level:error | stats count(), avg(metadata.duration_ms) by (traceId) \
             | sort by (avg(metadata.duration_ms) desc, traceId) | limit 5",
            "* | stats count_uniq(level), min(metadata.size) by (metadata.size)",
            "* | top 3 by (metadata.size)",
            // `metadata` is an object: no value of its own, the null group.
            "* | stats count(), sum(metadata.size) by (metadata, level)",
            "no.such.field:x | stats count(), count_uniq(traceId), sum(metadata.size)",
        ] {
            let pipeline = parse_pipeline_at(text, Timestamp(0)).expect("a valid pipeline");
            let want = crate::reference_rows(&pipeline, records).expect("rows");
            let got = h
                .backend()
                .rows(&RowsRequest::new(pipeline))
                .unwrap_or_else(|e| panic!("rows of `{text}`: {e}"));
            assert_eq!(got, want, "rows of `{text}`");
        }
    };
    check(h, &records);
    let cut = records[3_000].timestamp();
    h.backend().delete_older_than(cut).expect("retention");
    records.retain(|r| r.timestamp() >= cut);
    check(h, &records);

    // One record in 90,000 groups (two keys of 300 values each) is
    // refused by a budget of 1 MiB before the groups are made.
    let values = |prefix: &str| {
        let all: Vec<String> = (0..300).map(|i| format!("\"{prefix}{i}\"")).collect();
        all.join(",")
    };
    let wide = corpus::records(&format!(
        r#"{{"message":"wide","timestamp":"2023-09-15T23:00:00Z","a":[{}],"b":[{}]}}"#,
        values("a"),
        values("b")
    ));
    write_all(h.backend(), &wide, 1);
    let pipeline = parse_pipeline_at("message:wide | stats count() by (a, b)", Timestamp(0))
        .expect("a valid pipeline");
    let request = RowsRequest::new(pipeline).memory_budget(1 << 20);
    match h.backend().rows(&request) {
        Err(crate::Error::TooLarge(_)) => {}
        other => panic!("90,000 groups within 1 MiB: {other:?}"),
    }
}
