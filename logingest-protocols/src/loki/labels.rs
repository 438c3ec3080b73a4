//! A stream's labels in Prometheus' text form, as Loki's protobuf push
//! carries them: `{app="api", level="info"}`. Values are quoted as Go's
//! `strconv.Quote` writes them (`\"`, `\\`, `\n`, `\t`, `\r`, `\xHH`,
//! `\uHHHH`, `\UHHHHHHHH`, and the other one-letter escapes).
//!
//! Written by hand rather than with a parser crate: the grammar is a few
//! lines, and errors must say at which byte of the text they are.

/// Parses labels text; an error says what is wrong and at which 1-based
/// byte of the text.
pub(super) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut p = Parser { text, at: 0 };
    p.space();
    p.expect(b'{')?;
    let mut labels = Vec::new();
    p.space();
    if p.eat(b'}') {
        return p.end(labels);
    }
    loop {
        p.space();
        let at = p.at;
        let name = p.name()?;
        // Loki refuses a name given twice: which value would be the label?
        if labels.iter().any(|(n, _)| *n == name) {
            p.at = at;
            return Err(p.error(&format!("label `{name}` given twice")));
        }
        p.space();
        p.expect(b'=')?;
        p.space();
        let value = p.quoted()?;
        labels.push((name, value));
        p.space();
        if p.eat(b'}') {
            return p.end(labels);
        }
        p.expect(b',')?;
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {} of the labels", self.at + 1)
    }

    fn space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn end(mut self, labels: Vec<(String, String)>) -> Result<Vec<(String, String)>, String> {
        self.space();
        match self.peek() {
            None => Ok(labels),
            Some(_) => Err(self.error("unexpected text after `}`")),
        }
    }

    /// A label name: `[a-zA-Z_][a-zA-Z0-9_]*` (dots and dashes too, which
    /// OpenTelemetry-derived names carry).
    fn name(&mut self) -> Result<String, String> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            self.at += 1;
        }
        let name = &self.text[start..self.at];
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            self.at = start;
            return Err(self.error("expected a label name"));
        }
        Ok(name.to_owned())
    }

    /// A double-quoted value with Go's escapes.
    fn quoted(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let start = self.at;
        let mut bytes = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated label value"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => self.escape(&mut bytes)?,
                _ => bytes.push(byte),
            }
        }
        String::from_utf8(bytes).map_err(|_| {
            // Only `\x` escapes can make bytes that are not UTF-8.
            self.at = start;
            self.error("label value is not UTF-8 (its `\\x` escapes)")
        })
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let Some(letter) = self.peek() else {
            return Err(self.error("unterminated escape"));
        };
        self.at += 1;
        let simple = match letter {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'\'' => Some(b'\''),
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'v' => Some(0x0b),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            return Ok(());
        }
        let digits = match letter {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => {
                self.at -= 1;
                return Err(self.error("unknown escape"));
            }
        };
        let hex = self
            .text
            .get(self.at..self.at + digits)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("bad hexadecimal escape"))?;
        self.at += digits;
        if letter == b'x' {
            // A byte: with its neighbours it must make UTF-8.
            out.push(hex as u8);
        } else {
            let c = char::from_u32(hex).ok_or_else(|| self.error("escape of no character"))?;
            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn labels_as_loki_clients_write_them() {
        assert_eq!(
            pairs(r#"{app="api", level="info"}"#),
            [
                ("app".into(), "api".into()),
                ("level".into(), "info".into())
            ]
        );
        assert_eq!(pairs("{}"), []);
        assert_eq!(pairs(" { } "), []);
        assert_eq!(
            pairs(r#"{msg="a \"q\" \\ \n \u00e9 \xc3\xa9 \U0001F600"}"#),
            [("msg".into(), "a \"q\" \\ \n é é 😀".into())]
        );
        assert_eq!(
            pairs(r#"{service.name="x",k8s-pod="y"}"#),
            [
                ("service.name".into(), "x".into()),
                ("k8s-pod".into(), "y".into())
            ]
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        for (text, error) in [
            ("", "expected `{` at byte 1"),
            ("app=\"x\"", "expected `{` at byte 1"),
            ("{app}", "expected `=` at byte 5"),
            ("{=\"x\"}", "expected a label name at byte 2"),
            ("{1a=\"x\"}", "expected a label name at byte 2"),
            ("{a=x}", "expected `\"` at byte 4"),
            ("{a=\"x}", "unterminated label value at byte 7"),
            ("{a=\"x\" b=\"y\"}", "expected `,` at byte 8"),
            ("{a=\"\\q\"}", "unknown escape at byte 6"),
            ("{a=\"\\u12\"}", "bad hexadecimal escape at byte 7"),
            (
                "{a=\"\\xff\"}",
                "label value is not UTF-8 (its `\\x` escapes) at byte 5",
            ),
            ("{a=\"\\x+f\"}", "bad hexadecimal escape at byte 7"),
            ("{a=\"x\", a=\"y\"}", "label `a` given twice at byte 9"),
            ("{a=\"x\"} tail", "unexpected text after `}` at byte 9"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.starts_with(error), "{text}: {e}");
        }
    }
}
