"""The client of bench/control_under_load.sh: applies and pauses/resumes a
running engine for a while and prints what each cost. Standard library only.

Usage: VSPREAD_URL=... VSPREAD_TOKEN=... python3 control_under_load.py SECONDS EVERY
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

URL = os.environ["VSPREAD_URL"].rstrip("/")
TOKEN = os.environ["VSPREAD_TOKEN"]


def call(method, path, body=None, headers=None):
    """(status, headers, parsed body, seconds)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            status, hdrs = r.status, r.headers
    except urllib.error.HTTPError as e:
        text, status, hdrs = e.read(), e.code, e.headers
    took = time.perf_counter() - started
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text.decode(errors="replace")
    return status, hdrs, parsed, took


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, round((len(s) - 1) * p))]


def summary(name, latencies, failures, working, extra=""):
    ms = [v * 1e3 for v in latencies]
    print(
        f"{name}: {len(ms)} requests, {len(failures)} not 2xx; HTTP median {pct(ms, 0.5):.2f} ms,"
        f" p99 {pct(ms, 0.99):.2f} ms, max {max(ms):.2f} ms; an order was working for"
        f" {working}/{len(ms)}{extra}"
    )
    for f in failures[:5]:
        print("   failure:", f)


# Orders working before the measurement starts. Each apply and each pause
# abandons the decision in flight (a paused engine decides nothing), and a
# chain takes seconds to quote at the gateway's pacing, so with a request
# every few seconds few new entries are decided during the run: the orders
# that walk through it are mostly those placed before, and the exits of
# those that fill.
WARM_ORDERS = 15
# The run is cut into windows of this many seconds; a window counts as
# walking when some order took a limit step in it.
WINDOW_S = 10.0


def main():
    seconds, every = float(sys.argv[1]), float(sys.argv[2])
    # Wait until orders walk, so the measurement is under load.
    deadline = time.time() + 300
    while time.time() < deadline:
        _, _, s, _ = call("GET", "/api/v1/status")
        if s["engine"]["working_orders"] >= WARM_ORDERS:
            break
        time.sleep(0.5)
    print(f"orders working at the start: {s['engine']['working_orders']}")
    apply_lat, apply_fail, apply_int, apply_working = [], [], [], 0
    pause_lat, pause_fail, pause_working = [], [], 0
    value = 1.5
    # The order events of the run, read as they come (between the timed
    # requests), so the applies' own events cannot push them out of sight.
    _, _, recent, _ = call("GET", "/api/v1/events?limit=1")
    last_seq = recent[-1]["seq"] if recent else 0
    order_kinds = {}
    walked_windows = set()
    started = time.time()

    def read_order_events():
        nonlocal last_seq
        while True:
            _, _, page, _ = call("GET", f"/api/v1/events?after={last_seq}&limit=1000")
            for e in page or []:
                last_seq = max(last_seq, e["seq"])
                if e["kind"].startswith("order."):
                    order_kinds[e["kind"]] = order_kinds.get(e["kind"], 0) + 1
                if e["kind"] == "order.walked":
                    walked_windows.add(int((time.time() - started) // WINDOW_S))
            if not page or len(page) < 1000:
                return

    end = started + seconds
    while time.time() < end:
        _, _, status, _ = call("GET", "/api/v1/status")
        working = status["engine"]["working_orders"] > 0
        code, hdrs, config, _ = call("GET", "/api/v1/config")
        value = 1.6 if value == 1.5 else 1.5
        config["exits"]["stop_loss_atr_mult"] = value
        code, _, report, took = call(
            "PUT", "/api/v1/config", config, {"If-Match": hdrs["ETag"]}
        )
        apply_lat.append(took)
        apply_working += working
        if 200 <= code < 300:
            apply_int.append(report["interruption_s"] * 1e3)
        else:
            apply_fail.append((code, report))
        for path in ("/api/v1/control/pause", "/api/v1/control/resume"):
            code, _, body, took = call("POST", path)
            pause_lat.append(took)
            pause_working += working
            if not 200 <= code < 300:
                pause_fail.append((path, code, body))
        read_order_events()
        time.sleep(every)
    read_order_events()
    print(f"over {seconds:.0f} s, one apply and one pause/resume every {every:.0f} s:")
    summary(
        "apply (PUT /config)",
        apply_lat,
        apply_fail,
        apply_working,
        f"; reported interruption median {pct(apply_int, 0.5):.3f} ms, p99 {pct(apply_int, 0.99):.3f} ms,"
        f" max {max(apply_int):.3f} ms",
    )
    summary("pause and resume", pause_lat, pause_fail, pause_working)
    print("order events during the run:", dict(sorted(order_kinds.items())))
    windows = int(seconds // WINDOW_S)
    walking = len([w for w in walked_windows if w < windows])
    print(f"orders walked (a limit step) in {walking} of {windows} {WINDOW_S:.0f}-second windows")


if __name__ == "__main__":
    main()
