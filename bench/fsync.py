"""The disk's fsync latency, the floor under the journal's synced writes
(an order is on the disk before the broker hears of it, so the decision
latency of `cargo bench -p vspread-engine --bench decision_latency` can be
no lower). Run it beside that benchmark, on the same disk.

    python3 bench/fsync.py [samples] [file]
"""

import os
import statistics
import sys
import time


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    path = sys.argv[2] if len(sys.argv) > 2 else "fsync-probe.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    latencies = []
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            latencies.append((time.perf_counter() - started) * 1e3)
            time.sleep(0.005)
    finally:
        os.close(fd)
        os.unlink(path)
    latencies.sort()
    p99 = latencies[int(0.99 * (n - 1))]
    print(
        f"fsync of a 4 KiB append, {n} samples: median {statistics.median(latencies):.3f} ms, "
        f"p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms"
    )


if __name__ == "__main__":
    main()
