//! Queries built to hurt: refused with a precise error of our own, never a
//! backend's internal text (issue: hardening, class 4).

mod common;

use common::{encode, Server};

#[test]
fn a_wildcard_of_100_question_marks_is_refused_with_its_position() {
    let server = Server::start();
    server.ingest(br#"{"message":"abc","level":"info"}"#);
    for q in [
        format!("level:a{}", "?".repeat(100)),
        format!("message:a{}", "?".repeat(100)),
        format!("x AND resourceId:{}z", "?".repeat(100)),
    ] {
        let answer = server.get(&format!("/api/search?q={}", encode(&q)), None);
        assert_eq!(answer.status, 400, "{q}: {}", answer.text);
        let body = answer.json();
        let expected = q.find(':').map_or(0, |i| i + 1);
        assert_eq!(body["position"], expected, "{q}: {body}");
        let reason = body["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("at most 32"), "{q}: {reason}");
        assert!(!answer.text.contains("\\u0000"), "{q}: {}", answer.text);
    }
}

#[test]
fn wildcards_at_the_limit_run() {
    let server = Server::start();
    let value = format!("a{}", "b".repeat(32));
    server.ingest(format!(r#"{{"message":"{value}","level":"{value}"}}"#).as_bytes());
    for q in [
        format!("level:a{}", "?".repeat(32)),
        format!("a{}", "?".repeat(32)),
        format!("level:a{}", "*b".repeat(32)),
        format!("level:{}", "?*".repeat(16)),
    ] {
        assert_eq!(server.count(&q), 1, "{q}");
    }
}
