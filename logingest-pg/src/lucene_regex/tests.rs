use super::*;

fn lucene(p: &str) -> String {
    to_lucene(p)
        .map(|l| l.pattern)
        .unwrap_or_else(|u| format!("UNSUPPORTED {}", u.construct))
}

#[test]
fn literals_anchors_and_alternatives() {
    assert_eq!(lucene("Failed"), ".*Failed.*");
    assert_eq!(lucene("^a.b$"), "a[^\n]b");
    assert_eq!(lucene("^$"), "()");
    assert_eq!(lucene("x$"), ".*x");
    assert_eq!(lucene("a|^b"), "(.*a.*)|(b.*)");
    assert_eq!(lucene("^a$|^b$"), "(a)|(b)");
    assert_eq!(lucene("^(true|false)$"), "((true|false))");
    assert_eq!(
        to_lucene("^ab$|^(ab)$").unwrap().single.as_deref(),
        Some("ab")
    );
    assert_eq!(to_lucene("^$").unwrap().single.as_deref(), Some(""));
    assert_eq!(to_lucene("^a{3}$").unwrap().single.as_deref(), Some("aaa"));
    for many in ["^a$|^b$", "^a", "a$", "^a*$", "^[ab]$", "^(?i)a$", "a"] {
        assert_eq!(to_lucene(many).unwrap().single, None, "{many}");
    }
    assert_eq!(lucene(r"\$\."), ".*\\$\\..*");
    assert_eq!(lucene("x{300} the end$"), ".*(x){300} the end");
    assert_eq!(lucene(r"a\\b"), r".*a(\\){1}b.*");
    assert_eq!(lucene(r#"[a\-\]"]"#), r#".*[\"\-\]a].*"#);
    // A range may not start with `\\` in a Lucene class: `\` stands
    // alone, the range starts at `]`.
    assert_eq!(lucene(r"[\\\]]"), r".*[\\\]].*");
    assert_eq!(lucene(r"[\\-^]"), r".*[\\\]-\^].*");
    assert_eq!(lucene("(?s)."), ".*..*");
    assert_eq!(lucene("日本|café"), ".*(日本|café).*");
}

#[test]
fn refusals_name_the_construct() {
    for (p, what) in [
        (r"conn\b", "\\b"),
        ("(?m)^a", "(?m)"),
        ("a^b", "precede"),
        ("(^a)*", "precede"),
    ] {
        let u = to_lucene(p).expect_err(p);
        assert!(u.construct.contains(what), "{p}: {}", u.construct);
    }
}

fn superset(p: &str) -> (String, bool) {
    let s = to_lucene_superset(p).unwrap();
    (s.regex.pattern, s.exact)
}

#[test]
fn supersets_drop_what_lucene_lacks() {
    assert_eq!(superset("Failed"), (".*Failed.*".into(), true));
    assert_eq!(superset(r"conn\b"), (".*conn.*".into(), false));
    assert_eq!(superset(r"\bab\B"), (".*ab.*".into(), false));
    // Multi-line anchors go; the text's own anchors stay.
    assert_eq!(superset("(?m)^at "), (".*at .*".into(), false));
    assert_eq!(superset(r"^a\b"), ("a.*".into(), false));
    // An anchor Lucene cannot place: every anchor goes.
    assert_eq!(superset("a^b|^c"), (".*(ab|c).*".into(), false));
    assert_eq!(superset("(^a)*x$"), (".*((a))*x.*".into(), false));
    // What every superset must keep: each value the pattern matches.
    for p in [
        r"conn\b",
        r"\bab\B",
        "(?m)^at ",
        r"^a\b",
        "a^b|^c",
        "(^a)*x$",
        r"(?m)x$\n",
    ] {
        let rust = regex::Regex::new(p).unwrap();
        let lucene = to_lucene_superset(p).unwrap().regex.pattern;
        // These Lucene patterns are valid Rust regexes too, where `.`
        // must also match `\n` as in Lucene.
        let whole = regex::Regex::new(&format!("^(?s:{lucene})$")).unwrap();
        for text in [
            "conn", "connect", "ab", "abc", "x ab", "a\nat b", "at", "ab c", "a", "c", "aax",
            "x\n", "b ab",
        ] {
            if rust.is_match(text) {
                assert!(whole.is_match(text), "/{p}/ ({lucene}) misses {text:?}");
            }
        }
    }
}
