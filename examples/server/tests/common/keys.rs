//! The keys and auth file shared by the role tests.

use std::path::Path;

use super::{write_auth_file, Server};

pub const ADMIN: &str = "admin-7f1c9e2b4a6d8053e1f2a3b4c5d6e7f8";
pub const INGEST: &str = "ingest-2b8d4f6a1c3e5079b2c4d6e8f0a1b3c5";
pub const READ: &str = "read-9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b";
/// Read key limited to `resourceId` matching `server-1*`.
pub const READ_SERVER1: &str = "read-server1-4c5d6e7f8a9b0c1d2e3f4a5b";
/// Read key limited to `resourceId` exactly `svc-b`.
pub const READ_SVCB: &str = "read-svcb-0a1b2c3d4e5f6a7b8c9d0e1f2a3b";
/// A well-formed key that is not in the auth file.
pub const WRONG: &str = "wrong-00000000000000000000000000000000";

/// The auth file of these tests: one key per role, and two scoped read keys.
pub fn auth_file(dir: &Path) -> String {
    write_auth_file(
        dir,
        &[
            ("admin", ADMIN, "admin", &[]),
            ("shipper", INGEST, "ingest", &[]),
            ("reader", READ, "read", &[]),
            ("team-server1", READ_SERVER1, "read", &["server-1*"]),
            ("team-svcb", READ_SVCB, "read", &["svc-b"]),
        ],
    )
}

/// A server with the auth file of these tests.
pub fn start_with_auth() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = auth_file(dir.path());
    (Server::start_with(&["--auth-file", &auth]), dir)
}
