//! Unit tests of the head checks, on bytes fed at once and byte by byte.

use std::time::Duration;

use super::*;

fn limits() -> HeadLimits {
    HeadLimits {
        uri: 100,
        head: 400,
        timeout: Duration::from_secs(1),
    }
}

/// Feeds `bytes` in pieces of `step`: the first decision, or `More`.
fn judge(bytes: &[u8], step: usize) -> Result<Progress, Refusal> {
    let mut reader = HeadReader::new(limits());
    let mut old = 0;
    while old < bytes.len() {
        let end = (old + step).min(bytes.len());
        match reader.advance(&bytes[..end], old)? {
            Progress::Complete => return Ok(Progress::Complete),
            Progress::More => old = end,
        }
    }
    Ok(Progress::More)
}

/// The same decision whether the bytes come at once or one by one.
fn both(bytes: &[u8]) -> Result<Progress, Refusal> {
    let whole = judge(bytes, usize::MAX);
    assert_eq!(whole, judge(bytes, 1), "{}", String::from_utf8_lossy(bytes));
    whole
}

fn malformed(result: Result<Progress, Refusal>) -> String {
    match result {
        Err(Refusal::Malformed(what)) => what,
        other => panic!("not malformed: {other:?}"),
    }
}

#[test]
fn good_heads_are_complete() {
    for head in [
        &b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.0\r\n\r\n",
        b"\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"POST /logs HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello",
        b"POST /logs HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    ] {
        assert_eq!(both(head), Ok(Progress::Complete), "{head:?}");
    }
}

#[test]
fn an_unfinished_head_needs_more() {
    assert_eq!(
        both(b"GET /api/search?q=a HTTP/1.1\r\nHost: x\r\n"),
        Ok(Progress::More)
    );
    assert_eq!(both(b"PRI * HTTP/2"), Ok(Progress::More));
    assert_eq!(both(b"\r\n\r\n"), Ok(Progress::More));
}

#[test]
fn content_length_must_be_one_number() {
    let refusal = both(b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n");
    assert_eq!(
        refusal,
        Err(Refusal::BadContentLength {
            value: "ten".into()
        })
    );
    for value in ["-1", "+5", "5, 5", "", "99999999999999999999999"] {
        let head = format!("POST / HTTP/1.1\r\nContent-Length: {value}\r\n\r\n");
        assert!(
            matches!(both(head.as_bytes()), Err(Refusal::BadContentLength { .. })),
            "{value}"
        );
    }
    let refusal = both(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n");
    assert_eq!(
        refusal,
        Err(Refusal::ConflictingContentLength {
            first: 5,
            second: 7
        })
    );
    assert_eq!(refusal.unwrap_err().status(), StatusCode::BAD_REQUEST);
}

#[test]
fn transfer_encoding_must_end_with_chunked() {
    assert!(matches!(
        both(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
        Err(Refusal::BadTransferEncoding { .. })
    ));
    assert_eq!(
        both(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Err(Refusal::TransferEncodingOnHttp10)
    );
}

#[test]
fn a_long_target_is_414_as_soon_as_it_is_known() {
    let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(150));
    // The request line has ended: refused without waiting for the headers.
    assert_eq!(
        both(long.as_bytes()),
        Err(Refusal::UriTooLong { limit: 100 })
    );
    // A request line that never ends within the budget.
    let endless = format!("GET /{}", "a".repeat(1000));
    assert_eq!(
        both(endless.as_bytes()),
        Err(Refusal::UriTooLong { limit: 100 })
    );
    assert_eq!(
        Refusal::UriTooLong { limit: 1 }.status(),
        StatusCode::URI_TOO_LONG
    );
}

#[test]
fn a_large_head_is_431() {
    let big = format!("GET / HTTP/1.1\r\nCookie: {}\r\n", "c".repeat(1000));
    assert_eq!(
        both(big.as_bytes()),
        Err(Refusal::HeadTooLarge { limit: 400 })
    );
    let many: String = (0..=MAX_HEADERS).map(|i| format!("x{i}: 1\r\n")).collect();
    let mut reader = HeadReader::new(HeadLimits {
        head: 1 << 20,
        ..limits()
    });
    let head = format!("GET / HTTP/1.1\r\n{many}\r\n");
    assert_eq!(
        reader.advance(head.as_bytes(), 0),
        Err(Refusal::TooManyHeaders { limit: MAX_HEADERS })
    );
    assert_eq!(
        Refusal::HeadTooLarge { limit: 1 }.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
}

#[test]
fn malformed_lines_are_refused_when_they_end() {
    assert!(malformed(both(b"GARBAGE\r\n")).contains("METHOD TARGET HTTP/1.1"));
    assert!(malformed(both(b"GET / HTTP/9.9\r\n")).contains("HTTP/1.1"));
    assert!(malformed(both(b"GET  / HTTP/1.1\r\n")).contains("single spaces"));
    assert!(malformed(both(b"GET /a b HTTP/1.1\r\n")).contains("HTTP/1.1"));
    assert!(malformed(both(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")).contains("Name: value"));
    assert!(malformed(both(b"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n")).contains("control byte"));
    assert!(malformed(both(&[b'\n'; 500])).contains("blank lines"));
}

#[test]
fn heads_hyper_parses_pass_our_limits_or_not() {
    let uri: Uri = "/api/search?q=a".parse().unwrap();
    let mut headers = HeaderMap::new();
    assert_eq!(parsed(&Method::GET, &uri, &headers, &limits()), Ok(()));
    let long: Uri = format!("/api/search?q={}", "a".repeat(100))
        .parse()
        .unwrap();
    assert_eq!(
        parsed(&Method::GET, &long, &headers, &limits()),
        Err(Refusal::UriTooLong { limit: 100 })
    );
    headers.insert("cookie", "c".repeat(400).parse().unwrap());
    assert_eq!(
        parsed(&Method::GET, &uri, &headers, &limits()),
        Err(Refusal::HeadTooLarge { limit: 400 })
    );
}
