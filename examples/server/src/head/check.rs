//! Checking a request head: the refusals and what decides them.
//!
//! [`HeadReader`] follows a head as its bytes arrive and decides as soon as
//! it can: a malformed request line is refused when its line ends, an
//! oversized target as soon as it is known to be over the limit, and a head
//! over the byte budget without reading further. The syntax is judged by
//! `httparse`, hyper's own parser with hyper's default settings, so a head
//! accepted here is one hyper accepts too; the semantic rules hyper adds
//! (`Content-Length`, `Transfer-Encoding`, method and URI) are checked here
//! as hyper checks them. Parsing starts again from the first byte only when
//! a line has ended, so the cost stays linear in the head's size however
//! the client splits it.

use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode, Uri};

use super::{HeadLimits, MAX_HEADERS};

/// The first bytes of an HTTP/2 connection with prior knowledge (h2c),
/// passed to hyper unchecked: hyper serves HTTP/2 too, and HTTP/2 has no
/// request line to check.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Why a request head is refused; its text is the answer's `error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 414: the request target is over [`HeadLimits::uri`].
    #[error(
        "the request target (path and query string) is longer than the limit of {limit} bytes; \
         send a long query as POST /api/search with a JSON body"
    )]
    UriTooLong {
        /// The limit.
        limit: usize,
    },
    /// 431: the request line and headers are over [`HeadLimits::head`].
    #[error("the request line and headers are larger than the limit of {limit} bytes")]
    HeadTooLarge {
        /// The limit.
        limit: usize,
    },
    /// 431: more header fields than [`MAX_HEADERS`].
    #[error("the request has more than {limit} header fields")]
    TooManyHeaders {
        /// The limit.
        limit: usize,
    },
    /// 400: a `Content-Length` that is not a plain decimal number.
    #[error("`Content-Length: {value}` is not a number of bytes")]
    BadContentLength {
        /// The value as sent (shortened).
        value: String,
    },
    /// 400: two `Content-Length` headers that disagree.
    #[error("the request has two different Content-Length values, {first} and {second}")]
    ConflictingContentLength {
        /// The first value.
        first: u64,
        /// The one that differs from it.
        second: u64,
    },
    /// 400: a `Transfer-Encoding` whose last coding is not `chunked`.
    #[error(
        "`Transfer-Encoding: {value}` does not end with `chunked`, the only framing a request body may have"
    )]
    BadTransferEncoding {
        /// The value as sent (shortened).
        value: String,
    },
    /// 400: `Transfer-Encoding` on an HTTP/1.0 request.
    #[error("an HTTP/1.0 request cannot have a Transfer-Encoding header")]
    TransferEncodingOnHttp10,
    /// 400: the request line or a header line does not parse.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// 400: the connection ended in the middle of the head.
    #[error("the connection ended before the end of the request head")]
    Truncated,
    /// 408: the head did not arrive within [`HeadLimits::timeout`].
    #[error("the request head did not arrive within {} seconds", .0.as_secs_f64())]
    Timeout(Duration),
}

impl Refusal {
    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Refusal::HeadTooLarge { .. } | Refusal::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Refusal::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// Where reading a head stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// The head is complete and acceptable (or the connection is HTTP/2).
    Complete,
    /// More bytes are needed.
    More,
}

/// Follows one request head as its bytes arrive.
#[derive(Debug)]
pub struct HeadReader {
    limits: HeadLimits,
    /// Offset of the first byte after any leading blank lines (which HTTP
    /// allows and `httparse` skips), once known.
    start: Option<usize>,
    /// Whether the bytes are known not to be the HTTP/2 preface.
    past_preface: bool,
}

impl HeadReader {
    /// A reader for a head checked against `limits`.
    pub fn new(limits: HeadLimits) -> Self {
        HeadReader {
            limits,
            start: None,
            past_preface: false,
        }
    }

    /// Judges `buf`, the bytes received so far, of which the first `old`
    /// were already judged.
    pub fn advance(&mut self, buf: &[u8], mut old: usize) -> Result<Progress, Refusal> {
        if !self.past_preface {
            if buf.len() >= H2_PREFACE.len() && buf.starts_with(H2_PREFACE) {
                return Ok(Progress::Complete);
            }
            if buf.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(buf) {
                return Ok(Progress::More);
            }
            // Bytes held back as a possible preface are judged now.
            self.past_preface = true;
            old = 0;
        }
        if self.start.is_none() {
            self.start = buf.iter().position(|&b| b != b'\r' && b != b'\n');
        }
        let Some(start) = self.start else {
            if buf.len() > self.limits.head {
                return Err(Refusal::Malformed(
                    "the request has only blank lines".into(),
                ));
            }
            return Ok(Progress::More);
        };
        if buf[old.max(start)..].contains(&b'\n') && self.parse(buf, start)? {
            return Ok(Progress::Complete);
        }
        if buf.len() - start > self.limits.head {
            return Err(self.over_budget(buf));
        }
        Ok(Progress::More)
    }

    /// Parses `buf` from its first byte: `true` when the head is complete
    /// and acceptable, `false` when it is not complete yet.
    fn parse(&self, buf: &[u8], start: usize) -> Result<bool, Refusal> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let path = request.path.unwrap_or_default();
                if path.len() > self.limits.uri {
                    return Err(Refusal::UriTooLong {
                        limit: self.limits.uri,
                    });
                }
                if len - start > self.limits.head {
                    return Err(Refusal::HeadTooLarge {
                        limit: self.limits.head,
                    });
                }
                semantics(&request)?;
                Ok(true)
            }
            Ok(httparse::Status::Partial) => match request.path {
                Some(path) if path.len() > self.limits.uri => Err(Refusal::UriTooLong {
                    limit: self.limits.uri,
                }),
                _ => Ok(false),
            },
            Err(e) => Err(syntax(e, &request)),
        }
    }

    /// The refusal of a head that passed the byte budget unfinished: a
    /// target too long if the request line itself did not end (or its
    /// target is over the limit), else a head too large.
    fn over_budget(&self, buf: &[u8]) -> Refusal {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buf) {
            Err(e) => syntax(e, &request),
            Ok(_) => match request.path {
                Some(path) if path.len() <= self.limits.uri => Refusal::HeadTooLarge {
                    limit: self.limits.head,
                },
                _ => Refusal::UriTooLong {
                    limit: self.limits.uri,
                },
            },
        }
    }
}

/// The refusal for an `httparse` error, in our words.
fn syntax(e: httparse::Error, request: &httparse::Request<'_, '_>) -> Refusal {
    let what = match e {
        httparse::Error::TooManyHeaders => {
            return Refusal::TooManyHeaders { limit: MAX_HEADERS };
        }
        httparse::Error::Token if request.method.is_none() => {
            "the request line must be `METHOD TARGET HTTP/1.1`, and the method a token such as GET"
        }
        httparse::Error::Token => {
            "the request line must be `METHOD TARGET HTTP/1.1` with single spaces, and the target \
             may not hold spaces or control bytes"
        }
        httparse::Error::Version => "the request line must end with `HTTP/1.1` or `HTTP/1.0`",
        httparse::Error::HeaderName => {
            "a header line is not `Name: value`, or its name holds a byte a name may not hold"
        }
        httparse::Error::HeaderValue => "a header value holds a control byte",
        httparse::Error::NewLine => "a line does not end with CRLF",
        httparse::Error::Status => "the request does not parse",
    };
    Refusal::Malformed(what.into())
}

/// The rules hyper applies to a head that parsed.
fn semantics(request: &httparse::Request<'_, '_>) -> Result<(), Refusal> {
    let method = request.method.unwrap_or_default();
    if Method::from_bytes(method.as_bytes()).is_err() {
        return Err(Refusal::Malformed(format!(
            "`{}` is not a method",
            shown(method.as_bytes())
        )));
    }
    if let Err(e) = Uri::try_from(request.path.unwrap_or_default()) {
        return Err(Refusal::Malformed(format!(
            "the request target is not a URI: {e}"
        )));
    }
    let http_10 = request.version == Some(0);
    let mut length: Option<u64> = None;
    let mut last_encoding: Option<&[u8]> = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = digits(header.value).ok_or_else(|| Refusal::BadContentLength {
                value: shown(header.value),
            })?;
            match length {
                Some(first) if first != value => {
                    return Err(Refusal::ConflictingContentLength {
                        first,
                        second: value,
                    })
                }
                _ => length = Some(value),
            }
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if http_10 {
                return Err(Refusal::TransferEncodingOnHttp10);
            }
            last_encoding = Some(header.value);
        }
    }
    if let Some(value) = last_encoding {
        // As hyper: the last coding of the last header must be chunked.
        let chunked = std::str::from_utf8(value).ok().is_some_and(|text| {
            text.rsplit(',')
                .next()
                .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"))
        });
        if !chunked {
            return Err(Refusal::BadTransferEncoding {
                value: shown(value),
            });
        }
    }
    Ok(())
}

/// A plain decimal number (no sign, no spaces, no list), as hyper reads a
/// `Content-Length`; `None` for anything else or an overflow.
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// A header value or token for a message: lossy UTF-8, at most 64 chars.
fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// Our limits on a head hyper parsed by itself.
pub fn parsed(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    limits: &HeadLimits,
) -> Result<(), Refusal> {
    let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > limits.uri {
        return Err(Refusal::UriTooLong { limit: limits.uri });
    }
    if headers.len() > MAX_HEADERS {
        return Err(Refusal::TooManyHeaders { limit: MAX_HEADERS });
    }
    // `METHOD TARGET HTTP/1.1\r\n`, then `Name: value\r\n` per field, then `\r\n`.
    let line = method.as_str().len() + 1 + target + 11;
    let fields: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    if line + fields + 2 > limits.head {
        return Err(Refusal::HeadTooLarge { limit: limits.head });
    }
    Ok(())
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
