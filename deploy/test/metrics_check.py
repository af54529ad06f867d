#!/usr/bin/env python3
"""No dangling queries: the metric names vspread's dashboards and alert rules
use, checked offline against deploy/metrics.yaml and live against a /metrics.

  metrics_check.py offline [--dashboards DIR] [--rules FILE ...] [--contract FILE]
      every Prometheus expression of every dashboard panel and template
      parses (promtool check rules, on a temporary rule file of them), every
      rule file passes promtool, every metric name used is in the contract,
      and every contract entry is used; prints which names each file uses
  metrics_check.py live --metrics FILE|URL [--contract FILE] [--require-planned]
      every name the contract marks `exported` is in the exposition (a
      labelled family that has not seen its first label set yet is reported
      by name), and every family the exposition declares is in the contract
      (a metric the code exports but nobody listed fails, by name); names
      marked `planned` are listed as missing, and fail the check with
      --require-planned
  metrics_check.py names EXPR
      the metric names one expression uses

Exit status: 0 passed, 1 a check failed (each failure names the file, the
panel or rule, and the metric), 2 bad usage or unreadable input.
"""

import argparse
import json
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DASHBOARDS = ROOT / "deploy/grafana/dashboards"
DEFAULT_RULES = [ROOT / "deploy/prometheus/rules/vspread.rules.yml"]
DEFAULT_CONTRACT = ROOT / "deploy/metrics.yaml"

# Grafana's variables, replaced by values PromQL accepts.
GRAFANA_VARS = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$instance": ".*",
    "$level": ".*",
}

KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right",
    "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def fail_usage(message):
    print(f"metrics_check: {message}", file=sys.stderr)
    sys.exit(2)


def grafana_to_promql(expr):
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    return expr


def metric_names(expr):
    """The metric names an expression selects (a lexical reading of PromQL:
    strings, label matchers, grouping lists and ranges are removed, then
    every identifier that is not a function call or a keyword is a name)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    text = re.sub(r"\{[^{}]*\}", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        rest = text[m.end():].lstrip()
        before = text[:m.start()]
        if rest.startswith("("):
            continue  # a function
        if word.lower() in KEYWORDS:
            continue
        if re.search(r"[0-9.]$", before):
            continue  # the unit of a number, such as 5m or 1e3
        names.add(word)
    return names


def family(name, contract):
    """A histogram's _bucket/_sum/_count series stand for the histogram."""
    if name in contract:
        return name
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if contract.get(base, {}).get("type") == "histogram":
                return base
    return name


def load_contract(path):
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as e:
        fail_usage(f"cannot read the contract {path}: {e}")
    contract = {}
    for i, m in enumerate(doc.get("metrics") or []):
        missing = [k for k in ("name", "type", "status", "help") if k not in m]
        if missing:
            fail_usage(f"{path}: entry {i} lacks {', '.join(missing)}")
        if m["status"] not in ("exported", "planned", "prometheus"):
            fail_usage(f"{path}: {m['name']}: unknown status {m['status']!r}")
        if m["type"] not in ("counter", "gauge", "histogram", "summary"):
            fail_usage(f"{path}: {m['name']}: unknown type {m['type']!r}")
        if m["type"] == "counter" and not m["name"].endswith("_total"):
            fail_usage(f"{path}: {m['name']}: a counter's name ends with _total")
        if m["name"] in contract:
            fail_usage(f"{path}: {m['name']} is listed twice")
        contract[m["name"]] = m
    return contract


def dashboard_queries(directory):
    """(where, expr) for every Prometheus query of every dashboard."""
    queries = []
    files = sorted(Path(directory).glob("*.json"))
    if not files:
        fail_usage(f"no dashboards in {directory}")
    for path in files:
        try:
            d = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            fail_usage(f"cannot read {path}: {e}")

        def walk(panels):
            for p in panels:
                yield p
                yield from walk(p.get("panels", []))

        for p in walk(d.get("panels", [])):
            for t in p.get("targets", []):
                ds = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                if ds == "prometheus" and t.get("expr"):
                    queries.append((f"{path.name}: panel {p.get('title')!r} {t.get('refId')}", t["expr"]))
        for v in d.get("templating", {}).get("list", []):
            if (v.get("datasource") or {}).get("uid") == "prometheus":
                q = v["query"]["query"] if isinstance(v.get("query"), dict) else v.get("query", "")
                m = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", q.strip())
                if not m:
                    fail_usage(f"{path.name}: variable {v.get('name')}: cannot read query {q!r}")
                if m.group(1):
                    queries.append((f"{path.name}: variable {v.get('name')!r}", m.group(1)))
    return queries


def rule_queries(files):
    queries = []
    for path in files:
        try:
            doc = yaml.safe_load(Path(path).read_text())
        except (OSError, yaml.YAMLError) as e:
            fail_usage(f"cannot read {path}: {e}")
        for g in doc.get("groups", []):
            for r in g.get("rules", []):
                name = r.get("alert") or r.get("record")
                queries.append((f"{Path(path).name}: {name}", r["expr"]))
    return queries


def promtool_check(rule_file):
    out = subprocess.run(["promtool", "check", "rules", str(rule_file)], capture_output=True, text=True)
    return out.returncode == 0, (out.stdout + out.stderr).strip()


def check_parse(queries, rule_files):
    """Every rule file passes promtool; every dashboard query parses."""
    failures = []
    for f in rule_files:
        ok, text = promtool_check(f)
        if not ok:
            failures.append(f"{f}: promtool check rules failed:\n{text}")
    with tempfile.TemporaryDirectory() as tmp:
        def file_of(items):
            path = Path(tmp) / "dashboards.rules.yml"
            rules = [{"record": f"dashboard_query_{i}", "expr": grafana_to_promql(e)} for i, (_, e) in enumerate(items)]
            path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
            return path

        ok, _ = promtool_check(file_of(queries))
        if not ok:
            # Name each query that does not parse.
            for where, expr in queries:
                one_ok, text = promtool_check(file_of([(where, expr)]))
                if not one_ok:
                    failures.append(f"{where}: does not parse: {expr}\n  {text.splitlines()[-1]}")
    return failures


def offline(args):
    contract = load_contract(args.contract)
    rule_files = [Path(r) for r in (args.rules or DEFAULT_RULES)]
    dash = dashboard_queries(args.dashboards)
    rules = rule_queries(rule_files)
    failures = check_parse(dash, rule_files)
    used = {}
    for where, expr in dash + rules:
        for name in metric_names(grafana_to_promql(expr)):
            fam = family(name, contract)
            used.setdefault(fam, set()).add(where.split(":")[0])
            if fam not in contract:
                failures.append(f"{where}: uses {name}, which {args.contract} does not list")
    for name, m in contract.items():
        if name not in used:
            failures.append(f"{args.contract}: {name} is listed but no dashboard or rule uses it")
    print(f"  metrics: {len(dash)} dashboard queries and {len(rules)} rules; {len(used)} metric names:")
    for name in sorted(used):
        status = contract.get(name, {}).get("status", "UNLISTED")
        print(f"    {name:48} {status:10} {', '.join(sorted(used[name]))}")
    planned = sorted(n for n in used if contract.get(n, {}).get("status") == "planned")
    print(f"  metrics: {len(planned)} used names are planned, not exported yet: {', '.join(planned)}")
    return report(failures)


def exposition_families(text):
    """Metric family name -> type, and every sample name, of an exposition
    (Prometheus text or OpenMetrics)."""
    types, samples = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            parts = line.split()
            if len(parts) >= 4:
                types[parts[2]] = parts[3]
        elif line and not line.startswith("#"):
            samples.add(re.split(r"[{\s]", line, maxsplit=1)[0])
    return types, samples


def exposes(name, m, types, samples):
    """Whether the exposition has `name`; None when its family is declared
    by a sample-less labelled family is impossible to tell apart from
    missing, so only samples or TYPE lines count."""
    if name in samples:
        return True
    if m["type"] == "counter":
        base = name[: -len("_total")]
        return types.get(base) == "counter" or types.get(name) == "counter"
    if m["type"] in ("histogram", "summary"):
        return types.get(name) == m["type"] or f"{name}_count" in samples
    return types.get(name) == m["type"]


def live(args):
    contract = load_contract(args.contract)
    source = args.metrics
    try:
        if re.match(r"https?://", source):
            with urllib.request.urlopen(source, timeout=10) as r:
                text = r.read().decode()
        else:
            text = Path(source).read_text()
    except OSError as e:
        fail_usage(f"cannot read {source}: {e}")
    types, samples = exposition_families(text)
    if not types and not samples:
        fail_usage(f"{source} holds no metrics")
    failures, missing_planned, present_planned = [], [], []
    for name, m in sorted(contract.items()):
        if m["status"] == "prometheus":
            continue
        present = exposes(name, m, types, samples)
        if m["status"] == "exported" and not present:
            failures.append(f"{source}: {name} ({m['type']}) is marked exported in {args.contract} but is not there")
        elif m["status"] == "planned":
            (present_planned if present else missing_planned).append(name)
    # The other way round: everything the exposition declares is listed
    # (a counter's family is declared without its _total).
    for fam, typ in sorted(types.items()):
        listed = f"{fam}_total" if typ == "counter" and not fam.endswith("_total") else fam
        if listed not in contract and fam not in contract:
            failures.append(f"{source}: {listed} ({typ}) is exported but {args.contract} does not list it")
    exported = sum(1 for m in contract.values() if m["status"] == "exported")
    absent = sum(1 for f in failures if "is marked exported" in f)
    print(f"  metrics: {source}: {exported - absent} of {exported} exported names present; "
          f"{len(types)} families declared, {len(failures) - absent} of them unlisted")
    print(f"  metrics: planned, not in this /metrics ({len(missing_planned)}): {', '.join(missing_planned)}")
    if present_planned:
        print(f"  metrics: NOTE: now exported, mark them so in {args.contract}: {', '.join(present_planned)}")
    if args.require_planned and missing_planned:
        failures.append(f"{source}: planned names missing (--require-planned): {', '.join(missing_planned)}")
    return report(failures)


def report(failures):
    for f in failures:
        print(f"  metrics: FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    o = sub.add_parser("offline")
    o.add_argument("--dashboards", default=DEFAULT_DASHBOARDS)
    o.add_argument("--rules", nargs="+")
    o.add_argument("--contract", default=DEFAULT_CONTRACT)
    lv = sub.add_parser("live")
    lv.add_argument("--metrics", required=True)
    lv.add_argument("--contract", default=DEFAULT_CONTRACT)
    lv.add_argument("--require-planned", action="store_true")
    n = sub.add_parser("names")
    n.add_argument("expr")
    args = p.parse_args()
    if args.command == "offline":
        return offline(args)
    if args.command == "live":
        return live(args)
    print("\n".join(sorted(metric_names(grafana_to_promql(args.expr)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
