//! Rows of `stats` and `top` from the cluster's aggregations (`rows.rs`),
//! against a real PostgreSQL and OpenSearch: that they come from the
//! aggregations and not from records (the PG rows are deleted behind the
//! backend's back), and that a search refused for the cluster's bucket
//! limit is split by the first key's values. A test binary of its own:
//! one test lowers `search.max_buckets` for the whole cluster meanwhile.

mod common;

use logingest_core::query::parse_pipeline_at;
use logingest_core::testkit::{corpus, services::unique_name, write_all};
use logingest_core::{reference_rows, Backend, Record, RowsRequest, Timestamp};
use logingest_pg::{PgBackend, PgConfig};

/// Held by each test: one lowers a limit of the whole cluster, which the
/// others must not meet.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A tenant whose schema name the test knows, and its backend.
fn tenant(pg: &str, es: &str) -> (common::Tenant, PgBackend, String) {
    let name = unique_name("lgt");
    let tenant = common::Tenant {
        config: PgConfig::new(pg, es).schema(&name).index_prefix(&name),
    };
    let backend = tenant.open();
    (tenant, backend, name)
}

/// Deletes every PG row of the tenant `name`: rows read from records would
/// now miss them, rows from aggregations not.
fn delete_pg_rows(pg: &str, name: &str) {
    let mut client = postgres::Client::connect(pg, postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("DELETE FROM {name}.records"))
        .expect("delete the PG rows");
}

/// Checks each pipeline's rows against the reference's over `records`.
fn check(backend: &PgBackend, records: &[Record], texts: &[&str]) {
    for text in texts {
        let pipeline = parse_pipeline_at(text, Timestamp(0)).expect("pipeline");
        let want = reference_rows(&pipeline, records).expect("rows");
        let got = backend
            .rows(&RowsRequest::new(pipeline))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(got, want, "rows of `{text}`");
    }
}

/// Rows of `stats` come from the cluster's aggregations, not from records:
/// with every PG row deleted behind the backend's back (so records read
/// for rows would be missing), they still equal the reference's over what
/// was indexed, numbers held twice in a record included. A query the
/// aggregations cannot answer exactly falls back to records (and so sees
/// none).
#[test]
fn stats_rows_come_from_aggregations() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tenant, backend, name) = tenant(&pg, &es);
    let ndjson: String = (0..300)
        .map(|i| {
            let ms = match i % 4 {
                0 => format!("{}", i % 7),
                1 => format!("[{0},{0}]", i % 5),
                2 => "\"12\"".to_owned(),
                _ => "null".to_owned(),
            };
            format!(
                "{{\"message\":\"m {i}\",\"timestamp\":\"2023-09-15T08:{:02}:{:02}Z\",\"level\":\"{}\",\"tags\":[\"t{}\",\"t{}\"],\"metadata\":{{\"ms\":{ms}}}}}\n",
                i / 60,
                i % 60,
                ["info", "warn", "error"][i % 3],
                i % 2,
                i % 3,
            )
        })
        .collect();
    let records = corpus::records(&ndjson);
    write_all(&backend, &records, 100);
    delete_pg_rows(&pg, &name);
    check(
        &backend,
        &records,
        &[
        "* | stats count(), sum(metadata.ms), quantile(0.5, metadata.ms), count_uniq(tags) by (level)",
        "* | stats count(metadata), avg(metadata.ms), min(metadata.ms), max(metadata.ms) by (tags, bucket(timestamp, 1m))",
        "level:error | stats sum(metadata.ms), count_uniq(level)",
        "* | top 2 by (tags, level)",
        "* | stats count(), max(metadata.ms) by (level, metadata)",
        ],
    );
    // More values than one aggregation answer holds: from records, none.
    let pipeline =
        parse_pipeline_at("* | stats sum(metadata.ms) by (id)", Timestamp(0)).expect("pipeline");
    let many: String = (0..10_001)
        .map(|i| {
            format!(
                "{{\"message\":\"x\",\"id\":\"x{i}\",\"timestamp\":\"2023-09-16T00:00:00Z\"}}\n"
            )
        })
        .collect();
    write_all(&backend, &corpus::records(&many), 5_000);
    delete_pg_rows(&pg, &name);
    let got = backend.rows(&RowsRequest::new(pipeline)).expect("rows");
    assert!(got.rows.is_empty(), "{} rows", got.rows.len());
}

/// With `search.max_buckets` at 2,000, groups of 3,000 distinct numbers
/// are refused in one search and split by the first key's values until
/// each search fits; the rows are still the reference's, from
/// aggregations (the PG rows are gone).
#[test]
fn a_refused_search_is_split_by_the_first_key() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tenant, backend, name) = tenant(&pg, &es);
    let records = distinct_numbers(&backend, &pg, &name, 3_000, 30);
    let _limit = MaxBuckets::set(&es, 2_000);
    check(
        &backend,
        &records,
        &["* | stats quantile(0.5, n), sum(n), count() by (g)"],
    );
}

/// Writes `n` records with a distinct number `n` each, in `groups` groups
/// `g`, then deletes their PG rows; returns them.
fn distinct_numbers(
    backend: &PgBackend,
    pg: &str,
    name: &str,
    n: usize,
    groups: usize,
) -> Vec<Record> {
    let ndjson: String = (0..n)
        .map(|i| {
            format!(
                "{{\"message\":\"m\",\"timestamp\":\"2023-09-15T08:00:00Z\",\"g\":\"g{}\",\"n\":{i}}}\n",
                i % groups
            )
        })
        .collect();
    let records = corpus::records(&ndjson);
    write_all(backend, &records, 6_000);
    delete_pg_rows(pg, name);
    records
}

/// `search.max_buckets` of the cluster at `es` lowered, back to its
/// default on drop (a failing test included).
struct MaxBuckets(String);

impl MaxBuckets {
    fn set(es: &str, limit: u64) -> MaxBuckets {
        put_max_buckets(es, serde_json::json!(limit));
        MaxBuckets(es.to_owned())
    }
}

impl Drop for MaxBuckets {
    fn drop(&mut self) {
        put_max_buckets(&self.0, serde_json::Value::Null);
    }
}

fn put_max_buckets(es: &str, limit: serde_json::Value) {
    let body = serde_json::json!({"transient": {"search.max_buckets": limit}});
    let answer = ureq::put(&format!("{es}/_cluster/settings"))
        .header("Content-Type", "application/json")
        .send(body.to_string())
        .expect("cluster settings");
    assert_eq!(answer.status(), 200);
}

/// Groups whose numbers make an estimated 36,000 buckets (more than one
/// search should make) are searched in slices of the first key's values,
/// chosen from the estimate, without a refusal; the rows are still the
/// reference's, from aggregations.
#[test]
fn many_buckets_are_searched_in_slices() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tenant, backend, name) = tenant(&pg, &es);
    let records = distinct_numbers(&backend, &pg, &name, 36_000, 40);
    check(
        &backend,
        &records,
        &["* | stats quantile(0.9, n), max(n), count() by (g)"],
    );
}
