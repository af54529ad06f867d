#!/usr/bin/env bash
# The web UI's benchmark (kept out of the pass/fail suite): API p99 at 500
# requests/s for /status and /positions, WebSocket event delivery latency,
# the JS bundle gzipped, and click-to-paint times in Debian's chromium.
# Starts its own `vspread demo` (fresh data dir, default speed 60) and waits
# for its first position so /positions has something to answer; or uses a
# running one: VSPREAD_URL=http://127.0.0.1:8080 VSPREAD_TOKEN=... VSPREAD_SPEED=60.
#   bash bench/web.sh            (BENCH_RATE=500 BENCH_SECONDS=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

(cd web && { [ -f node_modules/.package-lock.json ] || npm ci --no-audit --no-fund; })
cargo build --quiet --release -p vspread
bin="$CARGO_TARGET_DIR/release/vspread"

# The bundle the binary embeds, built the same way.
dist="$(mktemp -d)"
(cd web && npm run --silent build -- --outDir "$dist" --emptyOutDir >/dev/null)

demo_pid=""
data=""
cleanup() {
  if [ -n "$demo_pid" ]; then kill -TERM "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  [ -n "$data" ] && rm -rf "$data"
  rm -rf "$dist"
}
trap cleanup EXIT

if [ -z "${VSPREAD_URL:-}" ]; then
  data="$(mktemp -d)"
  VSPREAD_LOG=info "$bin" demo --data-dir "$data" --listen 127.0.0.1:0 2>"$data/log" >/dev/null &
  demo_pid=$!
  for _ in $(seq 1 600); do
    grep -q "admin server ready" "$data/log" 2>/dev/null && break
    sleep 0.1
  done
  VSPREAD_URL="$(grep -o 'admin server ready.*' "$data/log" | grep -o 'http://[0-9.:]*' | head -1)"
  VSPREAD_TOKEN="$(cat "$data/admin.token")"
  VSPREAD_SPEED=60
  echo "vspread demo (pid $demo_pid) at $VSPREAD_URL; waiting for its first position..."
  for _ in $(seq 1 240); do
    if curl -s -H "Authorization: Bearer $VSPREAD_TOKEN" "$VSPREAD_URL/api/v1/positions" | grep -q entry_ref; then break; fi
    sleep 1
  done
fi
export VSPREAD_URL VSPREAD_TOKEN VSPREAD_SPEED="${VSPREAD_SPEED:-60}" WEB_DIST="$dist"
echo "host: $(nproc) cores; $(node --version); $(/usr/bin/chromium --version 2>/dev/null || true)"
node --experimental-websocket --no-warnings bench/web-bench.mjs
