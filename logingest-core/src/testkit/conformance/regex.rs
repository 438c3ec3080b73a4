//! Regexes with word boundaries over real logs.
//!
//! A held-out acceptance run over real logs found the pattern family
//! `/(?i)<number>\b/` (a number that ends a word, as users look for a
//! status, a port or an id) refused by a backend whose search engine lacks
//! word boundaries. Every backend must answer it, combined with AND, OR,
//! NOT, time ranges and keyword wildcards, exactly as the evaluator does:
//! pages, totals, histograms and facets.

use super::{assert_query, q};
use crate::backend::{Backend, FacetRequest, HistogramRequest, TimeRange};
use crate::eval::matches;
use crate::record::Record;
use crate::testkit::corpus;
use crate::testkit::harness::{reference_facets, reference_histogram, write_all, Harness};
use crate::timestamp::Timestamp;
use crate::tokenize::tokenize;

/// Numbers from the messages of `records`: the first all-digit token of
/// every `step`th message, each once, in order of appearance.
fn numbers(records: &[Record], step: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for record in records.iter().step_by(step) {
        let number = tokenize(record.message())
            .into_iter()
            .find(|t| t.bytes().all(|b| b.is_ascii_digit()));
        if let Some(n) = number {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// `/(?i)<number>\b/` over both Loghub samples, alone and combined with
/// AND/OR/NOT, time ranges and keyword wildcards: the same records, totals,
/// histograms and facets as the reference evaluator.
pub fn word_boundary_regexes_on_real_logs<H: Harness>(h: &mut H) {
    let records = corpus::loghub();
    write_all(h.backend(), &records, 500);
    let mut times: Vec<Timestamp> = records.iter().map(Record::timestamp).collect();
    times.sort_unstable();
    let at = |share: usize| times[(times.len() - 1) * share / 100].to_rfc3339();
    let (t1, t2, t3) = (at(20), at(50), at(80));
    let numbers = numbers(&records, 97);
    assert!(numbers.len() >= 8, "too few numbers: {numbers:?}");
    let templates = [
        "message:/(?i){n}\\b/",
        "message:/(?i){n}\\b/ AND level:info",
        "message:/(?i){n}\\b/ OR resourceId:dfs.*",
        "-message:/(?i){n}\\b/ AND metadata.system:HDFS",
        "message:/(?i){n}\\b/ AND timestamp:[{t1} TO {t2}]",
        "(message:/(?i){n}\\b/ OR message:/(?i)\\bfailed\\b/) AND -traceId:req-*",
        "NOT (message:/(?i){n}\\b/ OR level:info) AND timestamp:{{t1} TO {t3}]",
        "traceId:blk_* AND -message:/(?i){n}\\b/ AND timestamp:[{t2} TO *]",
        "message:/(?i)\\b{n}\\b/ OR (resourceId:nova* AND message:/(?i)status: {n}\\b/)",
    ];
    let mut matched = 0;
    for (i, n) in numbers.iter().enumerate() {
        for (k, template) in templates.iter().enumerate() {
            let text = template
                .replace("{n}", n)
                .replace("{t1}", &t1)
                .replace("{t2}", &t2)
                .replace("{t3}", &t3);
            matched += usize::from(assert_query(h, &records, &text) > 0);
            if (i + k) % 3 == 0 {
                assert_aggregates(h.backend(), &records, &text, &times);
            }
        }
    }
    // Most of these queries select something: a backend answering nothing
    // would not pass.
    assert!(
        matched * 2 > numbers.len() * templates.len(),
        "only {matched} queries matched anything"
    );
}

/// The histogram over all of `times` and the facets of `level` and
/// `resourceId` of `text` equal the reference.
fn assert_aggregates<B: Backend>(backend: &B, records: &[Record], text: &str, times: &[Timestamp]) {
    let query = q(text);
    let (start, end) = (times[0], Timestamp(times[times.len() - 1].0 + 1));
    let request = HistogramRequest::new(query.clone(), start, end, 24);
    let want = reference_histogram(records, &request);
    let got = backend
        .histogram(&request)
        .unwrap_or_else(|e| panic!("histogram of `{text}`: {e}"));
    assert_eq!(got.counts, want, "histogram of `{text}`");
    for field in ["level", "resourceId"] {
        let matching = records.iter().filter(|r| matches(&query, r));
        let want = reference_facets(matching, field, 5);
        let got: Vec<(String, u64)> = backend
            .facets(&FacetRequest::new(query.clone(), field, 5).time(TimeRange::default()))
            .unwrap_or_else(|e| panic!("facets of `{text}`: {e}"))
            .into_iter()
            .map(|f| (f.value, f.count))
            .collect();
        assert_eq!(got, want, "facets of `{field}` for `{text}`");
    }
}
