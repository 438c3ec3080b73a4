//! The rows of `stats` and `top`, spelled out on a small corpus.

use super::*;
use crate::parse::{parse_records, ParseOptions};
use crate::query::parse_pipeline_at;

fn corpus() -> Vec<Record> {
    let text = [
        r#"{"message":"a","timestamp":"2023-09-15T08:00:10Z","level":"error","resourceId":"api","metadata":{"ms":10,"user":"u1","tags":["x","y"]}}"#,
        r#"{"message":"b","timestamp":"2023-09-15T08:00:50Z","level":"error","resourceId":"api","metadata":{"ms":30,"user":"u2","tags":["x","x"]}}"#,
        r#"{"message":"c","timestamp":"2023-09-15T08:01:00Z","level":"info","resourceId":"db","metadata":{"ms":"20","user":"u1"}}"#,
        r#"{"message":"d","timestamp":"2023-09-15T08:01:30Z","level":"error","resourceId":"db","metadata":{"ms":[5,7.5]}}"#,
        r#"{"message":"e","timestamp":"2023-09-15T07:59:59Z","level":"warn","metadata":{"ms":0.1}}"#,
    ]
    .join("\n");
    parse_records(text.as_bytes(), &ParseOptions::default()).unwrap()
}

fn run(text: &str) -> Rows {
    let pipeline = parse_pipeline_at(text, Timestamp(0)).unwrap();
    rows(&pipeline, &corpus()).expect("rows")
}

fn t(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn c(n: u64) -> Cell {
    Cell::Count(n)
}

fn n(v: f64) -> Cell {
    Cell::Number(Number::new(v).unwrap())
}

fn time(s: &str) -> Cell {
    Cell::Time(Timestamp::parse_rfc3339(s).unwrap())
}

#[test]
fn groups_by_value_with_null_last() {
    let got = run("| stats count() by (resourceId)");
    assert_eq!(got.columns, ["resourceId", "count()"]);
    assert_eq!(
        got.rows,
        [
            vec![t("api"), c(2)],
            vec![t("db"), c(2)],
            vec![Cell::Null, c(1)]
        ]
    );
}

#[test]
fn multi_valued_keys_put_a_record_in_each_group_once() {
    let got = run("| stats count() as n by (metadata.tags, level)");
    assert_eq!(got.columns, ["metadata.tags", "level", "n"]);
    assert_eq!(
        got.rows,
        [
            vec![t("x"), t("error"), c(2)],
            vec![t("y"), t("error"), c(1)],
            vec![Cell::Null, t("error"), c(1)],
            vec![Cell::Null, t("info"), c(1)],
            vec![Cell::Null, t("warn"), c(1)],
        ]
    );
}

#[test]
fn functions_of_numbers_ignore_text_and_are_null_without_numbers() {
    let got = run(
        "| stats count(metadata.ms), count_uniq(metadata.user), sum(metadata.ms), avg(metadata.ms), \
         min(metadata.ms), max(metadata.ms), quantile(0.5, metadata.ms), sum(level) by (level)",
    );
    assert_eq!(
        got.rows,
        [
            // error: ms 10, 30, 5, 7.5 (four numbers from three records).
            vec![
                t("error"),
                c(3),
                c(2),
                n(52.5),
                n(13.125),
                n(5.0),
                n(30.0),
                n(7.5),
                Cell::Null
            ],
            // info: ms is the text "20": no numbers.
            vec![
                t("info"),
                c(1),
                c(1),
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null,
                Cell::Null
            ],
            vec![
                t("warn"),
                c(1),
                c(0),
                n(0.1),
                n(0.1),
                n(0.1),
                n(0.1),
                n(0.1),
                Cell::Null
            ],
        ]
    );
}

#[test]
fn nearest_rank_quantiles() {
    let sorted: Vec<Number> = (1..=10)
        .map(|i| Number::new(f64::from(i)).unwrap())
        .collect();
    let q = |v: f64| nearest_rank(&sorted, Quantile::new(v).unwrap()).map(Number::get);
    assert_eq!(q(0.0), Some(1.0));
    assert_eq!(q(0.1), Some(1.0));
    assert_eq!(q(0.11), Some(2.0));
    assert_eq!(q(0.5), Some(5.0));
    assert_eq!(q(0.99), Some(10.0));
    assert_eq!(q(1.0), Some(10.0));
    assert_eq!(nearest_rank(&[], Quantile::new(0.5).unwrap()), None);
}

#[test]
fn time_buckets_are_aligned_to_the_epoch() {
    let got = run("level:(error OR warn) | stats count() by (bucket(timestamp, 1m))");
    assert_eq!(got.columns, ["bucket(timestamp, 1m)", "count()"]);
    assert_eq!(
        got.rows,
        [
            vec![time("2023-09-15T07:59:00Z"), c(1)],
            vec![time("2023-09-15T08:00:00Z"), c(2)],
            vec![time("2023-09-15T08:01:00Z"), c(1)],
        ]
    );
    assert_eq!(bucket(Timestamp(-1), 10), Timestamp(-10));
}

#[test]
fn stats_without_groups_make_one_row_even_of_nothing() {
    let got = run("level:nothing | stats count(), max(metadata.ms)");
    assert_eq!(got.rows, [vec![c(0), Cell::Null]]);
    let grouped = run("level:nothing | stats count() by (level)");
    assert!(grouped.rows.is_empty());
}

#[test]
fn top_sort_and_limit() {
    let top = run("| top 2 by (level)");
    assert_eq!(top.columns, ["level", "count"]);
    assert_eq!(top.rows, [vec![t("error"), c(3)], vec![t("info"), c(1)]]);
    let sorted = run("| stats count() as n, max(metadata.ms) as slowest by (resourceId) | sort by (slowest desc, n) | limit 2");
    assert_eq!(
        sorted.rows,
        [vec![t("api"), c(2), n(30.0)], vec![t("db"), c(2), n(7.5)]]
    );
    // Null sorts last in either direction.
    let nulls = run("| stats min(metadata.ms) as m by (level) | sort by (m desc)");
    let order: Vec<&Cell> = nulls.rows.iter().map(|r| &r[0]).collect();
    assert_eq!(order, [&t("error"), &t("warn"), &t("info")]);
    assert!(rows(
        &parse_pipeline_at("level:error | limit 3", Timestamp(0)).unwrap(),
        &corpus()
    )
    .is_none());
}

#[test]
fn a_backend_refuses_rows_beyond_the_memory_budget() {
    use crate::backend::Backend;
    use crate::rows::RowsRequest;
    let backend = crate::MemoryBackend::new();
    backend.write_batch(&corpus()).unwrap();
    backend.refresh().unwrap();
    let pipeline = parse_pipeline_at(
        "| stats count_uniq(metadata.user) by (spanId, level)",
        Timestamp(0),
    )
    .unwrap();
    let within = backend.rows(&RowsRequest::new(pipeline.clone())).unwrap();
    assert_eq!(Some(within), rows(&pipeline, &corpus()));
    let err = backend
        .rows(&RowsRequest::new(pipeline).memory_budget(100))
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err}");
    let not_rows = parse_pipeline_at("level:error | limit 3", Timestamp(0)).unwrap();
    assert!(matches!(
        backend.rows(&RowsRequest::new(not_rows)),
        Err(Error::InvalidRequest(_))
    ));
}

#[test]
fn the_earliest_times_and_many_valued_records_do_not_break_rows() {
    use crate::backend::Backend;
    use crate::rows::RowsRequest;
    let text = [
        r#"{"message":"old","timestamp":"1677-09-21T00:12:44Z"}"#.to_owned(),
        format!(
            r#"{{"message":"wide","timestamp":"2023-09-15T08:00:00Z","a":{:?},"b":{:?}}}"#,
            (0..300).map(|i| format!("a{i}")).collect::<Vec<_>>(),
            (0..300).map(|i| format!("b{i}")).collect::<Vec<_>>()
        ),
    ]
    .join("\n");
    let records = parse_records(text.as_bytes(), &ParseOptions::default()).unwrap();
    let backend = crate::MemoryBackend::new();
    backend.write_batch(&records).unwrap();
    backend.refresh().unwrap();
    // A bucket starting before the earliest time is shown at it.
    let by_day = parse_pipeline_at(
        "message:old | stats count() by (bucket(timestamp, 1d))",
        Timestamp(0),
    )
    .unwrap();
    let want = rows(&by_day, &records).unwrap();
    assert_eq!(want.rows, [vec![Cell::Time(Timestamp(i64::MIN)), c(1)]]);
    assert_eq!(backend.rows(&RowsRequest::new(by_day)).unwrap(), want);
    // 300 × 300 groups from one record: refused before they are made.
    let product = parse_pipeline_at("| stats count() by (a, b)", Timestamp(0)).unwrap();
    let err = backend
        .rows(&RowsRequest::new(product).memory_budget(1 << 20))
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge(_)), "{err}");
}

/// A backend's partial groups merge into the rows the records make.
#[test]
fn partials_merge_as_records_add() {
    let pipeline = parse_pipeline_at(
        "* | stats count(), count_uniq(metadata.user), sum(metadata.ms) by (level)",
        Timestamp(0),
    )
    .unwrap();
    let num = |v: f64| Number::new(v).unwrap();
    let mut groups = Groups::new(&pipeline, usize::MAX).unwrap();
    let error = || vec![t("error")];
    groups
        .merge(
            error(),
            vec![
                Partial::Count(2),
                Partial::Values(vec!["u1".into(), "u2".into()]),
                Partial::Numbers(vec![num(10.0), num(30.0)]),
            ],
        )
        .unwrap();
    groups
        .merge(
            error(),
            vec![
                Partial::Count(1),
                Partial::Values(vec!["u2".into()]),
                Partial::Numbers(vec![num(5.0), num(7.5)]),
            ],
        )
        .unwrap();
    for record in corpus()
        .iter()
        .filter(|r| r.keyword_values("level").all(|l| l != "error"))
    {
        groups.add(record).unwrap();
    }
    assert_eq!(groups.finish(), run(pipeline.to_string().as_str()));

    // Partials that do not fit the functions are refused, not guessed at.
    let mut groups = Groups::new(&pipeline, usize::MAX).unwrap();
    for (key, partials) in [
        (error(), vec![Partial::Count(1)]),
        (vec![], vec![Partial::Count(1); 3]),
        (
            error(),
            vec![Partial::Count(1), Partial::Count(1), Partial::Count(1)],
        ),
    ] {
        assert!(matches!(
            groups.merge(key, partials),
            Err(Error::InvalidRequest(_))
        ));
    }
    // A distinct count stands for the whole group.
    let uniq = parse_pipeline_at("* | stats count_uniq(traceId)", Timestamp(0)).unwrap();
    let mut groups = Groups::new(&uniq, usize::MAX).unwrap();
    groups.merge(vec![], vec![Partial::Distinct(7)]).unwrap();
    assert!(groups
        .merge(vec![], vec![Partial::Values(vec!["x".into()])])
        .is_err());
    assert_eq!(groups.finish().rows, vec![vec![c(7)]]);
}

/// The budget bounds what merged partials keep.
#[test]
fn partials_count_toward_the_budget() {
    let pipeline = parse_pipeline_at("* | stats count_uniq(traceId)", Timestamp(0)).unwrap();
    let mut groups = Groups::new(&pipeline, 4_096).unwrap();
    let ids = (0..1_000).map(|i| format!("trace-{i}")).collect();
    assert!(matches!(
        groups.merge(vec![], vec![Partial::Values(ids)]),
        Err(Error::TooLarge(_))
    ));
}
