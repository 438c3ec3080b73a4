//! The services tests of the scale-out backend need, and names of their
//! own on them.
//!
//! A real PostgreSQL and a real Elasticsearch/OpenSearch are named by
//! `LOGINGEST_PG_URL` and `LOGINGEST_ES_URL` (`scripts/services.sh` starts
//! throwaway ones). Without them a test is skipped with a message, unless
//! `LOGINGEST_REQUIRE_SERVICES=1` (the test command sets it): then missing
//! services fail the test loudly, so that a CI run cannot pass by skipping.
//! Every test crate asks here, so the rule is written once.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The URLs of the two services.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    /// PostgreSQL: `postgres://user:password@host:port/db`.
    pub pg: String,
    /// Elasticsearch / OpenSearch: `http://host:port`, without a trailing `/`.
    pub es: String,
}

/// What a skipped test prints.
pub const SKIPPED: &str =
    "skipped: set LOGINGEST_PG_URL and LOGINGEST_ES_URL (scripts/services.sh)";

/// The services named by the environment, or `None` after printing why
/// the test is skipped.
///
/// # Panics
///
/// When they are missing and `LOGINGEST_REQUIRE_SERVICES=1`.
pub fn services() -> Option<ServiceUrls> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    match (var("LOGINGEST_PG_URL"), var("LOGINGEST_ES_URL")) {
        (Some(pg), Some(es)) => Some(ServiceUrls {
            pg,
            es: es.trim_end_matches('/').to_owned(),
        }),
        _ if std::env::var("LOGINGEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => panic!(
            "LOGINGEST_REQUIRE_SERVICES=1 but LOGINGEST_PG_URL and LOGINGEST_ES_URL are not both \
             set: start the services with scripts/services.sh (services_start)"
        ),
        _ => {
            // Straight to the file descriptor: libtest captures `println!`.
            let _ = writeln!(std::io::stderr().lock(), "{SKIPPED}");
            None
        }
    }
}

/// A PostgreSQL schema / index-prefix name no other test or run uses:
/// `<kind>_<pid>_<counter>_<nanos>`, lower case. `kind` must be lower-case
/// letters, digits and `_`, starting with a letter.
pub fn unique_name(kind: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{kind}_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn names_differ_and_are_valid_identifiers() {
        let (a, b) = (unique_name("t"), unique_name("t"));
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        assert!(a.len() <= 48, "{a}");
    }
}
