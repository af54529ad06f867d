#!/usr/bin/env bash
# Alert rules, Alertmanager config, dashboards and metric names:
#
# - promtool: the Prometheus config and the rule file check; every rule's
#   unit tests pass (firing where it should, silent where it should not);
#   a rule file with a syntax error is flagged, and a rule whose threshold
#   drifted fails its unit tests;
# - amtool: the Alertmanager config checks, a misspelled key is flagged;
# - the dashboards are what dashboards.py writes, laid out on the grid;
# - metrics_check.py offline: every dashboard query parses, every metric
#   name used is in deploy/metrics.yaml (a broken query and an unlisted name
#   are each caught);
# - live: a real `vspread demo`'s /metrics has every name marked exported
#   (after an order has ended and a config apply, so its labelled families
#   exist) and declares nothing deploy/metrics.yaml does not list, the
#   planned ones are listed, and a real Prometheus (Debian's)
#   scrapes the demo with the compose scrape config and loads the rules.
#
# Usage: deploy/test/observability.sh VSPREAD_BINARY
set -euo pipefail
cd "$(dirname "$0")/../.."
binary=${1:?usage: observability.sh VSPREAD_BINARY}

log() { printf '  observability: %s\n' "$*"; }
fail() {
	printf '  observability: FAILED: %s\n' "$*" >&2
	exit 1
}
work=$(mktemp -d)
demo_pid=
prom_pid=
cleanup() {
	if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null || true; fi
	if [ -n "$prom_pid" ]; then kill "$prom_pid" 2>/dev/null || true; fi
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

rules=deploy/prometheus/rules/vspread.rules.yml
tests=deploy/prometheus/rules/vspread.rules.test.yml

# --- promtool -----------------------------------------------------------------
promtool check config deploy/prometheus/prometheus.yml >"$work/out" 2>&1 || {
	cat "$work/out" >&2
	fail "promtool check config"
}
promtool test rules "$tests" >"$work/out" 2>&1 || {
	cat "$work/out" >&2
	fail "promtool test rules"
}
alerts=$(grep -c '^      - alert: ' "$rules")
cases=$(grep -c '^  - name: ' "$tests")
while read -r alert; do
	grep -q "alertname: $alert\$" "$tests" || fail "$alert has no unit test in $tests"
done < <(sed -n 's/^      - alert: //p' "$rules")
log "promtool: config and $alerts rules check; $cases unit tests pass, every alert tested"
python3 - "$rules" docs/operations.md <<'EOF' || fail "a rule's runbook link has no section in docs/operations.md"
import re, sys, yaml
rules, doc = yaml.safe_load(open(sys.argv[1])), open(sys.argv[2]).read()
anchors = {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", doc, re.M)}
missing = [r["alert"] for g in rules["groups"] for r in g["rules"]
           if r["annotations"]["runbook"].split("#")[1] not in anchors]
assert not missing, f"runbook anchors without a heading in {sys.argv[2]}: {missing}"
EOF

mkdir -p "$work/broken"
sed 's/expr: vspread_market_data_lines_usage_ratio > 0.9/expr: vspread_market_data_lines_usage_ratio > > 0.9/' "$rules" >"$work/broken/vspread.rules.yml"
cmp -s "$rules" "$work/broken/vspread.rules.yml" && fail "the syntax-error mutation did not apply"
if promtool check rules "$work/broken/vspread.rules.yml" >"$work/out" 2>&1; then
	fail "promtool accepted a rule with a syntax error"
fi
mkdir -p "$work/drift"
sed 's/expr: vspread_market_data_lines_usage_ratio > 0.9/expr: vspread_market_data_lines_usage_ratio > 0.99/' "$rules" >"$work/drift/vspread.rules.yml"
cmp -s "$rules" "$work/drift/vspread.rules.yml" && fail "the threshold mutation did not apply"
cp "$tests" "$work/drift/"
if promtool test rules "$work/drift/vspread.rules.test.yml" >"$work/out" 2>&1; then
	fail "the unit tests passed with the line-usage threshold moved from 0.9 to 0.99"
fi
grep -q 'VspreadMarketDataLinesHigh' "$work/out" || fail "the drifted threshold failed for another reason: $(cat "$work/out")"
log "promtool: a syntax error is flagged; a threshold moved from 0.9 to 0.99 fails VspreadMarketDataLinesHigh's test"

# --- amtool -------------------------------------------------------------------
am=deploy/alertmanager/alertmanager.yml
amtool check-config "$am" >"$work/out" 2>&1 || {
	cat "$work/out" >&2
	fail "amtool check-config $am"
}
sed 's/group_wait:/group_wiat:/' "$am" >"$work/am.yml"
if amtool check-config "$work/am.yml" >"$work/out" 2>&1; then fail "amtool accepted a misspelled key"; fi
receiver=$(amtool config routes test --config.file="$am" severity=critical alertname=VspreadGatewayDown 2>/dev/null | tail -1)
[ "$receiver" = notifier ] || fail "a critical alert is routed to '$receiver', not the notifier"
log "amtool: the config checks, routes a critical alert to the notifier; a misspelled key is flagged"

# --- dashboards and metric names ------------------------------------------------
python3 deploy/grafana/dashboards.py --check || fail "the dashboards are not what dashboards.py writes"
python3 deploy/test/metrics_check.py offline >"$work/offline" 2>&1 || {
	cat "$work/offline" >&2
	fail "metrics_check offline"
}
grep -E '^  metrics: [0-9]+ (dashboard|used)' "$work/offline" | sed 's/^  //; s/^/  observability: /'

cp -r deploy/grafana/dashboards "$work/dash"
python3 - "$work/dash/engine.json" <<'EOF'
import json, sys
path = sys.argv[1]
d = json.load(open(path))
panel = next(p for p in d["panels"] if p.get("title") == "Scans per minute")
panel["targets"][0]["expr"] = "sum(rate(vspread_scans_total[5m]) * 60"
json.dump(d, open(path, "w"))
EOF
if python3 deploy/test/metrics_check.py offline --dashboards "$work/dash" >"$work/out" 2>&1; then
	fail "a dashboard query with an unbalanced parenthesis passed"
fi
grep -q "panel 'Scans per minute'.*does not parse" "$work/out" || fail "the broken query was not named: $(cat "$work/out")"
cp deploy/grafana/dashboards/engine.json "$work/dash/engine.json"
sed 's/vspread_scan_candidates/vspread_scan_candidatez/' deploy/grafana/dashboards/engine.json >"$work/dash/engine.json"
if python3 deploy/test/metrics_check.py offline --dashboards "$work/dash" >"$work/out" 2>&1; then
	fail "a dashboard using an unlisted metric passed"
fi
grep -q "uses vspread_scan_candidatez, which .* does not list" "$work/out" || fail "the unlisted name was not named: $(cat "$work/out")"
log "metrics: a query that does not parse and a metric name not in deploy/metrics.yaml are each caught, by panel"

# --- live: a real demo's /metrics, scraped by a real Prometheus -------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api_port=$(free_port)
api="http://127.0.0.1:$api_port"
started=$SECONDS
"$binary" demo --data-dir "$work/demo" --listen "127.0.0.1:$api_port" --speed 300 >"$work/demo.log" 2>&1 &
demo_pid=$!
deadline=$((SECONDS + 60))
until curl -fsS "$api/healthz" >/dev/null 2>&1; do
	[ $SECONDS -lt $deadline ] || {
		tail -20 "$work/demo.log" >&2
		fail "the demo did not serve /healthz within 60 s"
	}
	sleep 0.2
done
# A config apply (what the UI does), so vspread_config_applies_total exists;
# it adds a [notify] target (hearing only the kill switch, which this check
# never touches; its secret a file beside the config), so the notifier's
# per-target families have their first label set.
printf 'http://127.0.0.1:9/deploy-check\n' >"$work/demo/notify-check.url"
# An apply waits for the engine's cycle in progress; an answer that comes
# too late (408) does not cut it off, so the config is read again to see
# whether it landed before trying once more.
python3 - "$api" "$(cat "$work/demo/admin.token")" <<'EOF' || fail "the config apply through the API failed"
import json, sys, time, urllib.error, urllib.request
api, token = sys.argv[1], sys.argv[2]
auth = {"Authorization": f"Bearer {token}"}
def read():
    with urllib.request.urlopen(urllib.request.Request(f"{api}/api/v1/config", headers=auth)) as r:
        return r.headers["ETag"], json.load(r)
etag, config = read()
wanted = config["trading"]["max_positions"] + 1
target = {"name": "deploy-check", "format": "json", "secret_file": "notify-check.url", "events": ["kill_switch"]}
deadline = time.time() + 120
while True:
    config["trading"]["max_positions"] = wanted
    config["notify"]["targets"] = [target]
    req = urllib.request.Request(f"{api}/api/v1/config", method="PUT", data=json.dumps(config).encode(),
                                 headers={**auth, "If-Match": etag, "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=30).close()
        break
    except (urllib.error.HTTPError, TimeoutError) as e:
        if getattr(e, "code", 408) not in (408, 412) or time.time() > deadline:
            raise
    time.sleep(2)
    etag, config = read()
    if config["trading"]["max_positions"] == wanted:
        break
EOF
# vspread_orders_ended_total appears with the first order's end.
deadline=$((SECONDS + 180))
until curl -fsS "$api/metrics" >"$work/metrics.txt" 2>/dev/null && grep -q '^vspread_orders_ended_total{' "$work/metrics.txt"; do
	[ $SECONDS -lt $deadline ] || {
		tail -20 "$work/demo.log" >&2
		fail "no order ended in the demo within 180 s"
	}
	sleep 1
done
log "demo: an order ended after $((SECONDS - started)) s"
python3 deploy/test/metrics_check.py live --require-planned --metrics "$work/metrics.txt" 2>&1 | sed 's/^  //; s/^/  observability: /'
[ "${PIPESTATUS[0]}" = 0 ] || fail "the demo's /metrics lacks names marked exported"
grep -v '^vspread_gateway_connected ' "$work/metrics.txt" | grep -v 'TYPE vspread_gateway_connected ' >"$work/less.txt"
if python3 deploy/test/metrics_check.py live --metrics "$work/less.txt" >"$work/out" 2>&1; then
	fail "the live check passed without vspread_gateway_connected"
fi
grep -q 'vspread_gateway_connected (gauge) is marked exported' "$work/out" || fail "the missing name was not named: $(cat "$work/out")"
log "live: a /metrics without vspread_gateway_connected is caught"
python3 - deploy/metrics.yaml "$work/unlisted.yaml" <<'EOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
doc["metrics"] = [m for m in doc["metrics"] if m["name"] != "vspread_journal_writable"]
yaml.safe_dump(doc, open(sys.argv[2], "w"))
EOF
if python3 deploy/test/metrics_check.py live --metrics "$work/metrics.txt" --contract "$work/unlisted.yaml" >"$work/out" 2>&1; then
	fail "the live check passed with vspread_journal_writable exported but not listed"
fi
grep -q 'vspread_journal_writable (gauge) is exported but .* does not list it' "$work/out" || fail "the unlisted name was not named: $(cat "$work/out")"
log "live: an exported metric missing from deploy/metrics.yaml (vspread_journal_writable) is caught"

# Debian's Prometheus with the compose scrape config, aimed at the demo.
prom_port=$(free_port)
mkdir -p "$work/prom/rules"
cp "$rules" "$work/prom/rules/"
python3 - deploy/prometheus/prometheus.yml "$work/prom/prometheus.yml" "127.0.0.1:$api_port" <<'EOF'
import sys, yaml
src, out, target = sys.argv[1:]
c = yaml.safe_load(open(src))
c["global"]["scrape_interval"] = "1s"
c["global"]["evaluation_interval"] = "1s"
c.pop("alerting")  # no Alertmanager here
c["scrape_configs"] = [j for j in c["scrape_configs"] if j["job_name"] == "vspread"]
c["scrape_configs"][0]["static_configs"][0]["targets"] = [target]
# The demo listens on loopback, where plain HTTP is allowed; the compose
# stack's vspread (beyond loopback) is scraped over TLS.
c["scrape_configs"][0]["scheme"] = "http"
c["scrape_configs"][0].pop("tls_config", None)
yaml.safe_dump(c, open(out, "w"))
EOF
prometheus --config.file="$work/prom/prometheus.yml" --storage.tsdb.path="$work/prom/data" \
	--web.listen-address="127.0.0.1:$prom_port" >"$work/prom.log" 2>&1 &
prom_pid=$!
python3 - "http://127.0.0.1:$prom_port" <<'EOF' || { tail -20 "$work/prom.log" >&2; fail "Prometheus did not scrape the demo and load the rules"; }
import json, sys, time, urllib.parse, urllib.request
base = sys.argv[1]
def get(path, **q):
    url = f"{base}{path}?{urllib.parse.urlencode(q)}"
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]
deadline = time.time() + 60
while True:
    try:
        up = get("/api/v1/query", query='up{job="vspread"}')["result"]
        ready = get("/api/v1/query", query="vspread_gateway_connected")["result"]
        if up and up[0]["value"][1] == "1" and ready:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("up{job=\"vspread\"} never became 1")
    time.sleep(0.5)
groups = get("/api/v1/rules")["groups"]
rules = [r for g in groups for r in g["rules"]]
bad = [r["name"] for r in rules if r.get("health") not in ("ok", "unknown")]
assert len(rules) == 19 and not bad, (len(rules), bad)
names = set(get("/api/v1/label/__name__/values"))
for n in ("vspread_gateway_connected", "vspread_orders_ended_total", "vspread_scan_duration_seconds_bucket",
          "vspread_http_requests_total", "vspread_config_applies_total"):
    assert n in names, f"{n} not in what Prometheus stored"
print(f"  observability: Prometheus scraped the demo (up 1, {len(names)} metric names stored) and loaded {len(rules)} rules")
EOF
log "done in $((SECONDS - started)) s of live checks"
