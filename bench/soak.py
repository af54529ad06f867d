#!/usr/bin/env python3
"""The soak: randomized fault episodes against `vspread sim` + `vspread run`.

Each episode has its own seed, from which everything random in it is drawn:
the simulator's market and start time, the engine's config, a schedule of
gateway faults (connection drops, restart windows, rejected orders, forced
partial fills, delayed responses, the engine stopped so it stops reading),
and 0-3 SIGKILLs of the engine, each aimed at a moment (an order being
placed, a walk step, a partial fill, an exit, a config apply, recovery
itself), each followed by a restart. Then the engine is stopped, started
once more with the kill switch on to recover and settle, stopped, and its
journal is checked against the simulator's own ledger:

- every orderRef at the gateway was sent once, and journaled;
- every execution at the gateway is journaled exactly once, with its price,
  quantity and commission; the journal has no execution the gateway lacks;
- no order works at the gateway that the journal does not hold open;
- the journal's cash (every leg fill less every commission) is the
  simulator account's, to the cent;
- the journal's open spreads hold exactly the gateway's positions;
- config.toml validates and holds one of the values applied;
- no log has a panic.

Prints one line, `soak: N episodes, K kills, F faults, D duplicate orders,
L lost fills, C cash mismatches`, and for each failed episode what failed
and the command that replays its seed. Standard library only.

    python3 bench/soak.py --bin target/release/vspread 10
    python3 bench/soak.py --bin target/release/vspread --replay 1234
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import decimal
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

SPEED = 60
STARTING_CASH = 100_000
TOKEN = "soak-admin-token-0123456789abcdef"
WORKING = {"PendingSubmit", "PreSubmitted", "Submitted", "ApiPending"}
# Trading days; an episode starts between 09:35 and 13:30 New York time, so
# it never runs past the engine's default trading window (to 20:00 UTC).
START_DAYS = ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-30", "2026-12-01",
              "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07", "2026-12-08"]
KILL_MOMENTS = ["placement", "walking", "partial", "exit", "apply", "recovery"]
FAULTS = ["disconnect", "restart", "reject", "partial", "delay", "stall"]


def logged_address(log: Path, marker: str, key: str) -> str | None:
    """The `key=host:port` a process logged on its line with `marker`, once it has.

    The simulator and the engine listen on port 0 and log what they got: a
    port picked here and handed over could be taken by any connection made
    in between (two episodes run at once).
    """
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if marker in line:
            for field in line.split():
                if field.startswith(key + "="):
                    return field.split("=", 1)[1].rsplit("/", 1)[-1]
    return None


def log_tail(log: Path, lines: int = 5) -> str:
    try:
        tail = log.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return "(no log)"
    return " | ".join(tail) or "(empty log)"


def cents(x) -> decimal.Decimal:
    return decimal.Decimal(str(x)).quantize(decimal.Decimal("0.01"))


class EpisodeError(Exception):
    """The episode could not be run to its checks (not a finding)."""


@dataclasses.dataclass
class Result:
    seed: int
    kills: int = 0
    kill_moments: list = dataclasses.field(default_factory=list)
    faults: int = 0
    fault_kinds: list = dataclasses.field(default_factory=list)
    duplicates: int = 0
    lost_fills: int = 0
    cash_mismatch: int = 0
    failures: list = dataclasses.field(default_factory=list)
    orders: int = 0
    executions: int = 0
    cut_off: int = 0
    seconds: float = 0.0
    dir: str = ""

    @property
    def ok(self) -> bool:
        return not self.failures


class Sim:
    """A `vspread sim` process and its control port."""

    def __init__(self, bin_: str, work: Path, rng: random.Random):
        day = rng.choice(START_DAYS)
        # Drawn as the first soaks drew it (so their seeds replay the same
        # episodes), then a start after 13:30 New York is moved an hour back.
        minute = rng.randrange(14 * 60 + 35, 19 * 60 + 30)  # UTC, EST: 09:35-14:30 NY
        if minute >= 18 * 60 + 30:
            minute -= 60
        self.start = f"{day}T{minute // 60:02}:{minute % 60:02}:00Z"
        self.seed = rng.randrange(1, 10_000)
        # Above the largest burst of replies the engine asks for (a chain's
        # contract details), so only a client that stopped reading fills it
        # (at this engine's traffic, after about a minute).
        self.outbox = 1_000
        self.log = work / "sim.log"
        self.proc = subprocess.Popen(
            [bin_, "sim", "--seed", str(self.seed), "--speed", str(SPEED), "--start", self.start,
             "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0",
             "--cash", str(STARTING_CASH), "--outbox-frames", str(self.outbox)],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),
            env={**os.environ, "VSPREAD_LOG": "info"})
        deadline = time.monotonic() + 30
        while True:
            listen = logged_address(self.log, "simulated gateway ready", "listen")
            control = logged_address(self.log, "fault control port ready", "control")
            if listen and control:
                self.port = int(listen.rsplit(":", 1)[1])
                self.control = int(control.rsplit(":", 1)[1])
                self.ask("status")
                return
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise EpisodeError(f"the simulator did not start (exit {self.proc.poll()}): "
                                   f"{log_tail(self.log)}")
            time.sleep(0.02)

    def ask(self, line: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control), timeout=10) as s:
            s.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        answer = data.decode().strip()
        if not answer.startswith("ok"):
            raise EpisodeError(f"sim control {line!r}: {answer}")
        return answer

    def ledger(self) -> dict:
        return json.loads(self.ask("ledger")[3:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Journal:
    """Read-only looks at the engine's journal while it runs."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if not self.path.exists():
                return None
            try:
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
            except sqlite3.Error:
                return None
        return self.conn

    def query(self, sql: str, args=()) -> list:
        conn = self._conn()
        if conn is None:
            return []
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error:
            # Not created yet, or a write in the way: look again later.
            self.close()
            return []

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def max_seq(self, table: str, where: str = "1") -> int:
        rows = self.query(f"SELECT coalesce(max(seq), 0) FROM {table} WHERE {where}")
        return rows[0][0] if rows else 0

    def recoveries(self) -> int:
        rows = self.query("SELECT count(*) FROM events WHERE kind = 'recovery.completed'")
        return rows[0][0] if rows else 0


class Episode:
    def __init__(self, bin_: str, seed: int, budget: float, work: Path):
        self.bin = bin_
        self.seed = seed
        self.rng = random.Random(seed)
        self.budget = budget
        self.work = work
        self.result = Result(seed=seed, dir=str(work))
        self.engine = None
        # The running engine's log, and its admin address once it logged it.
        self.engine_log = work / "engine-0.log"
        self.admin = None
        self.runs = 0
        self.applied_values = {"execution.walk_interval_s": set()}
        self.stalled_until = None

    # ------------------------------------------------------------ engine

    def config(self, key: str, value: str):
        out = subprocess.run([self.bin, "config", "set", key, value, "--config",
                              str(self.work / "config.toml")], capture_output=True, text=True)
        if out.returncode != 0:
            raise EpisodeError(f"config set {key}: {out.stderr.strip()}")

    def write_config(self):
        rng = self.rng
        path = self.work / "config.toml"
        out = subprocess.run([self.bin, "config", "init", "--config", str(path)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise EpisodeError(f"config init: {out.stderr.strip()}")
        (self.work / "admin.token").write_text(TOKEN + "\n")
        os.chmod(self.work / "admin.token", 0o600)
        universe = rng.sample(["QQQ", "IWM", "SPY"], rng.randint(1, 2))
        walk = rng.choice([5, 10, 20])
        bullish = rng.random() < 0.5
        self.applied_values["execution.walk_interval_s"].add(float(walk))
        settings = {
            "ibkr.port": str(self.sim.port),
            "storage.data_dir": '"."',
            "server.token_file": '"admin.token"',
            "trading.universe": json.dumps(universe),
            "trading.scan_interval_s": "60",
            "trading.max_positions": "20",
            "trading.max_positions_per_underlying": "10",
            "risk.max_daily_loss": "100000",
            "exits.exit_dte": "365",
            # One strategy, loose, so every symbol fires every cycle (both
            # firing would be a conflict, which is not traded).
            f"strategies.{'low_base' if bullish else 'high_base'}.enabled": "false",
            "strategies.high_base.min_rsi": "0",
            "strategies.high_base.max_atr_ratio": "5",
            "strategies.high_base.max_base_depth_pct": "50",
            "strategies.high_base.near_high_pct": "20",
            "strategies.low_base.max_rsi": "100",
            "strategies.low_base.max_atr_ratio": "5",
            "strategies.low_base.max_base_height_pct": "50",
            "strategies.low_base.near_low_pct": "20",
            # A narrow chain, so a decision needs few quote lines (IB's
            # message rate, not the simulator, sets how fast they come).
            "scanner.dte_min": "28",
            "scanner.dte_max": "40",
            "scanner.width_max": "2",
            "scanner.short_delta_min": "0.28",
            "scanner.short_delta_max": "0.38",
            "execution.walk_interval_s": str(walk),
            "execution.max_walk_steps": str(rng.choice([3, 5, 10])),
            "execution.max_slippage_pct": str(rng.choice([40, 70, 100])),
            "execution.order_timeout_s": str(rng.choice([60, 120, 300])),
        }
        for key, value in settings.items():
            self.config(key, value)
        self.config_text = path.read_text()

    def start_engine(self):
        self.runs += 1
        self.admin = None
        log = self.engine_log = self.work / f"engine-{self.runs}.log"
        self.engine = subprocess.Popen(
            [self.bin, "run", "--clock-from-gateway", str(SPEED), "--listen",
             "127.0.0.1:0", "--config", str(self.work / "config.toml")],
            stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
            env={**os.environ, "VSPREAD_LOG": os.environ.get("SOAK_ENGINE_LOG", "info")})
        self.engine_started = time.monotonic()

    def kill_engine(self, moment: str):
        self.resume_if_stalled()
        self.engine.kill()
        self.engine.wait()
        self.result.kills += 1
        self.result.kill_moments.append(moment)
        # Restarted after a pause of its own: at once, or after the
        # simulator moved on (orders filling or ending while it is away).
        time.sleep(self.rng.choice([0, 0, 0.2, 1.0]))
        self.start_engine()

    def stop_engine(self, why: str):
        self.resume_if_stalled()
        self.engine.send_signal(signal.SIGTERM)
        try:
            self.engine.wait(40)
        except subprocess.TimeoutExpired:
            self.engine.kill()
            self.engine.wait()
            self.result.failures.append(f"the engine did not stop on SIGTERM within 40 s ({why})")

    def resume_if_stalled(self):
        if self.stalled_until is not None:
            try:
                os.kill(self.engine.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.stalled_until = None

    def api(self, method: str, path: str, body=None, etag=None, timeout=10.0):
        if self.admin is None:
            self.admin = logged_address(self.engine_log, "admin server ready", "admin")
            if self.admin is None:
                raise OSError("the admin server is not listening yet")
        req = urllib.request.Request(f"http://{self.admin}/api/v1{path}", method=method)
        req.add_header("Authorization", f"Bearer {TOKEN}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            req.add_header("Content-Type", "application/json")
        if etag is not None:
            req.add_header("If-Match", etag)
        with urllib.request.urlopen(req, data=data, timeout=timeout) as r:
            return r.headers.get("ETag"), json.loads(r.read() or b"null")

    # ------------------------------------------------------------ faults

    def schedule_faults(self):
        rng = self.rng
        count = rng.randint(1, max(1, int(self.budget / 10)))
        self.faults = sorted((rng.uniform(0, self.budget), rng.choice(FAULTS)) for _ in range(count))
        self.undo = []  # (at, action)

    def inject(self, kind: str, now: float):
        rng = self.rng
        if kind == "disconnect":
            self.sim.ask("disconnect")
        elif kind == "restart":
            self.sim.ask(f"restart {rng.randint(1, 4)}")
        elif kind == "reject":
            self.sim.ask(f"reject {rng.randint(1, 3)}")
        elif kind == "partial":
            self.sim.ask("partial 1")
            self.undo.append((now + rng.uniform(2, 10), lambda: self.sim.ask("partial off")))
        elif kind == "delay":
            self.sim.ask(f"delay {rng.choice([50, 200, 800])}")
            self.undo.append((now + rng.uniform(1, 6), lambda: self.sim.ask("delay 0")))
        elif kind == "stall":
            # The engine stops reading (SIGSTOP): the simulator's outbox for
            # it fills and it is cut off, or it resumes first.
            if self.stalled_until is None and self.engine.poll() is None:
                os.kill(self.engine.pid, signal.SIGSTOP)
                # Mostly a few seconds (the gateway queues for it); one in
                # ten long enough for the gateway to cut it off.
                long = rng.random() < 0.1
                self.stalled_until = now + (rng.uniform(75, 90) if long else rng.uniform(2, 12))
        self.result.faults += 1
        self.result.fault_kinds.append(kind)

    def tick_faults(self, now: float):
        while self.faults and self.faults[0][0] <= now:
            _, kind = self.faults.pop(0)
            self.inject(kind, now)
        for item in [u for u in self.undo if u[0] <= now]:
            self.undo.remove(item)
            item[1]()
        if self.stalled_until is not None and now >= self.stalled_until:
            self.resume_if_stalled()

    # ------------------------------------------------------------- kills

    def moment_seen(self, moment: str, j: Journal, marks: dict) -> bool:
        """Whether `moment` has happened since `marks` was taken."""
        if moment in ("placement", "exit"):
            purpose = "" if moment == "placement" else " AND purpose = 'exit'"
            return j.max_seq("orders", "1" + purpose) > marks["orders" + moment]
        if moment == "walking":
            return j.max_seq("events", "kind = 'order.walked'") > marks["walked"]
        if moment == "partial":
            rows = j.query(
                "SELECT count(*) FROM fills f JOIN orders o ON o.order_ref = f.order_ref "
                "WHERE f.seq > ? AND f.combo = 0 AND o.end_outcome IS NULL", (marks["fills"],))
            return bool(rows and rows[0][0])
        return False

    def marks(self, j: Journal) -> dict:
        return {
            "ordersplacement": j.max_seq("orders"),
            "ordersexit": j.max_seq("orders", "purpose = 'exit'"),
            "walked": j.max_seq("events", "kind = 'order.walked'"),
            "fills": j.max_seq("fills"),
        }

    def apply_then_kill(self):
        """A config apply through the admin API, killed at a random moment of it."""
        try:
            etag, config = self.api("GET", "/config")
        except (OSError, urllib.error.URLError):
            time.sleep(0.05)  # not serving yet
            return False
        walk = self.rng.choice([v for v in (5, 10, 20, 30) if v != config["execution"]["walk_interval_s"]])
        config["execution"]["walk_interval_s"] = walk
        self.applied_values["execution.walk_interval_s"].add(float(walk))

        def put():
            try:
                self.api("PUT", "/config", config, etag)
            except (OSError, urllib.error.URLError, ValueError):
                pass  # killed under it: that is the point

        threading.Thread(target=put, daemon=True).start()
        time.sleep(self.rng.uniform(0, 0.03))
        return True

    # --------------------------------------------------------------- run

    def run(self) -> Result:
        started = time.monotonic()
        try:
            self.sim = Sim(self.bin, self.work, self.rng)
            try:
                self.write_config()
                self.trade()
                self.settle()
                self.check()
            finally:
                if self.engine is not None and self.engine.poll() is None:
                    self.resume_if_stalled()
                    self.engine.kill()
                    self.engine.wait()
                self.sim.stop()
        except EpisodeError as e:
            self.result.failures.append(f"episode could not run: {e}")
        self.result.seconds = time.monotonic() - started
        return self.result

    def trade(self):
        rng = self.rng
        j = self.j = Journal(self.work / "journal.sqlite3")
        self.moments = [rng.choice(KILL_MOMENTS) for _ in range(rng.randint(0, 3))]
        self.schedule_faults()
        self.start_engine()
        self.recovery_kills()
        # Trading starts once the first recovery is done.
        deadline = time.monotonic() + 60
        while j.recoveries() < 1:
            if self.engine.poll() is not None:
                raise EpisodeError(f"the engine exited with {self.engine.returncode} before recovering: "
                                   f"{log_tail(self.engine_log)}")
            if time.monotonic() > deadline:
                raise EpisodeError("no recovery within 60 s")
            time.sleep(0.01)
        t0 = time.monotonic()
        # Each kill is aimed at its moment within a share of the budget; a
        # moment that does not come is killed at a random time instead.
        # (After a restart the engine cannot ask for the same daily bars
        # within 15 s, IB's pacing: the next order takes a while.)
        per_kill = max(25.0, self.budget / max(1, len(self.moments)))
        goal_started = t0
        marks = self.marks(j)
        while True:
            now = time.monotonic() - t0
            self.tick_faults(now)
            if self.moments and self.stalled_until is None:
                moment = self.moments[0]
                killed = False
                if moment == "apply":
                    if self.apply_then_kill():
                        self.kill_engine("apply")
                        killed = True
                elif self.moment_seen(moment, j, marks):
                    time.sleep(rng.uniform(0, 0.03))
                    self.kill_engine(moment)
                    killed = True
                if not killed and time.monotonic() - goal_started > per_kill:
                    self.kill_engine(f"{moment} (not seen; at random)")
                    killed = True
                if killed:
                    self.moments.pop(0)
                    self.recovery_kills()
                    goal_started = time.monotonic()
                    marks = self.marks(j)
            if now >= self.budget and not self.moments:
                break
            if self.engine.poll() is not None:
                raise EpisodeError(f"the engine exited by itself with {self.engine.returncode}: "
                                   f"{log_tail(self.engine_log)}")
            time.sleep(0.005)
        j.close()

    def recovery_kills(self):
        """Kills aimed at recovery: the run just started is killed a random
        moment into its start, before its recovery has completed if the
        moment falls there."""
        while self.moments and self.moments[0] == "recovery":
            self.moments.pop(0)
            before = self.j.recoveries()
            time.sleep(self.rng.uniform(0.05, 1.5))
            self.kill_engine("recovery" if self.j.recoveries() == before else "just after recovery")

    def settle(self):
        """Stop faults and trading; recover once more; stop."""
        self.resume_if_stalled()
        self.undo.clear()
        self.sim.ask("clear")
        self.stop_engine("after trading")
        self.config("risk.kill_switch", "true")
        j = Journal(self.work / "journal.sqlite3")
        before = j.recoveries()
        j.close()
        self.start_engine()
        deadline = time.monotonic() + 90
        while True:
            j = Journal(self.work / "journal.sqlite3")
            done = j.recoveries() > before
            j.close()
            if done:
                break
            if time.monotonic() > deadline:
                raise EpisodeError("the final recovery did not complete within 90 s")
            if self.engine.poll() is not None:
                raise EpisodeError(f"the final engine exited with {self.engine.returncode}: "
                                   f"{log_tail(self.engine_log)}")
            time.sleep(0.05)
        try:
            self.api("POST", "/control/pause")
        except (OSError, urllib.error.URLError) as e:
            raise EpisodeError(f"pause: {e}")
        # Quiet: nothing open in the journal, nothing working at the gateway.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            j = Journal(self.work / "journal.sqlite3")
            open_orders = j.query("SELECT count(*) FROM orders WHERE end_outcome IS NULL")
            j.close()
            working = [o for o in self.sim.ledger()["orders"] if o["status"] in WORKING]
            if open_orders and open_orders[0][0] == 0 and not working:
                break
            time.sleep(0.1)
        self.stop_engine("after settling")

    # ------------------------------------------------------------- check

    def journal_json(self, record: str) -> list:
        out = subprocess.run([self.bin, "journal", record, "--data-dir", str(self.work),
                              "--format", "json", "--limit", "0"], capture_output=True, text=True)
        if out.returncode != 0:
            self.result.failures.append(f"vspread journal {record}: {out.stderr.strip()}")
            return []
        return json.loads(out.stdout)

    def check(self):
        r = self.result
        status = self.sim.ask("status")
        r.cut_off = int(status.split("cut_off=")[1].split()[0]) if "cut_off=" in status else 0
        ledger = self.sim.ledger()
        orders = self.journal_json("orders")
        fills = self.journal_json("fills")
        spreads = self.journal_json("positions")
        journaled = {o["order_ref"]: o for o in orders}
        r.orders = len(ledger["orders"])
        r.executions = len(ledger["executions"])

        refs = Counter(o["order_ref"] for o in ledger["orders"])
        for ref, n in refs.items():
            if n > 1:
                r.duplicates += n - 1
                r.failures.append(f"{ref} sent {n} times")
            if ref not in journaled:
                r.failures.append(f"{ref} at the gateway was never journaled")
        for o in ledger["orders"]:
            if o["status"] in WORKING:
                mine = journaled.get(o["order_ref"])
                if mine is None or mine["outcome"] is not None:
                    r.failures.append(f"{o['order_ref']} works at the gateway ({o['status']}) "
                                      f"but the journal {'ended it' if mine else 'lacks it'}")

        by_exec = {}
        for f in fills:
            if f["exec_id"] in by_exec:
                r.failures.append(f"execution {f['exec_id']} journaled twice")
            by_exec[f["exec_id"]] = f
        gateway_execs = set()
        for x in ledger["executions"]:
            gateway_execs.add(x["exec_id"])
            f = by_exec.get(x["exec_id"])
            problem = None
            if f is None:
                problem = "not journaled"
            elif f["order_ref"] != x["order_ref"]:
                problem = f"journaled under {f['order_ref']}"
            elif cents(f["price"]) != cents(x["price"]) or decimal.Decimal(str(f["quantity"])) != decimal.Decimal(str(x["shares"])):
                problem = f"journaled as {f['quantity']} at {f['price']}"
            elif f["commission"] is None or decimal.Decimal(str(f["commission"])) != decimal.Decimal(str(x["commission"])):
                problem = f"commission {f['commission']} journaled, {x['commission']} charged"
            if problem:
                r.lost_fills += 1
                r.failures.append(f"fill {x['exec_id']} of {x['order_ref']} ({x['shares']} at {x['price']}): {problem}")
        for exec_id in set(by_exec) - gateway_execs:
            r.failures.append(f"journaled execution {exec_id} the gateway never made")

        journal_cash = sum((decimal.Decimal(str(s["cash"])) for s in spreads), decimal.Decimal(0))
        sim_cash = decimal.Decimal(str(ledger["cash"])) - STARTING_CASH
        if cents(journal_cash) != cents(sim_cash):
            r.cash_mismatch = 1
            r.failures.append(f"cash: journal {cents(journal_cash)}, simulator {cents(sim_cash)}")

        held = Counter()
        for s in spreads:
            q = decimal.Decimal(str(s["open"]))
            if q:
                held[int(s["long_con_id"])] += q
                held[int(s["short_con_id"])] -= q
        gateway = Counter({int(p["con_id"]): decimal.Decimal(str(p["quantity"]))
                           for p in ledger["positions"] if decimal.Decimal(str(p["quantity"]))})
        held = Counter({k: v for k, v in held.items() if v})
        if held != gateway:
            r.failures.append(f"positions: journal {dict(held)}, gateway {dict(gateway)}")

        config = self.work / "config.toml"
        out = subprocess.run([self.bin, "config", "validate", "--config", str(config)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            r.failures.append(f"config.toml invalid: {(out.stdout + out.stderr).strip()[:400]}")
        else:
            text = config.read_text()
            walk = next((line for line in text.splitlines() if line.startswith("walk_interval_s")), "")
            value = float(walk.split("=")[1].split("#")[0]) if "=" in walk else None
            if value not in self.applied_values["execution.walk_interval_s"]:
                r.failures.append(f"config.toml holds walk_interval_s {value}, never applied")

        for log in sorted(self.work.glob("*.log")):
            text = log.read_text(errors="replace")
            if "panicked" in text:
                line = next(l for l in text.splitlines() if "panicked" in l)
                r.failures.append(f"panic in {log.name}: {line.strip()[:300]}")


def run_episode(bin_: str, seed: int, budget: float, root: Path, keep: bool) -> Result:
    work = Path(tempfile.mkdtemp(prefix=f"soak-{seed}-", dir=root))
    result = Episode(bin_, seed, budget, work).run()
    if result.ok and not keep:
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("episodes", type=int, nargs="?", default=10)
    p.add_argument("--bin", required=True, help="the vspread binary")
    p.add_argument("--seed", type=int, default=None, help="first episode's seed (default: from the clock)")
    p.add_argument("--replay", type=int, default=None, help="run the one episode of this seed")
    p.add_argument("--budget", type=float, default=30.0, help="real seconds of trading per episode")
    p.add_argument("--jobs", type=int, default=1, help="episodes run at once")
    p.add_argument("--work", default=None, help="where episodes keep their files (failed ones stay)")
    p.add_argument("--keep", action="store_true", help="keep every episode's files")
    p.add_argument("--progress", action="store_true", help="a line per episode on stderr")
    p.add_argument("--stop-after", type=float, default=None,
                   help="wall seconds after which no new episode starts (those running finish; "
                        "the summary counts the episodes run)")
    a = p.parse_args()
    bin_ = str(Path(a.bin).resolve())
    root = Path(a.work or tempfile.mkdtemp(prefix="vspread-soak-"))
    root.mkdir(parents=True, exist_ok=True)
    if a.replay is not None:
        seeds = [a.replay]
    else:
        base = a.seed if a.seed is not None else int(time.time()) % 1_000_000 * 1000
        seeds = [base + i for i in range(a.episodes)]
    started = time.monotonic()
    results = []
    stop_at = None if a.stop_after is None else started + a.stop_after

    def episode(seed: int):
        if stop_at is not None and time.monotonic() > stop_at:
            return None
        return run_episode(bin_, seed, a.budget, root, a.keep)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        futures = [pool.submit(episode, s) for s in seeds]
        for f in concurrent.futures.as_completed(futures):
            r = f.result()
            if r is None:
                continue
            results.append(r)
            if a.progress:
                print(f"episode seed {r.seed}: {'ok' if r.ok else 'FAILED'} in {r.seconds:.1f} s; "
                      f"kills {r.kill_moments}; faults {r.fault_kinds}; {r.orders} orders, "
                      f"{r.executions} executions ({len(results)}/{len(seeds)})", file=sys.stderr, flush=True)
    results.sort(key=lambda r: r.seed)
    wall = time.monotonic() - started
    if len(results) < len(seeds):
        print(f"stopped after {a.stop_after:g} s: {len(results)} of {len(seeds)} episodes run")
    failed = [r for r in results if not r.ok]
    for r in failed:
        print(f"episode seed {r.seed} FAILED (files in {r.dir}; replay: bash bench/soak.sh --replay {r.seed} --budget {a.budget:g}):")
        for f in r.failures[:20]:
            print(f"  - {f}")
        if len(r.failures) > 20:
            print(f"  - ... and {len(r.failures) - 20} more")
    moments = Counter(m for r in results for m in r.kill_moments)
    faults = Counter(k for r in results for k in r.fault_kinds)
    print(f"detail: {wall:.0f} s wall, {wall / max(1, len(results)):.1f} s per episode "
          f"({a.jobs} at once); {sum(r.orders for r in results)} orders and "
          f"{sum(r.executions for r in results)} executions at the gateway; "
          f"{sum(r.cut_off for r in results)} times the gateway cut the stopped engine off; "
          f"kills by moment {dict(sorted(moments.items()))}; faults {dict(sorted(faults.items()))}; "
          f"{len(failed)} episodes failed")
    print(f"soak: {len(results)} episodes, {sum(r.kills for r in results)} kills, "
          f"{sum(r.faults for r in results)} faults, {sum(r.duplicates for r in results)} duplicate orders, "
          f"{sum(r.lost_fills for r in results)} lost fills, {sum(r.cash_mismatch for r in results)} cash mismatches")
    if not failed and not a.keep and a.work is None:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
