#!/usr/bin/env bash
# The soak (kept out of the pass/fail suite but for its short form, which
# scripts/test-all.sh runs): N randomized fault episodes of `vspread run`
# against `vspread sim`, each with its own seed: gateway faults on a random
# schedule, the engine SIGKILLed 0-3 times at aimed moments and restarted,
# then its journal checked against the simulator's ledger. Prints
#   soak: N episodes, K kills, F faults, D duplicate orders, L lost fills, C cash mismatches
# and, for a failed episode, what failed and how to replay its seed.
#   bash bench/soak.sh 1000 --jobs 16         (release build; see bench/soak.py --help)
#   bash bench/soak.sh --replay SEED          one episode again
#   SOAK_PROFILE=debug bash bench/soak.sh 3   the binary `cargo test` built (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
profile="${SOAK_PROFILE:-release}"
if [ "$profile" = release ]; then
  cargo build --quiet --release -p vspread
  bin="$CARGO_TARGET_DIR/release/vspread"
else
  cargo build --quiet -p vspread
  bin="$CARGO_TARGET_DIR/debug/vspread"
fi
# A copy, so a rebuild while a long soak runs does not change its binary.
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
cp "$bin" "$copy/vspread"
echo "soak: $profile binary, host $(nproc) cores" >&2
python3 bench/soak.py --bin "$copy/vspread" "$@"
