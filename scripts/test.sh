#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, docs, unit, integration,
# conformance and differential tests, and the benches in test mode.
#
# This is the README's test command and what CI runs (.ci/run). It must pass
# on a fresh machine with only the repository: anything a test needs that is
# not there is installed or started by this script, and stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --all-features --no-deps

step "cargo test"
cargo test --workspace --all-features

step "benches in test mode"
cargo test --workspace --all-features --benches
