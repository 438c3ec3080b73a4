//! Cases about storing: round trip, durability, visibility, sequences, retention.

use super::{all_sources, q};
use crate::backend::{Backend, Order, SearchRequest, TimeRange};
use crate::query::Query;
use crate::testkit::corpus::{self, records};
use crate::testkit::harness::{write_all, Harness};
use crate::timestamp::Timestamp;

/// Search returns each record byte for byte as it was sent, whatever its
/// formatting, field order, escapes, numbers or unknown fields.
pub fn round_trip_exactly_as_sent<H: Harness>(h: &mut H) {
    let texts = [
        corpus::PRODUCT_SAMPLE.to_owned(),
        "{ \"message\" : \"spaced   out\" ,\n\t\"timestamp\":\"2023-09-15T08:00:01+02:00\", \"z\":1 , \"a\":[1, 2.50, -0, 1e3, true, null] }".to_owned(),
        r#"{"timestamp":"2023-09-15T08:00:02.123456789Z","message":"esc \" \\ \/ \u00e9 \ud83d\ude00 tab\t","metadata":{"deep":{"er":{"est":"x"}}},"unknown":{"k":"v"}}"#.to_owned(),
        r#"{"message":"no timestamp: receive time inserted","level":"info"}"#.to_owned(),
    ];
    let batch = records(&texts.join("\n"));
    write_all(h.backend(), &batch, 10);
    let got = all_sources(
        h.backend(),
        &Query::All,
        TimeRange::default(),
        Order::Asc,
        10,
    );
    let mut want: Vec<(Timestamp, String)> = batch
        .iter()
        .map(|r| (r.timestamp(), r.source().to_owned()))
        .collect();
    want.sort();
    let want: Vec<String> = want.into_iter().map(|(_, s)| s).collect();
    assert_eq!(got, want);
    for (sent, stored) in texts[..3].iter().zip(&batch[..3]) {
        assert_eq!(
            stored.source(),
            sent,
            "the parser must keep the text as sent"
        );
    }
}

/// On a persistent backend, what `write_batch` acknowledged is still there
/// after closing and reopening the storage; new writes after reopen get
/// larger sequences.
pub fn durability_survives_reopen<H: Harness>(h: &mut H) {
    if !applies(h, "persistent", |c| c.persistent) {
        return;
    }
    let batch = corpus::random_records(11, 250);
    let acks = write_all(h.backend(), &batch, 50);
    let last = acks.last().map(|a| a.first_seq + a.len - 1).expect("acks");
    h.reopen();
    h.backend().refresh().expect("refresh after reopen");
    let page = h
        .backend()
        .search(&SearchRequest::new(Query::All).limit(1000))
        .expect("search");
    assert_eq!(page.total, 250, "records lost or duplicated across reopen");
    let mut got: Vec<&str> = page.hits.iter().map(|hit| hit.source.as_str()).collect();
    let mut want: Vec<&str> = batch.iter().map(|r| r.source()).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    let more = h
        .backend()
        .write_batch(&batch[..3])
        .expect("write after reopen");
    assert!(
        more.first_seq > last,
        "sequence went backwards after reopen: {} <= {last}",
        more.first_seq
    );
    h.backend().refresh().expect("refresh");
    assert_eq!(h.backend().stats().expect("stats").records, 253);
}

/// After `refresh`, every acknowledged write is visible, to search and to
/// the aggregations alike.
pub fn visibility_after_refresh<H: Harness>(h: &mut H) {
    let b = h.backend();
    let first = records(corpus::PRODUCT_SAMPLE);
    b.write_batch(&first).expect("write");
    b.refresh().expect("refresh");
    assert_eq!(
        b.search(&SearchRequest::new(q("level:error")))
            .expect("search")
            .total,
        1
    );
    for round in 1..=3u64 {
        b.write_batch(&first).expect("write");
        b.refresh().expect("refresh");
        let page = b
            .search(&SearchRequest::new(q("resourceId:server-1234")))
            .expect("search");
        assert_eq!(page.total, round + 1, "a refreshed write is not visible");
    }
    let facets = b
        .facets(&crate::backend::FacetRequest::new(Query::All, "level", 5))
        .expect("facets");
    assert_eq!(facets.first().map(|f| f.count), Some(4));
}

/// Sequence numbers are contiguous within a batch and increase across batches.
pub fn sequence_numbers_are_contiguous<H: Harness>(h: &mut H) {
    let batch = corpus::random_records(12, 60);
    let acks = write_all(h.backend(), &batch, 7);
    for pair in acks.windows(2) {
        assert!(
            pair[1].first_seq >= pair[0].first_seq + pair[0].len,
            "overlapping sequences {pair:?}"
        );
    }
    let page = h
        .backend()
        .search(&SearchRequest::new(Query::All).limit(100))
        .expect("search");
    let mut seqs: Vec<u64> = page.hits.iter().map(|hit| hit.seq).collect();
    seqs.sort_unstable();
    let mut want: Vec<u64> = acks
        .iter()
        .flat_map(|a| a.first_seq..a.first_seq + a.len)
        .collect();
    want.sort_unstable();
    assert_eq!(
        seqs, want,
        "hits carry other sequence numbers than acknowledged"
    );
}

/// Writing no records succeeds, changes nothing and acknowledges nothing.
pub fn empty_batch_is_a_no_op<H: Harness>(h: &mut H) {
    let b = h.backend();
    let ack = b.write_batch(&[]).expect("empty write");
    assert_eq!(ack.len, 0);
    b.refresh().expect("refresh");
    assert_eq!(
        b.search(&SearchRequest::new(Query::All))
            .expect("search")
            .total,
        0
    );
    write_all(b, &records(corpus::PRODUCT_SAMPLE), 1);
    assert_eq!(b.write_batch(&[]).expect("empty write").len, 0);
    b.refresh().expect("refresh");
    assert_eq!(b.stats().expect("stats").records, 1);
}

/// `delete_older_than` removes exactly the records before the cutoff, from
/// search, aggregations and stats, and (on a persistent backend) the
/// deletion survives reopen.
pub fn retention_deletes_older_records<H: Harness>(h: &mut H) {
    let batch = corpus::random_records(13, 300);
    write_all(h.backend(), &batch, 100);
    let mut times: Vec<Timestamp> = batch.iter().map(|r| r.timestamp()).collect();
    times.sort_unstable();
    let cutoff = times[times.len() / 2];
    let older = times.iter().filter(|&&t| t < cutoff).count() as u64;
    let deleted = h.backend().delete_older_than(cutoff).expect("delete");
    assert_eq!(deleted, older);
    h.backend().refresh().expect("refresh");
    let check = |b: &H::Backend| {
        let page = b
            .search(&SearchRequest::new(Query::All).limit(1))
            .expect("search");
        assert_eq!(page.total, 300 - older);
        let before = SearchRequest::new(Query::All).time(TimeRange {
            start: None,
            end: Some(cutoff),
        });
        assert_eq!(
            b.search(&before).expect("search").total,
            0,
            "deleted records still found"
        );
        assert_eq!(b.stats().expect("stats").records, 300 - older);
        assert!(b.stats().expect("stats").min_timestamp >= Some(cutoff));
    };
    check(h.backend());
    if h.backend().capabilities().persistent {
        h.reopen();
        h.backend().refresh().expect("refresh");
        check(h.backend());
    }
    assert_eq!(
        h.backend().delete_older_than(cutoff).expect("delete again"),
        0
    );
}

/// With `shared_storage`, a second handle on the same storage (another
/// node) writes records the first finds after a refresh, with sequence
/// numbers of its own, and the other way round.
pub fn shared_storage_is_shared<H: Harness>(h: &mut H) {
    if !applies(h, "shared_storage", |c| c.shared_storage) {
        return;
    }
    let other = h
        .second()
        .expect("a backend with shared_storage gives a second handle (Harness::second)");
    let mine = write_all(h.backend(), &corpus::random_records(17, 40), 20);
    let theirs = write_all(&other, &corpus::random_records(19, 30), 10);
    h.backend().refresh().expect("refresh");
    other.refresh().expect("refresh");
    for b in [h.backend(), &other] {
        let page = b
            .search(&SearchRequest::new(Query::All).limit(100))
            .expect("search");
        assert_eq!(page.total, 70, "each handle finds the other's records");
    }
    let mut seqs: Vec<u64> = mine
        .iter()
        .chain(&theirs)
        .flat_map(|a| a.first_seq..a.first_seq + a.len)
        .collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 70, "two handles gave a sequence number twice");
}

/// Whether a case that needs `what` applies to the harness's backend; says
/// so on stderr when it does not (the case then has nothing to check).
fn applies<H: Harness>(
    h: &H,
    what: &str,
    has: impl FnOnce(&crate::backend::Capabilities) -> bool,
) -> bool {
    let capabilities = h.backend().capabilities();
    let applies = has(&capabilities);
    if !applies {
        eprintln!(
            "not applicable: the {} backend is not {what}",
            capabilities.name
        );
    }
    applies
}
