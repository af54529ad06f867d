#!/usr/bin/env bash
# Runs every test of vspread on a fresh Debian machine: installs what the tests
# need, then formatting, lints, unit, property, integration and acceptance tests.
# Benchmarks are not run here (see bench/ and `cargo bench`).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

log "toolchain components"
rustup component add rustfmt clippy >/dev/null 2>&1 || true

log "Python test dependencies (IB's official client, run against the simulator; schemathesis, run against the admin API)"
python3 -m pip install -q --disable-pip-version-check "ibapi-latest==10.51.1" "schemathesis==4.32.5" 2>&1 | grep -v "Running pip as the 'root' user" || true
python3 -c "import ibapi" # fail here, clearly, if the install did not work
schemathesis --version

log "Node.js and npm (crates/server/build.rs builds the embedded web UI with them)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node --version
npm --version

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo test"
cargo test --workspace --no-fail-fast

log "web UI: svelte-check, eslint, vitest, then the browser tests (Debian chromium + playwright-core) against vspread demo"
bash web/run-tests.sh
