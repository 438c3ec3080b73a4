//! Cases about aggregations, stats and request validation.

use super::q;
use crate::backend::{Backend, FacetRequest, HistogramRequest, SearchRequest, TimeRange};
use crate::error::Error;
use crate::eval::matches;
use crate::query::Query;
use crate::testkit::corpus;
use crate::testkit::harness::{reference_facets, reference_histogram, write_all, Harness};
use crate::timestamp::Timestamp;

/// Histogram buckets count exactly the matching records in each
/// fixed-width bucket, edges included at the start and excluded at the end.
pub fn histogram_counts<H: Harness>(h: &mut H) {
    let records = corpus::random_records(61, 500);
    write_all(h.backend(), &records, 100);
    let start = Timestamp(corpus::BASE_TIME);
    for (text, span_hours, buckets) in [
        ("*", 40, 40),
        ("level:info", 40, 7),
        ("conn*", 10, 3),
        ("*", 1, 60),
        ("-level:error", 80, 1),
    ] {
        let end = Timestamp(start.0 + span_hours * 3_600_000_000_000);
        let request = HistogramRequest::new(q(text), start, end, buckets);
        let got = h.backend().histogram(&request).expect("histogram");
        let want = reference_histogram(&records, &request);
        assert_eq!(
            got.counts, want,
            "histogram of `{text}` over {span_hours} h in {buckets} buckets"
        );
        assert_eq!(
            (got.start, got.bucket_width),
            (start, request.bucket_width())
        );
    }
}

/// Facets give the exact top values, ties broken by value.
pub fn facets_top_values<H: Harness>(h: &mut H) {
    let records = corpus::random_records(62, 500);
    write_all(h.backend(), &records, 100);
    let window = TimeRange {
        start: Some(Timestamp(corpus::BASE_TIME + 3_600_000_000_000 * 5)),
        end: None,
    };
    for (field, text, size, time) in [
        ("level", "*", 10, TimeRange::default()),
        ("resourceId", "level:info", 3, TimeRange::default()),
        ("metadata.tags", "*", 10, window),
        ("metadata.retries", "-level:error", 2, TimeRange::default()),
        ("no.such.field", "*", 5, TimeRange::default()),
    ] {
        let query = q(text);
        let matching = records
            .iter()
            .filter(|r| time.contains(r.timestamp()) && matches(&query, r));
        let want = reference_facets(matching, field, size);
        let got = h
            .backend()
            .facets(&FacetRequest::new(query, field, size).time(time))
            .expect("facets");
        let got: Vec<(String, u64)> = got.into_iter().map(|f| (f.value, f.count)).collect();
        assert_eq!(got, want, "facets of `{field}` for `{text}`");
    }
}

/// A JSON key may hold `\u0000` or `\u0001`: such a key is a path of its
/// own, whatever a backend uses those characters for in its terms. Facets of
/// `a` must not count the values of `a\0b` (nor the other way round), and
/// keyword queries on `a` must not find them.
pub fn keys_holding_nul<H: Harness>(h: &mut H) {
    let records = corpus::records(
        &[
            r#"{"message":"m","a":"b\u0000x","timestamp":"2023-09-15T08:00:00Z"}"#,
            r#"{"message":"m","a\u0000b":"x","timestamp":"2023-09-15T08:00:01Z"}"#,
            r#"{"message":"m","a\u0000b":"y","a\u0001":"z","timestamp":"2023-09-15T08:00:02Z"}"#,
            r#"{"message":"m","a":"b","ab":"c","timestamp":"2023-09-15T08:00:03Z"}"#,
        ]
        .join("\n"),
    );
    write_all(h.backend(), &records, 4);
    for field in ["a", "a\0b", "a\u{1}", "ab"] {
        let want = reference_facets(&records, field, 10);
        let got = h
            .backend()
            .facets(&FacetRequest::new(Query::All, field, 10))
            .expect("facets");
        let got: Vec<(String, u64)> = got.into_iter().map(|f| (f.value, f.count)).collect();
        assert_eq!(got, want, "facets of {field:?}");
    }
    for (text, count) in [
        ("a:b*", 2),
        ("a:/b.x/", 1),
        ("a:b", 1),
        ("a:*", 2),
        ("ab:*", 1),
    ] {
        assert_eq!(
            super::assert_query(h, &records, text),
            count,
            "query `{text}`"
        );
    }
}

/// Stats count records and report the time span.
pub fn stats_count_records<H: Harness>(h: &mut H) {
    let empty = h.backend().stats().expect("stats");
    assert_eq!(
        (empty.records, empty.min_timestamp, empty.max_timestamp),
        (0, None, None)
    );
    let records = corpus::random_records(63, 120);
    write_all(h.backend(), &records, 40);
    let stats = h.backend().stats().expect("stats");
    assert_eq!(stats.records, 120);
    assert_eq!(
        stats.min_timestamp,
        records.iter().map(|r| r.timestamp()).min()
    );
    assert_eq!(
        stats.max_timestamp,
        records.iter().map(|r| r.timestamp()).max()
    );
    if h.backend().capabilities().persistent {
        assert!(stats.bytes_on_disk > 0, "a persistent backend uses disk");
    }
}

/// Meaningless requests are `InvalidRequest`, not a panic or an empty answer.
pub fn invalid_requests_are_rejected<H: Harness>(h: &mut H) {
    let b = h.backend();
    let invalid = |r: Result<(), Error>, what: &str| {
        assert!(matches!(r, Err(Error::InvalidRequest(_))), "{what}: {r:?}");
    };
    invalid(
        b.search(&SearchRequest::new(Query::All).limit(0)).map(drop),
        "limit 0",
    );
    let t = Timestamp(corpus::BASE_TIME);
    invalid(
        b.histogram(&HistogramRequest::new(Query::All, t, t, 10))
            .map(drop),
        "empty histogram range",
    );
    invalid(
        b.histogram(&HistogramRequest::new(
            Query::All,
            t,
            Timestamp(t.0 + 10),
            0,
        ))
        .map(drop),
        "zero buckets",
    );
    invalid(
        b.facets(&FacetRequest::new(Query::All, "message", 5))
            .map(drop),
        "facet on message",
    );
    invalid(
        b.facets(&FacetRequest::new(Query::All, "timestamp", 5))
            .map(drop),
        "facet on timestamp",
    );
    invalid(
        b.facets(&FacetRequest::new(Query::All, "level", 0))
            .map(drop),
        "facet size 0",
    );
}
