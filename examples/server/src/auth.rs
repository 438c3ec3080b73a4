//! API keys, roles and resource scopes.
//!
//! The auth file is TOML:
//!
//! ```toml
//! [[keys]]
//! name = "shipper"
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! role = "ingest"
//!
//! [[keys]]
//! name = "team-a"
//! sha256 = "..."
//! role = "read"
//! resources = ["server-12*", "svc-a"]
//! ```
//!
//! Keys are stored as SHA-256 hashes (`logingest hash-key KEY` prints one):
//! keys are long random tokens, so a fast hash is enough, as for GitHub
//! tokens; a leaked file does not leak keys. A read key with `resources`
//! sees only records whose `resourceId` matches one of the patterns (same
//! wildcards as the query language). The restriction is ANDed into the query
//! itself, so totals, histograms, facets and live tail respect it too.

use std::collections::HashMap;
use std::path::Path;

use logingest::query::{Query, Wildcard, WildcardPart};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Send records.
    Ingest,
    /// Search, aggregate, tail.
    Read,
}

/// The caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key's name from the auth file (`anonymous` without auth).
    pub name: String,
    /// The key's role.
    pub role: Role,
    /// For scoped read keys: the restriction ANDed into every query.
    pub scope: Option<Query>,
}

impl Principal {
    /// The caller when no auth file is configured: may do everything.
    pub fn anonymous() -> Self {
        Principal {
            name: "anonymous".into(),
            role: Role::Admin,
            scope: None,
        }
    }

    /// Whether this caller may perform an action needing `needed`.
    pub fn allows(&self, needed: Role) -> bool {
        self.role == Role::Admin || self.role == needed
    }

    /// `query` restricted to what this caller may see.
    pub fn restrict(&self, query: Query) -> Query {
        match &self.scope {
            Some(scope) => query.and(scope.clone()),
            None => query,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    keys: Vec<KeyEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    name: String,
    sha256: String,
    role: Role,
    #[serde(default)]
    resources: Vec<String>,
}

/// The keys of an auth file, by hash.
#[derive(Debug)]
pub struct Keys {
    by_hash: HashMap<String, Principal>,
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

impl Keys {
    /// Reads and checks an auth file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: AuthFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut by_hash = HashMap::new();
        for entry in file.keys {
            let hash = entry.sha256.to_ascii_lowercase();
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "{}: key `{}`: sha256 must be 64 hex digits",
                    path.display(),
                    entry.name
                ));
            }
            if !entry.resources.is_empty() && entry.role != Role::Read {
                return Err(format!(
                    "{}: key `{}`: only read keys can be limited to resources",
                    path.display(),
                    entry.name
                ));
            }
            let scope = (!entry.resources.is_empty()).then(|| scope_query(&entry.resources));
            let principal = Principal {
                name: entry.name,
                role: entry.role,
                scope,
            };
            if by_hash.insert(hash, principal).is_some() {
                return Err(format!("{}: the same key appears twice", path.display()));
            }
        }
        Ok(Keys { by_hash })
    }

    /// The principal of a presented key, if it is known.
    pub fn find(&self, key: &str) -> Option<&Principal> {
        self.by_hash.get(&hash_key(key))
    }
}

/// `resourceId` matches one of `patterns` (`*` and `?` are wildcards).
fn scope_query(patterns: &[String]) -> Query {
    let clauses: Vec<Query> = patterns
        .iter()
        .map(|pattern| {
            let mut parts = Vec::new();
            let mut literal = String::new();
            for c in pattern.chars() {
                let wild = match c {
                    '*' => WildcardPart::AnyString,
                    '?' => WildcardPart::AnyChar,
                    _ => {
                        literal.push(c);
                        continue;
                    }
                };
                if !literal.is_empty() {
                    parts.push(WildcardPart::Literal(std::mem::take(&mut literal)));
                }
                if !(wild == WildcardPart::AnyString
                    && parts.last() == Some(&WildcardPart::AnyString))
                {
                    parts.push(wild);
                }
            }
            if parts.is_empty() {
                return Query::Keyword {
                    field: "resourceId".into(),
                    value: literal,
                };
            }
            if !literal.is_empty() {
                parts.push(WildcardPart::Literal(literal));
            }
            Query::Wildcard {
                field: logingest::query::Field::Keyword("resourceId".into()),
                pattern: Wildcard { parts },
            }
        })
        .collect();
    match clauses.len() {
        1 => clauses.into_iter().next().expect("one clause"),
        _ => Query::Or(clauses),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_patterns_become_queries() {
        assert_eq!(
            scope_query(&["svc-a".into()]).to_string(),
            r#"resourceId:"svc-a""#
        );
        assert_eq!(
            scope_query(&["server-12*".into(), "a?c".into()]).to_string(),
            "resourceId:server-12* OR resourceId:a?c"
        );
    }

    #[test]
    fn roles() {
        let read = Principal {
            name: "r".into(),
            role: Role::Read,
            scope: None,
        };
        assert!(read.allows(Role::Read) && !read.allows(Role::Ingest) && !read.allows(Role::Admin));
        assert!(Principal::anonymous().allows(Role::Ingest));
    }
}
