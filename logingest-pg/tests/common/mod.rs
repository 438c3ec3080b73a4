//! Service gating and fresh tenants for the tests of this crate.
//!
//! Tests need a real PostgreSQL and a real Elasticsearch/OpenSearch, named by
//! `LOGINGEST_PG_URL` and `LOGINGEST_ES_URL` (`scripts/services.sh` starts
//! throwaway ones). Without them a test is skipped with a message, unless
//! `LOGINGEST_REQUIRE_SERVICES=1` (the test command sets it), where missing
//! services are a failure.
#![allow(dead_code)]

use logingest_core::{Backend, Record, WriteAck};
use logingest_pg::{PgBackend, PgConfig};

/// The two service URLs, or `None` (after printing why) when the test
/// should be skipped; see `logingest_core::testkit::services`.
pub fn services() -> Option<(String, String)> {
    logingest_core::testkit::services::services().map(|urls| (urls.pg, urls.es))
}

/// [`services`] for code that cannot return early (the closure of
/// `conformance_tests!`): a missing service skips the whole test binary,
/// whose tests all need it, by exiting with success.
pub fn services_or_exit() -> (String, String) {
    services().unwrap_or_else(|| std::process::exit(0))
}

/// A configuration for a tenant no other test uses: its own PG schema and
/// index prefix, named after the process and a counter.
pub fn fresh_config(pg: &str, es: &str) -> PgConfig {
    let name = logingest_core::testkit::services::unique_name("lgt");
    PgConfig::new(pg, es).schema(&name).index_prefix(&name)
}

/// One tenant for one test: destroyed (schema, indices, template) on drop.
pub struct Tenant {
    pub config: PgConfig,
}

impl Tenant {
    pub fn new(pg: &str, es: &str) -> Self {
        Tenant {
            config: fresh_config(pg, es),
        }
    }

    pub fn open(&self) -> PgBackend {
        PgBackend::open(self.config.clone()).expect("open the pg backend")
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if std::env::var("LOGINGEST_PG_KEEP").is_err() {
            let _ = PgBackend::destroy(&self.config);
        }
    }
}

/// Writes `records` from one thread per `per_thread` of them, thread `i`
/// on `nodes[i % nodes.len()]`, in batches of `per_batch`; every ack.
pub fn write_concurrently(
    nodes: &[&PgBackend],
    records: &[Record],
    per_thread: usize,
    per_batch: usize,
) -> Vec<WriteAck> {
    std::thread::scope(|s| {
        let writers: Vec<_> = records
            .chunks(per_thread)
            .enumerate()
            .map(|(i, chunk)| {
                let node = nodes[i % nodes.len()];
                s.spawn(move || {
                    chunk
                        .chunks(per_batch)
                        .map(|batch| node.write_batch(batch).expect("write"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers
            .into_iter()
            .flat_map(|w| w.join().expect("writer"))
            .collect()
    })
}
