#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, docs, unit, integration,
# conformance and differential tests, and the benches in test mode.
#
# This is the README's test command and what CI runs (.ci/run). It must pass
# on a fresh machine with only the repository: anything a test needs that is
# not there is installed or started by this script, and stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every cargo command below uses the same features (`--workspace
# --all-features`), so that nothing is compiled twice: a `-p` or a different
# feature set would rebuild the facade and everything above it.
cargo_all=(--workspace --all-features)

# Each step prints its name; the time each took is listed at the end.
timings=()
step_name=""
step_start=$SECONDS
end_step() {
  [[ -n $step_name ]] && timings+=("$(printf '%5ds  %s' $((SECONDS - step_start)) "$step_name")")
  step_name=""
}
step() {
  end_step
  step_name=$*
  step_start=$SECONDS
  printf '\n==> %s\n' "$*"
}

# Every test runner's output also goes to this log, summed up at the end.
log=$(mktemp -t logingest-test.XXXXXX)
# services_start/services_stop: throwaway PostgreSQL and OpenSearch.
source scripts/services.sh
trap 'rm -f "$log"; services_stop' EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy "${cargo_all[@]}" --all-targets -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc "${cargo_all[@]}" --no-deps

step "cargo package (dry run of every publishable crate: manifests, files, dependencies)"
# Without building them again (a full build each); `cargo package` with
# verification was run for docs/library.md.
cargo package --workspace --exclude logingest-server --exclude logingest-benches --no-verify --allow-dirty --quiet

step "Python virtualenv with the shippers' client libraries (target/pyenv)"
# tests/es_client.rs ships logs with the real elasticsearch-py bulk helper,
# tests/otel_client.rs with the OpenTelemetry SDK's OTLP/HTTP exporter,
# tests/loki_client.rs with loki-logger-handler; they run $LOGINGEST_PYTHON.
# The venv is reused when present and working. Versions are pinned (the
# SDK's logs API is still `_logs`, experimental, and may change).
pyenv=target/pyenv
if ! "$pyenv/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$pyenv"
  python3 -m venv "$pyenv"
fi
"$pyenv/bin/python" -m pip install -q --disable-pip-version-check 'elasticsearch>=8,<9' \
  'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-proto-http==1.45.2' \
  'loki-logger-handler==1.1.2'
export LOGINGEST_PYTHON="$PWD/$pyenv/bin/python"

step "syslog senders: logger (util-linux) and rsyslogd"
# tests/syslog.rs sends with Debian's own senders: `logger` (bsdutils,
# installed everywhere) and rsyslogd forwarding with omfwd, run by the test
# as a process of its own (the package's service is not started).
if ! command -v logger >/dev/null 2>&1 || ! command -v rsyslogd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bsdutils rsyslog >/dev/null
fi

step "services: PostgreSQL 15 and OpenSearch 2.19, unless LOGINGEST_PG_URL / LOGINGEST_ES_URL are set"
services_start

step "cargo test"
cargo test "${cargo_all[@]}" 2>&1 | tee -a "$log"

step "the server's HTTP tests again, on the pg backend (PostgreSQL + OpenSearch)"
# The test binaries `cargo test` built, run again: `cargo test -p` would
# resolve other features and rebuild. Each runs from its package's
# directory, as cargo runs it.
server_tests=$(cargo test "${cargo_all[@]}" --tests --no-run --message-format=json |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if (m.get("reason") == "compiler-artifact" and m.get("executable")
            and m["target"]["kind"] == ["test"] and "/examples/server#" in m["package_id"]):
        print(m["executable"])')
[[ -n $server_tests ]] || { echo "found no test binaries of the server" >&2; exit 1; }
for test_bin in $server_tests; do
  (cd examples/server && LOGINGEST_TEST_BACKEND=pg "$test_bin") 2>&1 | tee -a "$log"
done

step "benches in test mode (each bench body runs once)"
cargo test "${cargo_all[@]}" --bench '*' 2>&1 | tee -a "$log"

step "examples: each runs, and prints what it should"
# `cargo test` builds the examples; running them is this step. Each check
# reads a figure the example can only print if it did its work.
out=$(target/debug/examples/ingest_file testdata/loghub/hdfs_2k.ndjson 'level:warn AND "got exception"')
printf '%s\n' "$out" | head -3
if ! grep -q '^80 of 2000 records match' <<<"$out"; then
  echo "examples: ingest_file did not find the 80 warnings of testdata/loghub/hdfs_2k.ndjson" >&2
  exit 1
fi

out=$(RUST_LOG=warn target/debug/examples/axum_service --self-test)
printf '%s\n' "$out"
if ! grep -q '^found 10 of 10 order requests' <<<"$out"; then
  echo "examples: axum_service did not find its own 10 requests through its /logs/api/search" >&2
  exit 1
fi
# The pg example reads a configuration file: one for the services started
# above, with a schema and index prefix of its own.
pg_config=$(mktemp -t logingest-pg-example.XXXXXX)
trap 'rm -f "$log" "$pg_config"; services_stop' EXIT
cat >"$pg_config" <<EOF
pg_url = "$LOGINGEST_PG_URL"
es_url = "$LOGINGEST_ES_URL"
schema = "example_$$"
index_prefix = "example_$$"
EOF
out=$(target/debug/examples/pg_from_config "$pg_config")
rm -f "$pg_config"
printf '%s\n' "$out"
if ! grep -q '^pg backend: found 3 of 3 records' <<<"$out"; then
  echo "examples: pg_from_config did not find its 3 records" >&2
  exit 1
fi

step "browser tests of the web UI (Debian's chromium, driven by playwright-core)"
# The tests drive the server binary that cargo test built, in a real
# headless Chromium. CI machines have no browser: install Debian's.
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
cargo build "${cargo_all[@]}" --bins
ui_tap=$(mktemp -t logingest-ui-tap.XXXXXX)
(
  cd examples/server/ui-tests
  npm ci --no-audit --no-fund --loglevel=error
  node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$ui_tap"
)
# In cargo's words, so the closing line counts these tests too.
awk '/^# pass/ { p = $3 } /^# fail/ { f = $3 } END { printf "test result: browser. %d passed; %d failed;\n", p, f }' "$ui_tap" | tee -a "$log"
rm -f "$ui_tap"

end_step
printf '\nTime per step:\n'
printf '%s\n' "${timings[@]}"

# One closing line for the whole run, in the plain "N passed, N failed" form.
awk '/^test result:/ { p += $4; f += $6 } END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
