#!/usr/bin/env python3
"""Checks deploy/compose/compose.yaml without a Docker engine.

- It validates against the Compose Specification's JSON Schema (vendored:
  deploy/test/schemas/compose-spec.json), and a misspelled key does not.
- What the stack promises: vspread is built from the repository's
  Dockerfile and keeps /data on a named volume; every published port is
  bound to 127.0.0.1; vspread reaches TWS on the host through
  host.docker.internal (host-gateway) by default, and the ib-gateway
  profile's env file points it at the gateway container; no credential is
  written in the file (IB and Grafana logins come from env files under
  secrets/, the Alertmanager webhook URL from a file there); every file the
  stack mounts from the checkout exists; Prometheus loads the rule file and
  scrapes job "vspread"; Grafana's provisioning names the dashboards' folder
  and the datasource uids the dashboards use.
"""

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy/compose/compose.yaml"
SCHEMA = ROOT / "deploy/test/schemas/compose-spec.json"

failures = []


def check(cond, message):
    if not cond:
        failures.append(message)


def schema_errors(validator, doc):
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def main():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    doc = yaml.safe_load(COMPOSE.read_text())
    errors = schema_errors(validator, doc)
    check(not errors, f"{COMPOSE} does not validate against the compose schema: {errors}")

    # Negative cases: the schema catches a misspelled key and a bad value.
    bad = copy.deepcopy(doc)
    bad["services"]["vspread"]["restart_policy"] = bad["services"]["vspread"].pop("restart")
    check(any("restart_policy" in e for e in schema_errors(validator, bad)),
          "a misspelled service key (restart_policy) passed the schema")
    bad = copy.deepcopy(doc)
    bad["services"]["vspread"]["volumes"] = "vspread-data:/data"
    check(schema_errors(validator, bad), "volumes given as a string passed the schema")

    services = doc["services"]
    v = services["vspread"]
    check(v["build"] == {"context": "../..", "dockerfile": "Dockerfile"}, f"vspread is not built from the repository's Dockerfile: {v['build']}")
    check((COMPOSE.parent / v["build"]["context"] / v["build"]["dockerfile"]).resolve() == ROOT / "Dockerfile",
          "the build context does not hold the Dockerfile")
    check("vspread-data:/data" in v["volumes"] and "vspread-data" in doc["volumes"], "vspread's /data is not a named volume")
    check("host.docker.internal:host-gateway" in v.get("extra_hosts", []), "no host.docker.internal:host-gateway for vspread")
    check(v["environment"]["VSPREAD_IBKR_HOST"].startswith("${VSPREAD_IBKR_HOST:-host.docker.internal}"),
          "vspread does not default to TWS on the host")
    check(v.get("read_only") is True and v.get("cap_drop") == ["ALL"], "vspread's container is not read-only without capabilities")
    check("healthcheck" not in v, "compose overrides the image's HEALTHCHECK")

    for name, s in services.items():
        for p in s.get("ports", []):
            check(isinstance(p, str) and p.startswith("127.0.0.1:"), f"{name} publishes {p!r} beyond 127.0.0.1")

    # No credentials in the file.
    secretish = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|USERID|API_KEY|WEBHOOK)", re.I)
    for name, s in services.items():
        env = s.get("environment", {})
        keys = env.keys() if isinstance(env, dict) else [e.split("=", 1)[0] for e in env]
        for key in keys:
            check(not secretish.search(key), f"{name}: {key} is set in compose.yaml; credentials belong in secrets/")
    gw = services.get("ib-gateway", {})
    check(gw.get("profiles") == ["ib-gateway"], "no ib-gateway profile")
    check(gw.get("image", "").startswith("ghcr.io/gnzsnz/ib-gateway:"), "the ib-gateway profile is not the IBC-based image")
    check(any(isinstance(e, dict) and e.get("path") == "./secrets/ib-gateway.env" for e in gw.get("env_file", [])),
          "the IB login does not come from secrets/ib-gateway.env")
    env_file = COMPOSE.parent / "ib-gateway.env"
    values = dict(l.split("=", 1) for l in env_file.read_text().splitlines() if l and not l.startswith("#"))
    check(values.get("COMPOSE_PROFILES") == "ib-gateway" and values.get("VSPREAD_IBKR_HOST") == "ib-gateway",
          f"{env_file} does not select the profile and point vspread at it: {values}")
    check(values.get("VSPREAD_IBKR_PORT") == "4004", "vspread is not pointed at the paper gateway's relay port 4004")
    check(not any(secretish.search(k) for k in values), f"{env_file} holds credentials")

    # Files mounted from the checkout exist (secrets/ is the user's).
    for name, s in services.items():
        for vol in s.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith((".", "/")) and not src.startswith("./secrets") and not src.startswith("/var/run"):
                check((COMPOSE.parent / src).exists(), f"{name} mounts {src}, which does not exist")

    prom = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    check(prom["rule_files"] == ["rules/vspread.rules.yml"], "Prometheus does not load the rule file")
    check(any(j["job_name"] == "vspread" and j["static_configs"][0]["targets"] == ["vspread:8080"]
              for j in prom["scrape_configs"]), "Prometheus does not scrape vspread:8080 as job vspread")
    ds = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/datasources.yaml").read_text())
    check(sorted(d["uid"] for d in ds["datasources"]) == ["loki", "prometheus"], "datasource uids")
    used = set()
    for f in (ROOT / "deploy/grafana/dashboards").glob("*.json"):
        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("datasource"), dict):
                    used.add(node["datasource"].get("uid"))
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(json.loads(f.read_text()))
    check(used == {"prometheus", "loki"}, f"the dashboards' datasources {used} are not the provisioned ones")

    for f in failures:
        print(f"  compose: FAILED: {f}", file=sys.stderr)
    if not failures:
        print(f"  compose: {COMPOSE.relative_to(ROOT)} valid against the compose schema ({len(services)} services); "
              "a misspelled key is refused; ports on 127.0.0.1 only; no credentials in the file")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
