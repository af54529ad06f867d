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

python3 -c "import numpy, pandas, pyarrow, scipy" 2>/dev/null || pip install -q numpy pandas pyarrow scipy
cargo build --release -q -p vspread --bin vspread
cargo build --release -q -p vspread-analytics --example gen_chain
target=${CARGO_TARGET_DIR:-target}
chain="$out/chain_${underlyings}.csv"
[ -f "$chain" ] || "$target/release/examples/gen_chain" --underlyings "$underlyings" --out "$chain"
config=bench/scan_bench.toml
rows=$(($(wc -l < "$chain") - 1))

# Median wall time and median CPU time (user + system) in ms of a command
# over $runs runs, after one warm-up run. CPU time is the steadier figure
# on a shared machine; wall time is what a user waits.
median_ms() {
  "$@" > /dev/null 2>&1
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %U %S' -o "$out/time.txt" "$@" > /dev/null 2>&1
    cat "$out/time.txt"
  done | awk '{wall[NR] = $1 * 1000; cpu[NR] = ($2 + $3) * 1000}
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END { printf "%.0f %.0f\n", median(wall, NR), median(cpu, NR) }'
}

"$target/release/vspread" scan --chain "$chain" --config "$config" --format csv > "$out/rust.csv" 2> "$out/rust.err"
python3 bench/scan_numpy.py "$chain" "$config" > "$out/numpy.csv" 2> "$out/numpy.err"
python3 bench/compare_scan_outputs.py "$out/rust.csv" "$out/numpy.csv"

read -r rust rust_cpu < <(median_ms "$target/release/vspread" scan --chain "$chain" --config "$config" --format csv)
read -r numpy numpy_cpu < <(median_ms python3 bench/scan_numpy.py "$chain" "$config")
echo "chain: $rows rows, $underlyings underlyings; $runs runs each, $(nproc) cores"
echo "vspread scan (whole process): median ${rust} ms wall, ${rust_cpu} ms CPU"
echo "numpy/pandas (whole process): median ${numpy} ms wall, ${numpy_cpu} ms CPU"
awk -v r="$rust" -v n="$numpy" -v rc="$rust_cpu" -v nc="$numpy_cpu" \
  'BEGIN { printf "ratio: vspread is %.1fx faster (wall), %.1fx (CPU time)\n", n / r, nc / rc }'
/usr/bin/time -f '%M' -o "$out/time.txt" "$target/release/vspread" scan --chain "$chain" --config "$config" --format csv > /dev/null 2>&1
echo "vspread scan peak memory: $(( $(cat "$out/time.txt") / 1024 )) MB"

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
