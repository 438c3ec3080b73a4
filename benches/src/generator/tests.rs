use super::*;
use logingest_core::query::parse_query;
use logingest_core::{matches, Timestamp};

#[test]
fn deterministic_per_seed() {
    let a = Generator::new(GeneratorConfig::default().seed(3)).ndjson(500);
    let b = Generator::new(GeneratorConfig::default().seed(3)).ndjson(500);
    let c = Generator::new(GeneratorConfig::default().seed(4)).ndjson(500);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn timestamps_match_the_core_formatter_and_do_not_decrease() {
    let config = GeneratorConfig::default().records(1_000);
    let (start, end) = config.time_span();
    let records = Generator::new(config).records(1_000);
    let mut last = Timestamp::MIN;
    for r in &records {
        assert!(r.timestamp() >= last);
        assert!(r.timestamp() >= start && r.timestamp() < end);
        last = r.timestamp();
    }
    for nanos in [0, 951_782_400_123_456_789, 1_793_491_200_999_000_000] {
        let mut out = Vec::new();
        write_rfc3339_millis(&mut out, Timestamp(nanos));
        let text = String::from_utf8(out).unwrap();
        let parsed = Timestamp::parse_rfc3339(&text).unwrap();
        assert_eq!(parsed.as_nanos(), nanos - nanos % 1_000_000, "{text}");
    }
}

#[test]
fn records_have_the_product_fields_and_a_realistic_mix() {
    let mut generator = Generator::new(GeneratorConfig::default());
    let records = generator.records(20_000);
    let count = |q: &str| {
        let q = parse_query(q).unwrap();
        records.iter().filter(|r| matches(&q, r)).count()
    };
    let n = records.len();
    assert!(count("level:info") > n * 6 / 10);
    assert!(count("level:error") > n / 100 && count("level:error") < n / 10);
    for field in [
        "resourceId:*",
        "commit:*",
        "metadata.parentResourceId:*",
        "metadata.region:*",
    ] {
        assert_eq!(count(field), n, "{field}");
    }
    assert!(count("traceId:*") > n * 8 / 10);
    assert!(count("metadata.http.status:200") > n / 10);
    for phrase in PHRASES {
        assert!(count(&format!("\"{phrase}\"")) > 0, "{phrase}");
    }
    for (a, b) in WORD_PAIRS {
        assert!(count(&format!("{a} {b}")) > 0, "{a} {b}");
    }
    assert!(count("message:/timed out after \\d+ms/") > 0);
    assert!(count("message:*onnect*") > 0);
    let services: std::collections::HashSet<_> = records
        .iter()
        .flat_map(|r| r.keyword_values("resourceId"))
        .collect();
    assert!(services.len() > 200, "{}", services.len());
    let bytes: usize = records.iter().map(Record::size).sum();
    let mean = bytes / n;
    assert!((250..600).contains(&mean), "mean record size {mean}");
}
