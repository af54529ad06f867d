#!/usr/bin/env bash
# The long run (kept out of the pass/fail suite): a simulated month of a
# `vspread demo` at high speed while the admin API takes 500 requests/s of
# mixed reads and 20 WebSocket clients follow the event stream (plus one
# that never reads). Prints the API p50/p99 and errors (goal 0), events
# each client missed (goal 0; the silent one cut off), the process's RSS
# over time (goal: growth under 10 % after warm-up) and the journal's size
# per simulated day.
#   bash bench/long_run.sh                  (LONG_DAYS=30 LONG_SPEED=1800: 24 minutes)
#   LONG_DAYS=2 LONG_SPEED=1800 bash bench/long_run.sh    a short look
#   LONG_BIN=path/to/vspread bash bench/long_run.sh        without building
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if [ -n "${LONG_BIN:-}" ]; then
  bin="$LONG_BIN" # a binary built already
else
  cargo build --quiet --release -p vspread
  bin="$CARGO_TARGET_DIR/release/vspread"
fi
days="${LONG_DAYS:-30}"
speed="${LONG_SPEED:-1800}"
seconds="$(python3 -c "print(round($days * 86400 / $speed))")"

data="$(mktemp -d)"
demo_pid=""
cleanup() {
  if [ -n "$demo_pid" ]; then kill -TERM "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

VSPREAD_LOG="warn,vspread_app=info" "$bin" demo --data-dir "$data" --listen 127.0.0.1:0 --speed "$speed" 2>"$data/log" >"$data/out" &
demo_pid=$!
url=""
for _ in $(seq 1 600); do
  url="$(grep -o 'admin server ready.*' "$data/log" 2>/dev/null | grep -o 'http://[0-9.:]*' | head -1 || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "no admin server"; cat "$data/log"; exit 1
fi
echo "vspread demo (pid $demo_pid) at $url, speed ${speed}x: $days simulated days in $seconds s; host: $(nproc) cores, $(node --version)"
VSPREAD_URL="$url" VSPREAD_TOKEN="$(cat "$data/admin.token")" VSPREAD_PID="$demo_pid" \
  VSPREAD_DATA="$data" LONG_SECONDS="$seconds" \
  node --experimental-websocket --no-warnings bench/long_run.mjs
