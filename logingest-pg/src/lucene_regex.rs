//! Rust regex → Lucene regular expression (stub; being written separately).
//!
//! API: [`to_lucene`] turns an unanchored Rust pattern into a Lucene pattern
//! that matches a whole value exactly when the Rust regex matches anywhere in
//! it, or names the construct Lucene cannot express.

/// A Lucene regular expression equivalent to a Rust regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuceneRegex {
    /// The pattern, already wrapped so that it matches whole values.
    pub pattern: String,
}

/// A Rust regex construct Lucene cannot express.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The construct, as a user would recognise it (`\b`, `(?m)`, ...).
    pub construct: String,
}

/// Translates `pattern` (Rust syntax, unanchored).
pub fn to_lucene(pattern: &str) -> Result<LuceneRegex, Unsupported> {
    let _ = pattern;
    Err(Unsupported {
        construct: "regular expressions (not yet translated)".to_owned(),
    })
}
