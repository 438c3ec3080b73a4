//! Shipper client libraries driven from Python: the tests that prove a
//! real, unmodified client (elasticsearch-py, the OpenTelemetry SDK, a Loki
//! handler) ships logs we can search run a script of `tests/` with
//! `$LOGINGEST_PYTHON` (default `python3`; `scripts/test.sh` creates
//! `target/pyenv` with every package and sets it).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::{write_auth_file, Server};

/// A server a shipper sends to with the key `ingest` and the test reads
/// with the key `read` (an auth file of those two keys, in a directory
/// kept as long as the server).
pub fn keyed_server(ingest: &str, read: &str) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = write_auth_file(
        dir.path(),
        &[
            ("shipper", ingest, "ingest", &[]),
            ("reader", read, "read", &[]),
        ],
    );
    (Server::start_with(&["--auth-file", &auth]), dir)
}

/// The exit code of a script whose package is missing.
const MISSING: i32 = 3;

/// Runs `tests/<script>` with `args` and returns the JSON summary it
/// prints. Fails loudly, never skips: when the script says its package is
/// missing (exit 3), the message says how to install `packages` (pip
/// arguments) for the test `test`.
pub fn run_script(script: &str, args: &[&str], packages: &str, test: &str) -> Value {
    let python = std::env::var("LOGINGEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let out = Command::new(&python)
        .arg(&path)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{python}` ({e}). Set LOGINGEST_PYTHON to a Python 3 with {packages}, \
                 or run scripts/test.sh, which creates one."
            )
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(MISSING) {
        panic!(
            "\n\nA package {script} needs is not installed for `{python}`:\n{stderr}\n\
             This test needs it (it is not skipped): run scripts/test.sh, or\n  \
             python3 -m venv target/pyenv && target/pyenv/bin/pip install {packages}\n  \
             LOGINGEST_PYTHON=$PWD/target/pyenv/bin/python cargo test -p logingest-server --test {test}\n"
        );
    }
    assert!(
        out.status.success(),
        "{script} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{script}'s summary is not JSON ({e}): {stdout}"))
}
