//! One text per keyword value, `path\0value`, for backends that index every
//! keyword of a record in one term field (both of ours do: tantivy's `kw`,
//! OpenSearch's `kw`).
//!
//! Why here: the encoding must be the same wherever terms are written and
//! wherever their ranges are read (keyword terms, wildcards, regexes,
//! facets, `field:*`), and it has one subtlety. A JSON key may hold
//! `\u0000`, so the path is escaped (`\0` → `\x01\x02`, `\x01` → `\x01\x01`):
//! unescaped, path `a\0b` with value `x` and path `a` with value `b\0x` would
//! be one term, and the terms of `a\0b` would lie among those of `a`. Escaped
//! paths hold no `\0`, so the first `\0` of a term ends its path, the terms
//! of a path are exactly those in `[prefix(path), prefix_end(path))`, and the
//! escaping is injective. Paths without those two characters (all but
//! pathological ones) are unchanged.

/// Ends the (escaped) path in a term.
pub const SEPARATOR: char = '\0';

/// What every term of `path` starts with: the escaped path, then
/// [`SEPARATOR`].
pub fn prefix(path: &str) -> String {
    let mut text = String::with_capacity(path.len() + 1);
    for c in path.chars() {
        match c {
            '\0' => text.push_str("\u{1}\u{2}"),
            '\u{1}' => text.push_str("\u{1}\u{1}"),
            c => text.push(c),
        }
    }
    text.push(SEPARATOR);
    text
}

/// The first text after every term of `path` (the separator is the
/// smallest character).
pub fn prefix_end(path: &str) -> String {
    let mut text = prefix(path);
    text.pop();
    text.push('\u{1}');
    text
}

/// The term of one keyword value: [`prefix`] then the value.
pub fn text(path: &str, value: &str) -> String {
    let mut text = prefix(path);
    text.push_str(value);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_escaped_and_ranges_hold_exactly_their_terms() {
        assert_eq!(text("level", "error"), "level\0error");
        assert_eq!(text("a\0b", "x"), "a\u{1}\u{2}b\0x");
        assert_ne!(text("a\0b", "x"), text("a", "b\0x"));
        assert_ne!(text("a\u{1}\u{2}b", "x"), text("a\0b", "x"));
        let paths = ["a", "a\0b", "a\u{1}", "a\u{1}\u{2}b", "ab", "a.b", ""];
        for p in paths {
            for q in paths {
                for v in ["", "x", "\0", "b\0x", "\u{1}"] {
                    let t = text(q, v);
                    let inside = prefix(p) <= t && t < prefix_end(p);
                    assert_eq!(inside, p == q, "{p:?} {q:?} {v:?}");
                }
            }
        }
    }
}
