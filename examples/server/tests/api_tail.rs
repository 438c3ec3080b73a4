//! `GET /api/tail`: live tail as Server-Sent Events, against the real server.

mod common;

use std::time::Duration;

use common::{encode, Server, SseEvent, SAMPLE};

/// Generous bound for one event: records are published after the periodic
/// refresh (1 s by default).
const WAIT: Duration = Duration::from_secs(10);

fn subscribe(server: &Server, q: &str) -> common::Sse {
    let sse = server
        .sse(&format!("/api/tail?q={}", encode(q)), None)
        .unwrap_or_else(|a| panic!("tail `{q}`: {} {}", a.status, a.text));
    let ready = sse.next(WAIT).expect("a `ready` event within 10 s");
    assert_eq!(ready.event, "ready", "{ready:?}");
    sse
}

/// Events up to and including the first whose data contains `last`.
fn until(sse: &common::Sse, last: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    loop {
        let event = sse
            .next(WAIT)
            .unwrap_or_else(|| panic!("no event within 10 s; so far {events:?}"));
        let done = event.data.contains(last);
        events.push(event);
        if done {
            return events;
        }
    }
}

#[test]
fn tail_streams_only_matching_records_as_sent() {
    let server = Server::start();
    let sse = subscribe(&server, r#"level:error "Failed to connect""#);
    let other = r#"{"level":"info","message":"Failed to connect, but only info","timestamp":"2023-09-15T08:00:01Z"}"#;
    let near = r#"{"level":"error","message":"Disk full","timestamp":"2023-09-15T08:00:02Z"}"#;
    let spaced = r#"{ "message" : "Failed to connect again" , "level":"error", "timestamp":"2023-09-15T09:00:00+01:00" }"#;
    let body = [other, SAMPLE, near].join("\n");
    assert_eq!(server.post("/logs", body.as_bytes(), &[], None).status, 200);
    assert_eq!(server.post("/", spaced.as_bytes(), &[], None).status, 200);
    // Records of different requests that become visible in the same
    // refresh may come in either order; those of one request come in order.
    let mut events: Vec<SseEvent> = (0..2)
        .map(|_| sse.next(WAIT).expect("an event within 10 s"))
        .collect();
    // The first request was published whole when the sample arrived, so had
    // `other` or `near` matched, they would come before this sentinel.
    let sentinel = r#"{"level":"error","message":"Failed to connect: sentinel"}"#;
    assert_eq!(
        server.post("/logs", sentinel.as_bytes(), &[], None).status,
        200
    );
    events.extend(until(&sse, "sentinel"));
    let mut data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data.len(), 3, "only matches: {data:?}");
    assert!(data[2].ends_with(r#""level":"error","message":"Failed to connect: sentinel"}"#));
    data[..2].sort_unstable();
    let mut expected = [SAMPLE, spaced];
    expected.sort_unstable();
    assert_eq!(data[..2], expected, "exactly as sent");
    assert!(events.iter().all(|e| e.event.is_empty()), "{events:?}");
    // The id is the record's timestamp (UTC).
    assert!(
        events[..2]
            .iter()
            .all(|e| e.id.starts_with("2023-09-15T08:00:00")),
        "{events:?}"
    );
}

#[test]
fn tail_without_query_streams_every_record_from_every_ingest_path() {
    let server = Server::start();
    let sse = subscribe(&server, "");
    assert_eq!(
        server
            .post("/logs", br#"{"message":"no timestamp here"}"#, &[], None)
            .status,
        200
    );
    let events = until(&sse, "no timestamp here");
    assert_eq!(events.len(), 1, "{events:?}");
    // The receive time was inserted first, as stored; it is also the id.
    assert_eq!(
        events[0].data,
        format!(
            r#"{{"timestamp":"{}","message":"no timestamp here"}}"#,
            events[0].id
        )
    );

    let bulk = b"{\"index\":{}}\n{\"message\":\"from bulk\"}\n";
    assert_eq!(server.post("/_bulk", bulk, &[], None).status, 200);
    let events = until(&sse, "from bulk");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        events[0].data,
        format!(
            r#"{{"timestamp":"{}","message":"from bulk"}}"#,
            events[0].id
        )
    );
}

#[test]
fn several_subscribers_each_get_their_own_matches() {
    let server = Server::start();
    let errors = subscribe(&server, "level:error");
    let infos = subscribe(&server, "level:info");
    let body = concat!(
        "{\"level\":\"info\",\"message\":\"first\",\"timestamp\":\"2023-01-01T00:00:00Z\"}\n",
        "{\"level\":\"error\",\"message\":\"second\",\"timestamp\":\"2023-01-01T00:00:01Z\"}\n",
        "{\"level\":\"info\",\"message\":\"third\",\"timestamp\":\"2023-01-01T00:00:02Z\"}\n",
        "{\"level\":\"error\",\"message\":\"fourth\",\"timestamp\":\"2023-01-01T00:00:03Z\"}\n",
    );
    assert_eq!(server.post("/logs", body.as_bytes(), &[], None).status, 200);
    let messages = |events: Vec<SseEvent>| -> Vec<String> {
        events
            .iter()
            .map(|e| {
                let v: serde_json::Value = serde_json::from_str(&e.data).unwrap();
                v["message"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    assert_eq!(messages(until(&errors, "fourth")), ["second", "fourth"]);
    assert_eq!(messages(until(&infos, "third")), ["first", "third"]);
}
