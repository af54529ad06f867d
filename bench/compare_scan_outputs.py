#!/usr/bin/env python3
"""Compares two scan CSV outputs: the same rows in the same order (identity
columns exactly), floats within a relative tolerance. Prints a summary and
exits 1 on any difference beyond the tolerance.

usage: compare_scan_outputs.py A.csv B.csv [rel_tol=1e-9]

The default tolerance is the issue's (floats within 1e-9 relative); the
summary prints how many rows are bit-identical and the largest difference.
"""
import sys

a, b = open(sys.argv[1]).read().splitlines(), open(sys.argv[2]).read().splitlines()
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-9
if a[0] != b[0] or len(a) != len(b):
    sys.exit(f"different shape: {len(a) - 1} vs {len(b) - 1} rows")
bit_identical = worst = 0
for n, (x, y) in enumerate(zip(a[1:], b[1:]), start=1):
    fx, fy = x.split(","), y.split(",")
    if fx[:6] != fy[:6]:
        sys.exit(f"row {n} differs: {x} | {y}")
    bit_identical += x == y
    for u, v in zip(fx[6:], fy[6:]):
        u, v = float(u), float(v)
        rel = abs(u - v) / max(abs(u), abs(v), 1e-300)
        worst = max(worst, rel)
        if rel > tol:
            sys.exit(f"row {n}: {u} vs {v} (relative {rel:.2e})")
print(f"same {len(a) - 1} rows in the same order; {bit_identical} bit-identical; "
      f"largest float difference {worst:.1e} relative (tolerance {tol:g})")
