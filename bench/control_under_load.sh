#!/usr/bin/env bash
# Control under load (kept out of the pass/fail suite): a `vspread demo` at
# its default speed, set to churn so entry and exit orders are walking
# nearly all the time, while a client applies a config change every few
# seconds (PUT /api/v1/config with If-Match) and pauses and resumes the
# engine, for BENCH_SECONDS (default 600). Prints, for applies and for
# pause/resume: the count, the answers that were not 2xx (goal 0), the HTTP
# latency median and p99 (goal p99 < 50 ms), the interruption each apply
# reported (goal p99 < 10 ms), how often an order was working when the
# request went out, and in how many ten-second windows an order took a
# limit step.
#   bash bench/control_under_load.sh      (BENCH_SECONDS=600 BENCH_EVERY=3)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
cargo build --quiet --release -p vspread
bin="$CARGO_TARGET_DIR/release/vspread"

data="$(mktemp -d)"
demo_pid=""
cleanup() {
  if [ -n "$demo_pid" ]; then kill -TERM "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

# A demo that churns: loose signals so every symbol qualifies every cycle
# (high base above RSI 50, low base below it: one of the two fires on each
# symbol, never both, since a symbol where both fire is not traded), every
# held spread past exit_dte (an exit decided at once), room for many
# positions, over all 20 of the simulator's underlyings. Orders walk long:
# a step every ten simulated minutes (10 s at 60x) for up to 50 steps, up
# to a fifth of the way to the natural, in a market that fills slowly (the
# simulator's resting-fill rate at the mid a thousandth of its default),
# so the orders placed before the measurement (it waits for 15) walk
# through most of it, and their fills bring exits. Ten real minutes are ten
# market hours at 60x, longer than a session: the simulated market trades
# around the clock and the trading schedule is off (exits wait for the
# next regular session, as they do in production).
"$bin" config init --config "$data/config.toml" >/dev/null
for kv in \
  'trading.scan_interval_s=60' 'storage.data_dir="."' \
  'trading.universe=["SPY","QQQ","IWM","DIA","GLD","TLT","XLF","AAPL","MSFT","NVDA","AMZN","TSLA","META","GOOGL","AMD","JPM","XOM","BAC","KO","INTC"]' \
  'trading.max_positions=100' 'trading.max_positions_per_underlying=50' \
  'trading_schedule.enabled=false' \
  'risk.max_daily_loss=1000000' 'exits.exit_dte=365' \
  'strategies.high_base.min_rsi=50' 'strategies.high_base.max_atr_ratio=5' \
  'strategies.high_base.max_base_depth_pct=50' 'strategies.high_base.near_high_pct=20' \
  'strategies.low_base.max_rsi=49.99' 'strategies.low_base.max_atr_ratio=5' \
  'strategies.low_base.max_base_height_pct=50' 'strategies.low_base.near_low_pct=20' \
  'execution.order_timeout_s=86400' 'execution.walk_interval_s=600' \
  'execution.max_walk_steps=50' 'execution.max_slippage_pct=20'; do
  "$bin" config set "${kv%%=*}" "${kv#*=}" --config "$data/config.toml" >/dev/null
done
VSPREAD_LOG=info "$bin" demo --data-dir "$data" --listen 127.0.0.1:0 \
  --always-open --fill-rate-far 0.0001 --fill-rate-mid 0.0005 2>"$data/log" >"$data/out" &
demo_pid=$!
for _ in $(seq 1 600); do
  grep -q "admin server ready" "$data/log" 2>/dev/null && break
  sleep 0.1
done
url="$(grep -o 'admin server ready.*' "$data/log" | grep -o 'http://[0-9.:]*' | head -1)"
[ -n "$url" ] || { echo "no admin server"; cat "$data/log"; exit 1; }
echo "vspread demo (pid $demo_pid) at $url; host: $(nproc) cores"
VSPREAD_URL="$url" VSPREAD_TOKEN="$(cat "$data/admin.token")" \
  python3 bench/control_under_load.py "${BENCH_SECONDS:-600}" "${BENCH_EVERY:-3}"
