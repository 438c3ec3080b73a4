//! The message tokenizer (docs/query-language.md) as a tantivy tokenizer.
//!
//! tantivy's default tokenizer drops tokens over 40 bytes and splits on a
//! different character set, which would make the index disagree with the
//! reference evaluator. This one produces exactly
//! [`logingest_core::tokenize`]: maximal runs of `char::is_alphanumeric`,
//! lowercased character by character, no length cut. A unit test checks
//! the two agree on awkward text.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Name under which the tokenizer is registered on the index.
pub(crate) const NAME: &str = "logingest";

/// Splits on non-alphanumerics and lowercases.
#[derive(Clone, Default)]
pub(crate) struct MessageTokenizer {
    token: Token,
}

impl Tokenizer for MessageTokenizer {
    type TokenStream<'a> = MessageTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MessageTokenStream<'a> {
        self.token.reset();
        self.token.position = usize::MAX;
        MessageTokenStream {
            text,
            offset: 0,
            token: &mut self.token,
        }
    }
}

/// The token stream of one text.
pub(crate) struct MessageTokenStream<'a> {
    text: &'a str,
    offset: usize,
    token: &'a mut Token,
}

impl TokenStream for MessageTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let rest = &self.text[self.offset..];
        let Some(start) = rest.find(char::is_alphanumeric) else {
            self.offset = self.text.len();
            return false;
        };
        let word = &rest[start..];
        let len = word
            .find(|c: char| !c.is_alphanumeric())
            .unwrap_or(word.len());
        let from = self.offset + start;
        self.offset = from + len;
        self.token.text.clear();
        self.token
            .text
            .extend(word[..len].chars().flat_map(char::to_lowercase));
        self.token.offset_from = from;
        self.token.offset_to = from + len;
        self.token.position = self.token.position.wrapping_add(1);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<(String, usize)> {
        let mut tokenizer = MessageTokenizer::default();
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().text.clone(), stream.token().position));
        }
        out
    }

    #[test]
    fn agrees_with_the_core_tokenizer() {
        let long = "z".repeat(500);
        for text in [
            "",
            "  !! ",
            "Failed to connect: 10.251.73.220:50010 don't",
            "Ünïcode_日本語テキスト ΣΊΣΥΦΟΣ İstanbul straße",
            "emoji😀between🙂words",
            &format!("a {long} b"),
        ] {
            let got: Vec<String> = tokens(text).into_iter().map(|(t, _)| t).collect();
            assert_eq!(got, logingest_core::tokenize(text), "{text:?}");
        }
    }

    #[test]
    fn positions_count_tokens() {
        let positions: Vec<usize> = tokens("a, b c").into_iter().map(|(_, p)| p).collect();
        assert_eq!(positions, [0, 1, 2]);
    }
}
