#!/usr/bin/env python3
"""Renders deploy/k8s with `kubectl kustomize` and checks the output strictly.

- Every overlay (paper, live) and paper with components/monitoring renders.
- Every object validates against the Kubernetes 1.32 OpenAPI schemas in
  strict mode (kubernetes-validate: an unknown field fails), and the
  Prometheus Operator's ServiceMonitor and PrometheusRule against their
  CRDs' schemas (vendored in deploy/test/schemas), made strict the same way.
- Negative cases: a misspelled StatefulSet field and a misspelled
  ServiceMonitor field are caught.
- What the deployment promises: one replica; a volume claim for /data; the
  config seeded by an initContainer from the ConfigMap; the token from an
  optional Secret; liveness /healthz, readiness /readyz, a startup probe;
  non-root, read-only root filesystem, no capabilities, requests and limits
  on every container; a ClusterIP Service publishing not-ready endpoints.
- paper and live differ in mode = "live" and --live and nothing else.
- The seeded config.toml of each overlay passes `vspread config validate`.
- The PrometheusRule holds exactly deploy/prometheus/rules/vspread.rules.yml.

Usage: k8s_check.py VSPREAD_BINARY
"""

import copy
import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/k8s"
SCHEMAS = ROOT / "deploy/test/schemas"
K8S_VERSION = "1.32.0"

failures = []


def check(cond, message):
    if not cond:
        failures.append(message)
    return cond


def kustomize(directory):
    out = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"  k8s: FAILED: kubectl kustomize {directory}:\n{out.stderr}")
    return out.stdout, [d for d in yaml.safe_load_all(out.stdout) if d]


def strict(schema):
    """A CRD's structural schema, with unknown fields refused (as kubectl's
    strict field validation does) where the schema does not keep them."""
    schema = copy.deepcopy(schema)

    def walk(s):
        if not isinstance(s, dict):
            return
        if (s.get("type") == "object" and "properties" in s and "additionalProperties" not in s
                and not s.get("x-kubernetes-preserve-unknown-fields")):
            s["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for sub in s.get(key, {}).values():
                walk(sub)
        for key in ("items", "additionalProperties", "not"):
            if isinstance(s.get(key), dict):
                walk(s[key])
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in s.get(key, []):
                walk(sub)

    walk(schema)
    return schema


def crd_validators():
    validators = {}
    for f in SCHEMAS.glob("monitoring.coreos.com_*.yaml"):
        crd = yaml.safe_load(f.read_text())
        kind = crd["spec"]["names"]["kind"]
        for v in crd["spec"]["versions"]:
            schema = strict(v["schema"]["openAPIV3Schema"])
            # metadata is an ObjectMeta; the CRD leaves it open.
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            validators[(f"{crd['spec']['group']}/{v['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


CRDS = crd_validators()


def validate(doc):
    """Problems of one object, as text (empty when it is valid)."""
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key in CRDS:
        return [f"{e.json_path}: {e.message}" for e in CRDS[key].iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        return []
    except kubernetes_validate.ValidationError as e:
        return [f"{'.'.join(str(p) for p in e.path)}: {e.message}"]
    except kubernetes_validate.SchemaNotFoundError as e:
        return [f"no schema for {key}: {e}"]


def validate_all(name, docs):
    for d in docs:
        for problem in validate(d):
            failures.append(f"{name}: {d['kind']}/{d['metadata']['name']}: {problem}")


def by_kind(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    check(len(found) == 1, f"expected one {kind}, found {len(found)}")
    return found[0] if found else {}


def promises(name, docs):
    sts = by_kind(docs, "StatefulSet")
    svc = by_kind(docs, "Service")
    cm = by_kind(docs, "ConfigMap")
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    check(spec["replicas"] == 1, f"{name}: replicas is {spec['replicas']}, not 1")
    claims = [c["metadata"]["name"] for c in spec.get("volumeClaimTemplates", [])]
    check(claims == ["data"], f"{name}: volume claims {claims}")
    ctx = pod["securityContext"]
    check(ctx.get("runAsNonRoot") is True and ctx.get("runAsUser") == 10001, f"{name}: pod not non-root 10001")
    containers = pod["containers"] + pod.get("initContainers", [])
    for c in containers:
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, f"{name}: {c['name']}: root filesystem not read-only")
        check(sc.get("allowPrivilegeEscalation") is False, f"{name}: {c['name']}: privilege escalation allowed")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: {c['name']}: capabilities not dropped")
        r = c.get("resources", {})
        check({"cpu", "memory"} <= set(r.get("requests", {})) and {"cpu", "memory"} <= set(r.get("limits", {})),
              f"{name}: {c['name']}: requests and limits for cpu and memory")
    main = pod["containers"][0]
    probe = lambda p: (main.get(p, {}).get("httpGet", {}).get("path"), main.get(p, {}).get("httpGet", {}).get("port"))
    check(probe("livenessProbe") == ("/healthz", "admin"), f"{name}: liveness probe {probe('livenessProbe')}")
    check(probe("readinessProbe") == ("/readyz", "admin"), f"{name}: readiness probe {probe('readinessProbe')}")
    check(probe("startupProbe")[0] is not None, f"{name}: no startup probe")
    schemes = {p: main.get(p, {}).get("httpGet", {}).get("scheme") for p in ("startupProbe", "livenessProbe", "readinessProbe")}
    check(set(schemes.values()) == {"HTTPS"}, f"{name}: probes must use HTTPS (the server is TLS-only beyond loopback): {schemes}")
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    check(mounts == {"data": "/data"}, f"{name}: main container mounts {mounts}")
    init = pod.get("initContainers", [])
    check(len(init) == 1 and init[0].get("args") == ["seed"], f"{name}: the initContainer does not run seed")
    if init:
        env = {e["name"]: e["value"] for e in init[0].get("env", [])}
        check(env.get("VSPREAD_SEED_CONFIG") == "/seed/config.toml", f"{name}: seed config {env}")
        check(init[0]["image"] == main["image"], f"{name}: the initContainer runs another image")
    vols = {v["name"]: v for v in pod["volumes"]}
    check(vols.get("seed", {}).get("configMap", {}).get("name") == cm["metadata"]["name"],
          f"{name}: the seed volume is not the generated ConfigMap")
    tls = vols.get("tls", {}).get("secret", {})
    check(tls.get("secretName") == "vspread-tls" and tls.get("optional") is True,
          f"{name}: the TLS Secret volume: {tls}")
    secret = vols.get("admin-token", {}).get("secret", {})
    check(secret.get("secretName") == "vspread-admin-token" and secret.get("optional") is True,
          f"{name}: the admin token Secret volume: {secret}")
    check(svc["spec"].get("type") == "ClusterIP" and svc["spec"].get("publishNotReadyAddresses") is True,
          f"{name}: Service {svc['spec']}")
    check([p["name"] for p in svc["spec"]["ports"]] == ["admin"], f"{name}: Service ports")
    check(all(d["metadata"].get("namespace") == "vspread" for d in docs if d["kind"] != "Namespace"),
          f"{name}: objects outside namespace vspread")
    return sts, cm


def seeded_config_valid(name, cm, binary):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(cm["data"]["config.toml"])
        out = subprocess.run([binary, "config", "validate", "--config", str(path)], capture_output=True, text=True)
        check(out.returncode == 0, f"{name}: the seeded config.toml is not valid:\n{out.stdout}{out.stderr}")


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        sys.exit("usage: k8s_check.py VSPREAD_BINARY")
    binary = sys.argv[1]
    rendered = {}
    for overlay in ("paper", "live"):
        text, docs = kustomize(K8S / "overlays" / overlay)
        rendered[overlay] = (text, docs)
        validate_all(overlay, docs)
        sts, cm = promises(overlay, docs)
        seeded_config_valid(overlay, cm, binary)
        print(f"  k8s: overlays/{overlay}: {len(docs)} objects ({', '.join(d['kind'] for d in docs)}) valid for Kubernetes {K8S_VERSION}, strict")

    # live = paper + mode = "live" + --live; nothing else.
    def normalise(text):
        return re.sub(r"vspread-config-[a-z0-9]{10}", "vspread-config-HASH", text).splitlines()

    paper, live = normalise(rendered["paper"][0]), normalise(rendered["live"][0])
    changed = [l for l in difflib.unified_diff(paper, live, lineterm="", n=0)
               if l[:1] in "+-" and not l.startswith(("+++", "---"))]
    expected = ['-    mode = "paper"', '-      - args: []', '+    mode = "live"', '+      - args:', "+        - --live"]
    check(sorted(changed) == sorted(expected), f"paper and live differ in more than mode and --live: {changed}")
    print("  k8s: overlays/live differs from overlays/paper in mode = \"live\" and --live only")

    # paper with the monitoring component (a throwaway kustomization beside
    # the repository's, as an operator's own overlay would be).
    with tempfile.TemporaryDirectory(dir=K8S / "overlays") as tmp:
        Path(tmp, "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": ["../paper"],
            "components": ["../../components/monitoring"],
        }))
        _, docs = kustomize(tmp)
    validate_all("paper+monitoring", docs)
    sm = by_kind(docs, "ServiceMonitor")
    rule = by_kind(docs, "PrometheusRule")
    svc = by_kind(docs, "Service")
    check(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items(),
          "the ServiceMonitor does not select the Service")
    check([e["port"] for e in sm["spec"]["endpoints"]] == ["admin"], "the ServiceMonitor scrapes another port")
    check(sm["metadata"]["namespace"] == svc["metadata"]["namespace"], "the ServiceMonitor is not in the Service's namespace")
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/vspread.rules.yml").read_text())
    check(rule["spec"]["groups"] == rules["groups"],
          "the PrometheusRule's groups differ from deploy/prometheus/rules/vspread.rules.yml")
    gen = subprocess.run([sys.executable, str(K8S / "components/monitoring/prometheusrule.py"), "--check"],
                         capture_output=True, text=True)
    check(gen.returncode == 0, f"prometheusrule.yaml: {gen.stderr.strip()}")
    print(f"  k8s: paper+components/monitoring: {len(docs)} objects valid (ServiceMonitor and PrometheusRule "
          "against the vendored CRD schemas, strict); the PrometheusRule holds the rule file's groups")

    # Negative cases: strict validation catches a misspelled field.
    docs = rendered["paper"][1]
    sts = copy.deepcopy(next(d for d in docs if d["kind"] == "StatefulSet"))
    c = sts["spec"]["template"]["spec"]["containers"][0]
    c["readynessProbe"] = c.pop("readinessProbe")
    problems = validate(sts)
    check(any("readynessProbe" in p for p in problems), f"a misspelled readinessProbe passed validation: {problems}")
    bad_sm = copy.deepcopy(sm)
    bad_sm["spec"]["endpoints"][0]["intervall"] = bad_sm["spec"]["endpoints"][0].pop("interval")
    problems = validate(bad_sm)
    check(any("intervall" in p for p in problems), f"a misspelled ServiceMonitor field passed validation: {problems}")
    bad_rule = copy.deepcopy(rule)
    bad_rule["spec"]["groups"][0]["rules"][0]["expression"] = bad_rule["spec"]["groups"][0]["rules"][0].pop("expr")
    problems = validate(bad_rule)
    check(any("expression" in p or "expr" in p for p in problems), f"a PrometheusRule without expr passed: {problems}")
    print("  k8s: negative cases: a misspelled readinessProbe, ServiceMonitor interval and rule expr are each refused")

    for f in failures:
        print(f"  k8s: FAILED: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
