//! The scale-out backend through the whole test kit of core, against a real
//! PostgreSQL and a real Elasticsearch/OpenSearch (see `common`).

mod common;

use common::Tenant;
use logingest_core::testkit::differential::{self, Corpus, DiffConfig};
use logingest_core::testkit::Harness;
use logingest_pg::PgBackend;

/// A backend over a fresh tenant (PG schema + index prefix); `reopen` drops
/// the backend and opens the same tenant again, as a restarted node would.
struct Pg {
    backend: Option<PgBackend>,
    tenant: Tenant,
}

impl Pg {
    fn new(pg: &str, es: &str) -> Self {
        let tenant = Tenant::new(pg, es);
        Pg {
            backend: Some(tenant.open()),
            tenant,
        }
    }

    /// For `conformance_tests!`, which cannot skip: without services the
    /// test binary exits (successfully) at the first test.
    fn for_conformance() -> Self {
        let (pg, es) = common::services_or_exit();
        Pg::new(&pg, &es)
    }
}

impl Harness for Pg {
    type Backend = PgBackend;

    fn backend(&self) -> &PgBackend {
        self.backend.as_ref().expect("open backend")
    }

    fn reopen(&mut self) {
        drop(self.backend.take());
        self.backend = Some(self.tenant.open());
    }

    fn second(&self) -> Option<PgBackend> {
        Some(self.tenant.open())
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Close the backend before its tenant is destroyed.
        drop(self.backend.take());
    }
}

logingest_core::conformance_tests!(Pg::for_conformance);

/// 4 seeds × 1,000 queries over random corpora of 400 records (4,000
/// queries), one seed per test so they run in parallel. More than half of
/// them have a regex (word boundaries, `(?m)`, `(?i)`, classes,
/// alternations), none skipped: at least 2,000 in all.
macro_rules! differential_random {
    ($($name:ident: $seed:expr),*) => {$(
        #[test]
        fn $name() {
            let Some((pg, es)) = common::services() else { return };
            let config = DiffConfig::new($seed, 1_000, Corpus::Random(400)).from_env();
            let report = differential::run(&mut Pg::new(&pg, &es), &config);
            eprintln!("{report:?}");
            // (A replay of a few queries may have none.)
            assert!(
                report.queries < 1_000 || report.with_regex * 2 >= report.queries,
                "{} of {} queries had a regex",
                report.with_regex,
                report.queries
            );
        }
    )*};
}

differential_random!(
    differential_random_seed_1: 1,
    differential_random_seed_2: 2,
    differential_random_seed_3: 3,
    differential_random_seed_4: 4
);

#[test]
fn differential_loghub() {
    let Some((pg, es)) = common::services() else {
        return;
    };
    let config = DiffConfig::new(7, 1_000, Corpus::Loghub).from_env();
    differential::run(&mut Pg::new(&pg, &es), &config);
}

/// Histograms on whole microseconds take the `histogram`-aggregation path;
/// they must count exactly like the reference too, records with
/// sub-microsecond times included.
#[test]
fn histograms_on_the_microsecond_grid() {
    use logingest_core::testkit::{corpus, reference_histogram, write_all};
    use logingest_core::{Backend, HistogramRequest, Timestamp};
    use rand::{RngExt, SeedableRng};

    let Some((pg, es)) = common::services() else {
        return;
    };
    let h = Pg::new(&pg, &es);
    let records = corpus::random_records(5, 400);
    write_all(h.backend(), &records, 100);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let queries = ["*", "level:info", "-level:error", "conn*"];
    for round in 0..200 {
        let t = records[rng.random_range(0..records.len())].timestamp().0;
        let width =
            [1, 7, 1_000, 123_457, 60_000_000, 3_600_000_000][rng.random_range(0..6)] * 1000;
        let buckets = rng.random_range(1..=120i64);
        let start = t.div_euclid(1000) * 1000 - width * rng.random_range(0..buckets);
        let end = start + width * buckets;
        let query =
            logingest_core::query::parse_query(queries[round % queries.len()]).expect("query");
        let request =
            HistogramRequest::new(query, Timestamp(start), Timestamp(end), buckets as usize);
        assert_eq!(request.bucket_width(), width);
        let want = reference_histogram(&records, &request);
        let got = h.backend().histogram(&request).expect("histogram");
        assert_eq!(
            got.counts, want,
            "round {round}: [{start}, {end}) width {width}"
        );
    }
}

/// A facet with more distinct values than one `terms` answer holds (10,000)
/// falls back to composite pages; counts and ties must stay exact.
#[test]
fn facets_beyond_one_terms_page() {
    use logingest_core::testkit::{corpus, reference_facets, write_all};
    use logingest_core::{Backend, FacetRequest};

    let Some((pg, es)) = common::services() else {
        return;
    };
    let h = Pg::new(&pg, &es);
    let ndjson: String = (0..10_300)
        .map(|i| {
            // Unique values, plus a few frequent ones for the top of the list.
            let u = if i % 50 == 0 {
                format!("hot{}", i % 3)
            } else {
                format!("u{i:05}")
            };
            format!(
                "{{\"message\":\"m\",\"metadata\":{{\"u\":\"{u}\",\"v\":[\"{u}\",\"{u}\"]}}}}\n"
            )
        })
        .collect();
    let records = corpus::records(&ndjson);
    write_all(h.backend(), &records, 2_000);
    for (field, size) in [
        ("metadata.u", 5),
        ("metadata.u", usize::MAX),
        ("metadata.v", 12_000),
    ] {
        let want = reference_facets(&records, field, size);
        let got = h
            .backend()
            .facets(&FacetRequest::new(
                logingest_core::query::Query::All,
                field,
                size,
            ))
            .expect("facets");
        let got: Vec<(String, u64)> = got.into_iter().map(|f| (f.value, f.count)).collect();
        assert_eq!(got.len(), want.len(), "{field} size {size}");
        assert_eq!(got, want, "{field} size {size}");
    }
}

/// Regexes over text full of Lucene's operator characters, quotes,
/// backslashes, line breaks and non-ASCII: each answer equals the reference
/// evaluator's, constructs Lucene lacks and automata the cluster refuses
/// included.
#[test]
fn regexes_over_special_characters() {
    use logingest_core::testkit::{corpus, write_all};
    use logingest_core::{matches, Backend, Order, SearchRequest};

    let Some((pg, es)) = common::services() else {
        return;
    };
    let h = Pg::new(&pg, &es);
    let texts = [
        r#"a.b*c?d+e(f)g[h]i{j}k|l/m^n$o"p\q#r@s&t<u>v~w-x y"#,
        "first line\nsecond line",
        "tab\there",
        "",
        "\\",
        "\"",
        "a\\.b",
        "back\\slash and \"quotes\"",
        "ÜNÏCODE café 日本語 😀 ſtraße",
        "x*y",
        "exact",
        "Exact",
        "ab",
        "aaa",
    ];
    let ndjson: String = texts
        .iter()
        .map(|t| {
            serde_json::json!({"message": t, "k": t, "m": {"v": [t, "other"]}}).to_string() + "\n"
        })
        .collect();
    let records = corpus::records(&ndjson);
    write_all(h.backend(), &records, 5);
    let patterns = [
        r"\.",
        r"\*",
        r"\?",
        r"\+",
        r"\(f\)",
        r"\[h\]",
        r"\{j\}",
        r"\|",
        "/",
        r"\^",
        r"\$",
        "\"",
        r"\\",
        r"\\\.",
        r"a\\\.b",
        "#",
        "@",
        "&",
        "<u>",
        "~",
        "-",
        " ",
        r"\s",
        r"\S+",
        r"\w+",
        r"\d",
        r"\D",
        "^$",
        "^exact$",
        "^Exact$",
        "(?i)^exact$",
        "^ab$|^aaa$",
        "^a{3}$",
        "^(ab|aaa)$",
        "^a",
        "a$",
        "line$",
        "^second",
        "(?m)^second",
        "(?s)first.second",
        "first.second",
        "first\\nsecond",
        ".",
        "^.$",
        "^..$",
        "^\\\\$",
        "^\"$",
        "^a\\\\\\.b$",
        "back\\\\slash and \"quotes\"$",
        "(?i)ünïcode",
        "CAFÉ",
        "(?i)CAFÉ",
        "😀",
        "日本|café",
        "[😀-😁]",
        "[^a-z]",
        "^[^\"]*$",
        "ſ",
        "(?i)s",
        "x\\*y",
        "^x\\*y$",
        "\\bline\\b",
        "conn\\B",
        "a{2,}",
        "(a|b){2}",
        "(?-u:a)",
        "\\x{1F600}",
        "\\t",
        "^\\\\",
    ];
    // Beyond what Lucene expresses: verified on the node. The last two are
    // refused by the cluster (an automaton too large to determinize, a
    // pattern over `index.max_regex_length`): candidates without them.
    // 10,000 backslashes print as 70,000 characters of `(\\){1}`.
    let long = r"\\".repeat(10_000);
    let beyond = [
        r"\bline\b",
        r"(?m)^second",
        r"(?m)line$",
        r"conn\B",
        r"(?i)\bCAFÉ\b",
        r"^\\$|^exact\b",
        "(a|b)*a(a|b){20}",
        long.as_str(),
    ];
    for text in patterns.iter().copied().chain(beyond) {
        for field in ["message", "k", "m.v"] {
            let query = logingest_core::query::Query::Regex {
                field: if field == "message" {
                    logingest_core::query::Field::Message
                } else {
                    logingest_core::query::Field::Keyword(field.into())
                },
                pattern: logingest_core::query::RegexPattern::new(text).expect("valid regex"),
            };
            let mut want: Vec<&str> = records
                .iter()
                .filter(|r| matches(&query, r))
                .map(|r| r.source())
                .collect();
            want.sort_unstable();
            let request = SearchRequest::new(query.clone())
                .order(Order::Asc)
                .limit(100);
            let page = h
                .backend()
                .search(&request)
                .unwrap_or_else(|e| panic!("/{text}/ on {field}: {e}"));
            let mut got: Vec<&str> = page.hits.iter().map(|h| h.source.as_str()).collect();
            got.sort_unstable();
            assert_eq!(got, want, "/{text}/ on {field}");
            assert_eq!(page.total, want.len() as u64, "/{text}/ on {field}");
        }
    }
}

/// An OR of more terms than the cluster takes in one query
/// (`indices.query.bool.max_clause_count`, 1,024) still runs, with the
/// evaluator's answer: every record is a candidate then.
#[test]
fn a_query_beyond_the_clause_limit_runs() {
    use logingest_core::query::Query;
    use logingest_core::testkit::{corpus, write_all};
    use logingest_core::{matches, Backend, SearchRequest};

    let Some((pg, es)) = common::services() else {
        return;
    };
    let h = Pg::new(&pg, &es);
    let records = corpus::random_records(9, 300);
    write_all(h.backend(), &records, 100);
    let mut terms: Vec<Query> = (0..1_100)
        .map(|i| Query::Keyword {
            field: "resourceId".into(),
            value: format!("no-such-{i}"),
        })
        .collect();
    terms.push(Query::Keyword {
        field: "level".into(),
        value: "error".into(),
    });
    let query = Query::Or(terms);
    let want = records.iter().filter(|r| matches(&query, r)).count() as u64;
    assert!(want > 0);
    let page = h
        .backend()
        .search(&SearchRequest::new(query).limit(10))
        .expect("a long OR runs");
    assert_eq!(page.total, want);
    assert_eq!(page.hits.len() as u64, want.min(10));
}
