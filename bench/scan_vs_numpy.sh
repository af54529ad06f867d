#!/usr/bin/env bash
# Times `vspread scan` against the numpy/pandas implementation of the same
# spec, as whole processes on the same generated million-row chain, checks
# that both give the same ranked list, and prints the medians and the ratio.
#
# usage: bench/scan_vs_numpy.sh [runs=5] [underlyings=500]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
underlyings=${2:-500}
out=bench/out
mkdir -p "$out"

python3 -c "import numpy, pandas" 2>/dev/null || pip install -q numpy pandas
cargo build --release -q -p vspread -p vspread-analytics --example gen_chain
target=${CARGO_TARGET_DIR:-target}
chain="$out/chain_${underlyings}.csv"
[ -f "$chain" ] || "$target/release/examples/gen_chain" --underlyings "$underlyings" --out "$chain"
config=bench/scan_bench.toml
rows=$(($(wc -l < "$chain") - 1))

# Median wall time in ms of a command over $runs runs (after one warm-up).
median_ms() {
  "$@" > /dev/null 2>&1
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N); "$@" > /dev/null 2>&1; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'
}

"$target/release/vspread" scan --chain "$chain" --config "$config" --format csv > "$out/rust.csv" 2> "$out/rust.err"
python3 bench/scan_numpy.py "$chain" "$config" > "$out/numpy.csv" 2> "$out/numpy.err"
python3 bench/compare_scan_outputs.py "$out/rust.csv" "$out/numpy.csv"

rust=$(median_ms "$target/release/vspread" scan --chain "$chain" --config "$config" --format csv)
numpy=$(median_ms python3 bench/scan_numpy.py "$chain" "$config")
echo "chain: $rows rows, $underlyings underlyings; $runs runs each"
echo "vspread scan (whole process): median ${rust} ms"
echo "numpy/pandas (whole process): median ${numpy} ms"
awk -v r="$rust" -v n="$numpy" 'BEGIN { printf "ratio: vspread is %.1fx faster\n", n / r }'

# In-memory scan throughput (after parsing), from --explain, on one core
# (RAYON_NUM_THREADS=1) and on all cores: median over the runs.
inmem() {
  for _ in $(seq "$runs"); do
    RAYON_NUM_THREADS=$1 "$target/release/vspread" scan --chain "$chain" --config "$config" --format csv --explain 2>&1 >/dev/null \
      | sed -n 's/.* \([0-9]*\) evaluated within the width bounds; parsed in \([0-9.]*\) ms, scanned in \([0-9.]*\) ms/\1 \2 \3/p'
  done | sort -k3 -n | awk -v label="$2" '{p[NR]=$1; parse[NR]=$2; s[NR]=$3} END {m=int((NR+1)/2); printf "in-memory scan, %s: median %.1f ms for %d pairs = %.1f million pairs/s; parse %.0f ms\n", label, s[m], p[m], p[m]/s[m]/1000, parse[m]}'
}
inmem 1 "one core"
inmem "$(nproc)" "$(nproc) cores"
