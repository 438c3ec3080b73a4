//! Syslog over TCP: messages cut out of a byte stream as RFC 6587 frames
//! them, either octet-counted (`MSG-LEN SP MSG`, what rsyslog's and
//! `logger --octet-count`'s senders use) or ended by a newline (the
//! traditional framing, `logger --tcp`'s default).
//!
//! Each frame says which it is by its first byte, as rsyslog reads it: a
//! digit starts a length, anything else a line. A "length" that does not
//! end in a space after at most 9 digits was the start of a line after
//! all, so no stream can put the reader out of step for good.
//!
//! A frame longer than the limit is skipped without being held (its
//! length is known, or it ends at the next newline) and reported; a frame
//! cut short by the end of the stream is reported as truncated. Nothing is
//! buffered beyond the frame being read, so a connection holds at most
//! `limit` bytes for a counted frame (and, as a line grows by doubling,
//! about twice that for a line) however much it sends.

/// Why a frame is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Longer than the limit; its bytes were skipped.
    #[error("a frame of {} bytes, the limit is {limit}", describe(*.bytes))]
    TooLarge {
        /// Its length when it declared one; `None` for a line (at least
        /// `limit + 1`).
        bytes: Option<usize>,
        /// The limit.
        limit: usize,
    },
    /// The stream ended inside an octet-counted frame.
    #[error("the stream ended after {received} of a frame's {expected} bytes")]
    Truncated {
        /// The frame's declared length.
        expected: usize,
        /// What arrived of it.
        received: usize,
    },
}

fn describe(bytes: Option<usize>) -> String {
    bytes.map_or_else(|| "more than the limit".to_owned(), |b| b.to_string())
}

/// Most digits a length may have (`999999999`: more than any limit).
const MAX_DIGITS: usize = 9;

/// Cuts frames out of a TCP stream, fed as it arrives.
#[derive(Debug)]
pub struct Framer {
    limit: usize,
    state: State,
    frame: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames.
    Start,
    /// Reading a length's digits (in `frame`).
    Length,
    /// Reading the `n` bytes still missing of an octet-counted frame of
    /// `expected` bytes.
    Octets { expected: usize, missing: usize },
    /// Reading a line.
    Line,
    /// Skipping `missing` bytes of a frame over the limit.
    SkipOctets { missing: usize },
    /// Skipping to the end of a line over the limit.
    SkipLine,
}

impl Framer {
    /// A framer of frames up to `limit` bytes.
    pub fn new(limit: usize) -> Framer {
        Framer {
            limit,
            state: State::Start,
            frame: Vec::new(),
        }
    }

    /// Reads `input`, calling `each` with every frame it completes (a
    /// line without its newline, or a frame's declared bytes) or every
    /// frame it had to refuse. Empty lines are no frames.
    pub fn push(&mut self, mut input: &[u8], mut each: impl FnMut(Result<&[u8], FrameError>)) {
        while let Some((&byte, rest)) = input.split_first() {
            match self.state {
                State::Start => match byte {
                    b'\n' | b'\r' => input = rest,
                    b'1'..=b'9' => {
                        self.frame.clear();
                        self.frame.push(byte);
                        self.state = State::Length;
                        input = rest;
                    }
                    _ => {
                        self.frame.clear();
                        self.state = State::Line;
                    }
                },
                State::Length => match byte {
                    b'0'..=b'9' if self.frame.len() < MAX_DIGITS => {
                        self.frame.push(byte);
                        input = rest;
                    }
                    b' ' => {
                        input = rest;
                        let expected = self
                            .frame
                            .iter()
                            .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                        self.frame.clear();
                        self.state = if expected > self.limit {
                            each(Err(FrameError::TooLarge {
                                bytes: Some(expected),
                                limit: self.limit,
                            }));
                            State::SkipOctets { missing: expected }
                        } else {
                            // Exactly what the frame takes: at most `limit`.
                            self.frame.reserve_exact(expected);
                            State::Octets {
                                expected,
                                missing: expected,
                            }
                        };
                    }
                    // Not a length: the digits began a line.
                    _ => self.state = State::Line,
                },
                State::Octets { expected, missing } => {
                    let take = missing.min(input.len());
                    self.frame.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if take == missing {
                        each(Ok(&self.frame));
                        self.frame.clear();
                        self.state = State::Start;
                    } else {
                        self.state = State::Octets {
                            expected,
                            missing: missing - take,
                        };
                    }
                }
                State::SkipOctets { missing } => {
                    let take = missing.min(input.len());
                    input = &input[take..];
                    self.state = if take == missing {
                        State::Start
                    } else {
                        State::SkipOctets {
                            missing: missing - take,
                        }
                    };
                }
                State::Line => {
                    let end = input.iter().position(|&b| b == b'\n');
                    let take = end.unwrap_or(input.len());
                    // One byte more than the limit: the CR of a CRLF end,
                    // checked once the line is whole (`end_line`).
                    if self.frame.len() + take > self.limit + 1 {
                        each(Err(FrameError::TooLarge {
                            bytes: None,
                            limit: self.limit,
                        }));
                        self.frame.clear();
                        self.state = State::SkipLine;
                        continue;
                    }
                    self.frame.extend_from_slice(&input[..take]);
                    match end {
                        Some(end) => {
                            input = &input[end + 1..];
                            self.end_line(&mut each);
                        }
                        None => input = &[],
                    }
                }
                State::SkipLine => match input.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        input = &input[end + 1..];
                        self.state = State::Start;
                    }
                    None => input = &[],
                },
            }
        }
    }

    /// The stream ended: a line without its newline is a frame, an
    /// octet-counted frame not complete is truncated.
    pub fn finish(&mut self, mut each: impl FnMut(Result<&[u8], FrameError>)) {
        match std::mem::replace(&mut self.state, State::Start) {
            State::Line | State::Length => self.end_line(&mut each),
            State::Octets { expected, missing } => each(Err(FrameError::Truncated {
                expected,
                received: expected - missing,
            })),
            State::Start | State::SkipOctets { .. } | State::SkipLine => {}
        }
        self.frame = Vec::new();
    }

    /// Bytes held for the frame being read.
    pub fn held(&self) -> usize {
        self.frame.capacity()
    }

    /// Whether part of a frame has been read (and would be lost if the
    /// stream stopped being read now).
    pub fn in_frame(&self) -> bool {
        !matches!(self.state, State::Start)
    }

    fn end_line(&mut self, each: &mut impl FnMut(Result<&[u8], FrameError>)) {
        let line = self.frame.strip_suffix(b"\r").unwrap_or(&self.frame);
        if line.len() > self.limit {
            each(Err(FrameError::TooLarge {
                bytes: None,
                limit: self.limit,
            }));
        } else if !line.is_empty() {
            each(Ok(line));
        }
        self.frame.clear();
        self.state = State::Start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The frames of `chunks` fed one after the other, then the end.
    fn frames(limit: usize, chunks: &[&[u8]]) -> Vec<Result<String, FrameError>> {
        let mut framer = Framer::new(limit);
        let mut out = Vec::new();
        let mut each =
            |f: Result<&[u8], FrameError>| out.push(f.map(|b| String::from_utf8_lossy(b).into()));
        for chunk in chunks {
            framer.push(chunk, &mut each);
        }
        framer.finish(&mut each);
        out
    }

    fn ok(texts: &[&str]) -> Vec<Result<String, FrameError>> {
        texts.iter().map(|t| Ok((*t).to_owned())).collect()
    }

    #[test]
    fn octet_counted_and_newline_frames_mix() {
        let stream = b"11 <13>1 - - a\n<13>b c\r\n\n5 hello3 abc";
        assert_eq!(
            frames(100, &[stream]),
            ok(&["<13>1 - - a", "<13>b c", "hello", "abc"])
        );
    }

    #[test]
    fn frames_split_anywhere_are_the_same() {
        let stream: &[u8] = b"7 <13>abc<13>line one\n12 <13>x\ny z 12\n";
        let whole = frames(100, &[stream]);
        assert_eq!(whole, ok(&["<13>abc", "<13>line one", "<13>x\ny z 12"]));
        for cut in 0..stream.len() {
            assert_eq!(
                frames(100, &[&stream[..cut], &stream[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(100, &bytes), whole);
    }

    #[test]
    fn digits_without_a_space_begin_a_line() {
        assert_eq!(
            frames(100, &[b"2023-09-15 started\n"]),
            ok(&["2023-09-15 started"])
        );
        assert_eq!(
            frames(100, &[b"1234567890 x\n"]),
            ok(&["1234567890 x"]),
            "ten digits are no length"
        );
        assert_eq!(frames(100, &[b"42"]), ok(&["42"]));
    }

    #[test]
    fn frames_over_the_limit_are_skipped_and_reported() {
        let too_large = |bytes| Err(FrameError::TooLarge { bytes, limit: 5 });
        let mut expected = vec![too_large(Some(8))];
        expected.extend(ok(&["ok"]));
        assert_eq!(frames(5, &[b"8 12345678", b"2 ok"]), expected);
        let mut expected = vec![too_large(None)];
        expected.extend(ok(&["fits"]));
        assert_eq!(frames(5, &[b"far too long", b" still\nfits\n"]), expected);
        assert_eq!(frames(5, &[b"12345\n"]), ok(&["12345"]), "exact");
        assert_eq!(frames(5, &[b"12345\r\n"]), ok(&["12345"]), "exact, CRLF");
        assert_eq!(frames(5, &[b"123456\r\n"]), vec![too_large(None)]);
        assert_eq!(frames(5, &[b"123456\n"]), vec![too_large(None)]);
    }

    #[test]
    fn the_end_of_the_stream_inside_a_counted_frame_is_truncated() {
        let mut expected = ok(&["one"]);
        expected.push(Err(FrameError::Truncated {
            expected: 10,
            received: 3,
        }));
        assert_eq!(frames(100, &[b"3 one10 abc"]), expected);
        let e = FrameError::Truncated {
            expected: 10,
            received: 3,
        };
        assert_eq!(
            e.to_string(),
            "the stream ended after 3 of a frame's 10 bytes"
        );
    }

    #[test]
    fn a_long_line_holds_no_more_than_the_limit() {
        let mut framer = Framer::new(1000);
        let chunk = vec![b'x'; 300];
        let mut refused = 0;
        for _ in 0..100 {
            framer.push(&chunk, |f| refused += usize::from(f.is_err()));
            assert!(framer.held() <= 2048, "{}", framer.held());
        }
        assert_eq!(refused, 1);
    }
}
