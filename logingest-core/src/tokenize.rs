//! The message tokenizer (docs/query-language.md), in one place.
//!
//! Tokens are maximal runs of `char::is_alphanumeric` characters, lowercased
//! character by character with `char::to_lowercase` (not `str::to_lowercase`,
//! whose final-sigma rule depends on context and is hard to reproduce in other
//! engines); no stemming, no stop words, no length cut. Every backend must
//! index `message` with exactly this function's output; the scale-out backend
//! sends these tokens to its index rather than trusting another analyzer.

/// Splits `text` into lowercased alphanumeric tokens.
pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(lowercase)
        .collect()
}

/// Lowercases `token` character by character, as [`tokenize`] does.
pub fn lowercase(token: &str) -> String {
    token.chars().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    #[test]
    fn splits_on_non_alphanumerics_and_lowercases() {
        assert_eq!(
            tokenize("Failed to connect: 10.251.73.220:50010 don't"),
            ["failed", "to", "connect", "10", "251", "73", "220", "50010", "don", "t"]
        );
    }

    #[test]
    fn keeps_unicode_letters_and_long_tokens() {
        let long = "a".repeat(300);
        assert_eq!(
            tokenize(&format!("Ünïcode_日本語 {long}")),
            ["ünïcode", "日本語", &long]
        );
        assert!(tokenize(" !! -- ").is_empty());
    }
}
