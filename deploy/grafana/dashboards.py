#!/usr/bin/env python3
"""Writes vspread's Grafana dashboards (deploy/grafana/dashboards/*.json).

The JSON files are what Grafana provisions (compose mounts them; see
deploy/grafana/provisioning). They are generated so that the health strip,
the panel layout and the queries stay consistent across dashboards; edit
this file, run it, and commit both. `--check` exits 1 when a committed file
differs from what this writes (deploy/test/observability.sh runs it).

Datasources are referenced by the uids the provisioning gives them:
"prometheus" and "loki".
"""

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "dashboards"
PROM = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}
SEL = 'instance=~"$instance"'
API = f'{SEL}, route=~"/api/.*"'


class Layout:
    """Places panels left to right on a 24-column grid, wrapping rows."""

    def __init__(self):
        self.x = 0
        self.y = 0
        self.row_h = 0
        self.next_id = 1
        self.panels = []

    def add(self, panel, w, h):
        if self.x + w > 24:
            self.newline()
        panel["id"] = self.next_id
        self.next_id += 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.panels.append(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def newline(self):
        if self.x:
            self.y += self.row_h
        self.x = 0
        self.row_h = 0

    def row(self, title):
        self.newline()
        self.panels.append({
            "type": "row",
            "id": self.next_id,
            "title": title,
            "collapsed": False,
            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
            "panels": [],
        })
        self.next_id += 1
        self.y += 1


def target(expr, legend="", ref="A", instant=False):
    t = {"datasource": PROM, "expr": expr, "refId": ref, "legendFormat": legend}
    if instant:
        t["instant"] = True
        t["range"] = False
    return t


def thresholds(*steps):
    """steps: (color, from) pairs; the first one's from is ignored (base)."""
    return {
        "mode": "absolute",
        "steps": [{"color": c, "value": None if i == 0 else v} for i, (c, v) in enumerate(steps)],
    }


def stat(title, expr, unit="none", steps=None, description="", mappings=None, decimals=None):
    defaults = {"unit": unit, "thresholds": steps or thresholds(("green", None))}
    if mappings:
        defaults["mappings"] = mappings
    if decimals is not None:
        defaults["decimals"] = decimals
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "datasource": PROM,
        "targets": [target(expr, instant=True)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "background",
            "graphMode": "none",
            "textMode": "value",
            "justifyMode": "center",
        },
    }


def series(title, targets, unit="none", description="", stack=False, bars=False, steps=None):
    custom = {"drawStyle": "bars" if bars else "line", "lineWidth": 1, "fillOpacity": 20 if bars else 10}
    if stack:
        custom["stacking"] = {"mode": "normal", "group": "A"}
    defaults = {"unit": unit, "custom": custom}
    if steps:
        defaults["thresholds"] = steps
        custom["thresholdsStyle"] = {"mode": "line"}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": PROM,
        "targets": [target(e, legend, chr(ord("A") + i)) for i, (e, legend) in enumerate(targets)],
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
    }


def quantiles(metric, labels, by="", qs=(0.5, 0.95, 0.99), window="$__rate_interval", prefix=""):
    """histogram_quantile queries of `metric` at each of `qs`, legends p50, p95, ..."""
    group = f"{by}, le" if by else "le"
    legend_by = "".join(f" {{{{{b.strip()}}}}}" for b in by.split(",") if b.strip())
    return [
        (
            f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{{{labels}}}[{window}])))",
            f"{prefix}p{int(q * 100)}{legend_by}",
        )
        for q in qs
    ]


def up_down():
    return [{
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "READY", "color": "green", "index": 1},
        },
    }]


FILL_RATE_24H = (
    f'(sum(increase(vspread_orders_ended_total{{{SEL}, outcome="filled"}}[24h]))'
    f" or sum(increase(vspread_orders_ended_total{{{SEL}}}[24h])) * 0)"
    f" / sum(increase(vspread_orders_ended_total{{{SEL}}}[24h]))"
)


def health(layout):
    """The plan's health table: one stat per row of it, coloured by its
    target and alert thresholds (the alert rules use the same numbers)."""
    layout.row("Health: the plan's targets (green on target, red at the alert threshold)")
    w, h = 3, 4
    layout.add(stat(
        "TWS connection", f"min(vspread_gateway_connected{{{SEL}}})",
        steps=thresholds(("red", None), ("green", 1)), mappings=up_down(),
        description="The gateway link is ready (any disconnect is alerted outside the daily-restart window).",
    ), w, h)
    layout.add(stat(
        "Disconnects (24 h)", f"sum(increase(vspread_gateway_disconnects_total{{{SEL}}}[24h]))",
        steps=thresholds(("green", None), ("red", 1)), decimals=0,
        description="Connections lost in the last 24 hours (the nightly restart included).",
    ), w, h)
    layout.add(stat(
        "Subscription usage", f"max(vspread_market_data_lines_usage_ratio{{{SEL}}})", unit="percentunit",
        steps=thresholds(("green", None), ("yellow", 0.85), ("red", 0.9)),
        description="Market data lines held over the budget: target < 85 %, alert > 90 %.",
    ), w, h)
    layout.add(stat(
        "Request queue", f"sum(vspread_request_queue_depth{{{SEL}}})",
        steps=thresholds(("green", None), ("yellow", 50), ("red", 100)),
        description="Requests waiting for the pacer: target < 50, alert > 100.",
    ), w, h)
    layout.add(stat(
        "Scanner time p95",
        f"histogram_quantile(0.95, sum by (le) (rate(vspread_scan_compute_duration_seconds_bucket{{{SEL}}}[1h])))",
        unit="s", steps=thresholds(("green", None), ("yellow", 0.1), ("red", 0.5)),
        description="The scanner's own time per underlying over the last hour: target < 100 ms, alert > 500 ms.",
    ), w, h)
    layout.add(stat(
        "Fill rate (24 h)", FILL_RATE_24H, unit="percentunit",
        steps=thresholds(("red", None), ("yellow", 0.95), ("green", 0.98)),
        description="Orders filled over orders ended in the last 24 hours: target > 98 %, alert < 95 %.",
    ), w, h)
    layout.add(stat(
        "API error rate",
        f'sum(rate(vspread_http_requests_total{{{API}, status=~"5.."}}[1h]))'
        f" / sum(rate(vspread_http_requests_total{{{API}}}[1h]))",
        unit="percentunit", steps=thresholds(("green", None), ("yellow", 0.001), ("red", 0.01)),
        description="5xx answers of /api over the last hour: target < 0.1 %, alert > 1 %.",
    ), w, h)
    layout.add(stat(
        "API p99",
        f'histogram_quantile(0.99, sum by (le) (rate(vspread_http_request_duration_seconds_bucket{{{API}, route!="/api/v1/ws"}}[1h])))',
        unit="s", steps=thresholds(("green", None), ("yellow", 0.2), ("red", 1)),
        description="99th percentile of /api request time over the last hour: target < 200 ms, alert > 1 s.",
    ), w, h)
    layout.add(stat(
        "Uptime", f'time() - max(process_start_time_seconds{{job="vspread", {SEL}}})', unit="s",
        description="Since the vspread process started.",
    ), 24 - 8 * w, h)


def dashboard(uid, title, description, build, with_logs=False):
    layout = Layout()
    health(layout)
    build(layout)
    if with_logs:
        layout.row("Logs (Loki)")
        layout.add({
            "type": "logs",
            "title": "vspread log (JSON lines, newest first)",
            "description": "The container's log as Alloy ships it to Loki; filter by level with the variable above.",
            "datasource": LOKI,
            "targets": [{
                "datasource": LOKI,
                "refId": "A",
                "expr": '{service="vspread", level=~"$level"}',
            }],
            "options": {
                "showTime": True,
                "wrapLogMessage": True,
                "sortOrder": "Descending",
                "enableLogDetails": True,
                "prettifyLogMessage": False,
            },
        }, 24, 12)
    variables = [{
        "name": "instance",
        "label": "vspread",
        "type": "query",
        "datasource": PROM,
        "query": {"query": "label_values(vspread_gateway_connected, instance)", "refId": "instance"},
        "definition": "label_values(vspread_gateway_connected, instance)",
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
    }]
    if with_logs:
        variables.append({
            "name": "level",
            "label": "log level",
            "type": "custom",
            "query": "ERROR,WARN,INFO,DEBUG,TRACE",
            "includeAll": True,
            "multi": True,
            "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        })
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["vspread"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "timezone": "utc",
        "links": [{
            "type": "dashboards", "tags": ["vspread"], "asDropdown": False,
            "title": "vspread", "includeVars": True, "keepTime": True,
        }],
        "templating": {"list": variables},
        "annotations": {"list": []},
        "panels": layout.panels,
    }


def gateway(layout):
    layout.row("Link")
    layout.add(stat(
        "Link", f"min(vspread_gateway_connected{{{SEL}}})",
        steps=thresholds(("red", None), ("green", 1)), mappings=up_down(),
    ), 4, 6)
    layout.add(series("Connection state", [
        (f"vspread_gateway_connection_state{{{SEL}}}", "state {{instance}}"),
        (f"vspread_gateway_daily_restart_window{{{SEL}}}", "daily-restart window {{instance}}"),
    ], description="0 disconnected, 1 connecting, 2 connected, 3 ready, 4 TWS lost IB, 5 backing off; "
                   "the restart window is 1 during [ibkr] daily_restart_utc + daily_restart_minutes."), 10, 6)
    layout.add(stat(
        "API server version", f"max(vspread_gateway_server_version{{{SEL}}})", decimals=0,
        description="The TWS API version negotiated at connect (0 before the first connect).",
    ), 4, 6)
    layout.add(series("Connects and disconnects", [
        (f"sum(increase(vspread_gateway_connects_total{{{SEL}}}[$__rate_interval]))", "connects"),
        (f"sum(increase(vspread_gateway_disconnects_total{{{SEL}}}[$__rate_interval]))", "disconnects"),
    ], bars=True), 6, 6)
    layout.row("IB errors")
    layout.add(series("IB errors by code", [
        (f"sum by (code) (increase(vspread_gateway_errors_total{{{SEL}}}[$__rate_interval]))", "{{code}}"),
    ], bars=True, stack=True,
        description="100: message rate exceeded; 162: historical data pacing; 201: order rejected; "
                    "1100/1102: connectivity lost/restored; 2104/2106/2158: farm OK (informational)."), 16, 8)
    layout.add({
        "type": "table",
        "title": "IB errors by code (24 h)",
        "datasource": PROM,
        "targets": [target(
            f"sort_desc(sum by (code) (increase(vspread_gateway_errors_total{{{SEL}}}[24h])))",
            "{{code}}", instant=True)],
        "transformations": [{"id": "seriesToRows", "options": {}}],
        "fieldConfig": {"defaults": {"decimals": 0}, "overrides": []},
        "options": {"showHeader": True},
    }, 8, 8)
    layout.row("Market data lines and pacing")
    layout.add(series("Lines used vs budget", [
        (f"sum(vspread_market_data_lines_active{{{SEL}}})", "held"),
        (f"sum(vspread_market_data_lines_pinned{{{SEL}}})", "pinned"),
        (f"sum(vspread_market_data_lines_max{{{SEL}}})", "budget (market_data.max_lines)"),
    ]), 8, 8)
    layout.add(series("Line usage", [
        (f"vspread_market_data_lines_usage_ratio{{{SEL}}}", "{{instance}}"),
    ], unit="percentunit", steps=thresholds(("green", None), ("yellow", 0.85), ("red", 0.9))), 8, 8)
    layout.add(series("Evicted and refused lines", [
        (f"sum(increase(vspread_market_data_lines_evicted_total{{{SEL}}}[$__rate_interval]))", "evicted"),
        (f"sum(increase(vspread_market_data_lines_refused_total{{{SEL}}}[$__rate_interval]))", "refused (all pinned)"),
    ], bars=True), 8, 8)
    layout.add(series("Request queue depth", [
        (f"sum by (priority) (vspread_request_queue_depth{{{SEL}}})", "{{priority}}"),
    ], stack=True, steps=thresholds(("green", None), ("yellow", 50), ("red", 100))), 12, 8)
    layout.add(series("Throttling (pacer waits per second)", [
        (f"sum(rate(vspread_request_throttle_events_total{{{SEL}}}[$__rate_interval]))", "waits/s"),
    ]), 12, 8)


def trading(layout):
    layout.row("P&L and positions")
    layout.add(stat(
        "P&L today", f"sum(vspread_pnl_realised_today{{{SEL}}}) + sum(vspread_pnl_unrealised{{{SEL}}})",
        unit="currencyUSD", steps=thresholds(("red", None), ("green", 0)),
        description="Realised today plus unrealised at the last marks, after commissions.",
    ), 4, 6)
    layout.add(stat(
        "Daily loss vs limit",
        f"sum(vspread_risk_daily_loss_usd{{{SEL}}}) / sum(vspread_risk_daily_loss_limit_usd{{{SEL}}})",
        unit="percentunit", steps=thresholds(("green", None), ("yellow", 0.8), ("red", 1)),
        description="The day's loss as the risk gate counts it over risk.max_daily_loss; entries halt at 100 %.",
    ), 4, 6)
    layout.add(stat(
        "Positions", f"sum(vspread_positions_open{{{SEL}}})", decimals=0,
        description="Spreads held (limit: trading.max_positions).",
    ), 4, 6)
    layout.add(series("P&L today", [
        (f"sum(vspread_pnl_realised_today{{{SEL}}})", "realised"),
        (f"sum(vspread_pnl_unrealised{{{SEL}}})", "unrealised"),
    ], unit="currencyUSD"), 12, 6)
    layout.add(series("Cumulative realised P&L", [
        (f"sum(vspread_pnl_realised_total{{{SEL}}})", "realised, all closed spreads"),
    ], unit="currencyUSD"), 12, 8)
    layout.add(series("Positions vs limit", [
        (f"sum(vspread_positions_open{{{SEL}}})", "held"),
        (f"sum(vspread_risk_max_positions{{{SEL}}})", "trading.max_positions"),
    ]), 12, 8)
    layout.row("Orders")
    layout.add(series("Orders ended by outcome", [
        (f"sum by (purpose, outcome) (increase(vspread_orders_ended_total{{{SEL}}}[$__rate_interval]))",
         "{{purpose}} {{outcome}}"),
    ], bars=True, stack=True), 12, 8)
    layout.add(series("Fill rate (24 h, by purpose)", [
        (f'(sum by (purpose) (increase(vspread_orders_ended_total{{{SEL}, outcome="filled"}}[24h]))'
         f" or sum by (purpose) (increase(vspread_orders_ended_total{{{SEL}}}[24h])) * 0)"
         f" / sum by (purpose) (increase(vspread_orders_ended_total{{{SEL}}}[24h]))", "{{purpose}}"),
    ], unit="percentunit", steps=thresholds(("red", None), ("yellow", 0.95), ("green", 0.98))), 12, 8)
    layout.add(series("Slippage vs mid, % of width",
                      quantiles("vspread_order_slippage_width_ratio", SEL, by="purpose", qs=(0.5, 0.95)),
                      unit="percentunit",
                      description="How far fills were from the mid at decision, as a share of the spread's width."),
               8, 8)
    layout.add(series("Signal to order and to fill",
                      quantiles("vspread_signal_to_order_seconds", SEL, qs=(0.5, 0.95), prefix="order ")
                      + quantiles("vspread_signal_to_fill_seconds", SEL, qs=(0.5, 0.95), prefix="fill "),
                      unit="s"), 8, 8)
    layout.add(series("Order execution time (placement to end)",
                      quantiles("vspread_order_execution_seconds", SEL, qs=(0.5, 0.95)), unit="s"), 8, 8)
    layout.row("Refusals")
    layout.add(series("Entries refused by rule", [
        (f"sum by (rule) (increase(vspread_decisions_refused_total{{{SEL}}}[$__rate_interval]))", "{{rule}}"),
    ], bars=True, stack=True), 24, 8)


def engine(layout):
    layout.row("State")
    layout.add(stat(
        "Engine", f"max(vspread_engine_paused{{{SEL}}})",
        steps=thresholds(("green", None), ("orange", 1)),
        mappings=[{"type": "value", "options": {
            "0": {"text": "RUNNING", "color": "green", "index": 0},
            "1": {"text": "PAUSED", "color": "orange", "index": 1}}}],
    ), 4, 4)
    layout.add(stat(
        "Trading window", f"max(vspread_trading_window_open{{{SEL}}})",
        mappings=[{"type": "value", "options": {
            "0": {"text": "CLOSED", "color": "blue", "index": 0},
            "1": {"text": "OPEN", "color": "green", "index": 1}}}],
    ), 4, 4)
    layout.add(stat("Config generation", f"max(vspread_config_generation{{{SEL}}})", decimals=0), 4, 4)
    layout.add(stat(
        "Since the last scan", f"max(vspread_scan_last_completed_age_seconds{{{SEL}}})", unit="s",
        description="On the engine's clock; alerted past three scan intervals while the window is open.",
    ), 4, 4)
    layout.add({
        "type": "table",
        "title": "Build",
        "datasource": PROM,
        "targets": [target(f"max by (instance, version, revision) (vspread_build_info{{{SEL}}})", instant=True)],
        "transformations": [{"id": "labelsToFields", "options": {}}],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": {"showHeader": True},
    }, 8, 4)
    layout.row("Scans and decisions")
    layout.add(series("Scans per minute", [
        (f"sum(rate(vspread_scans_total{{{SEL}}}[$__rate_interval])) * 60", "scans/min"),
    ]), 8, 8)
    layout.add(series("Scan duration (chain acquisition and scan)",
                      quantiles("vspread_scan_duration_seconds", SEL, qs=(0.5, 0.95))
                      + quantiles("vspread_scan_compute_duration_seconds", SEL, qs=(0.95,), prefix="scanner "),
                      unit="s", steps=thresholds(("green", None), ("yellow", 0.1), ("red", 0.5))), 8, 8)
    layout.add(series("Candidates of the last scan", [
        (f"vspread_scan_candidates{{{SEL}}}", "{{instance}}"),
    ]), 8, 8)
    layout.add(series("Decision latency (last quote to order)",
                      quantiles("vspread_decision_latency_seconds", SEL), unit="s"), 12, 8)
    layout.add(series("Since the last scan vs three intervals", [
        (f"vspread_scan_last_completed_age_seconds{{{SEL}}}", "since last scan"),
        (f"3 * vspread_trading_scan_interval_seconds{{{SEL}}}", "alert at"),
    ], unit="s"), 12, 8)
    layout.row("Config")
    layout.add(series("Applies by result", [
        (f"sum by (result) (increase(vspread_config_applies_total{{{SEL}}}[$__rate_interval]))", "{{result}}"),
        (f"sum(increase(vspread_config_reload_errors_total{{{SEL}}}[$__rate_interval]))", "reload refused"),
    ], bars=True), 12, 8)
    layout.add(series("Apply interruption (cycles held back)",
                      quantiles("vspread_config_apply_interruption_seconds", SEL, qs=(0.5, 0.99)), unit="s"),
               12, 8)
    layout.row("Journal and API")
    layout.add(series("Journal fsync", quantiles("vspread_journal_fsync_duration_seconds", SEL, qs=(0.5, 0.99)),
                      unit="s", steps=thresholds(("green", None), ("red", 0.25))), 8, 8)
    layout.add(series("API latency p99 by route",
                      quantiles("vspread_http_request_duration_seconds", f'{API}, route!="/api/v1/ws"',
                                by="route", qs=(0.99,)),
                      unit="s", steps=thresholds(("green", None), ("yellow", 0.2), ("red", 1))), 8, 8)
    layout.add(series("API errors by route and status", [
        (f'sum by (route, status) (rate(vspread_http_requests_total{{{SEL}, status=~"[45].."}}[$__rate_interval]))',
         "{{status}} {{route}}"),
    ], unit="reqps", bars=True, stack=True), 8, 8)
    layout.add(series("Events published per second", [
        (f"sum(rate(vspread_events_published_total{{{SEL}}}[$__rate_interval]))", "events/s"),
    ]), 24, 6)
    layout.row("Journal storage")
    layout.add(stat(
        "Journal", f"min(vspread_journal_writable{{{SEL}}})",
        steps=thresholds(("red", None), ("green", 1)),
        mappings=[{"type": "value", "options": {
            "0": {"text": "ENTRIES REFUSED", "color": "red", "index": 0},
            "1": {"text": "WRITABLE", "color": "green", "index": 1}}}],
        description="0 while the data dir is low on space or a journal write failed: new entries are refused, "
                    "exits and working orders go on (docs/operations.md, \"A full disk\").",
    ), 4, 8)
    layout.add(series("Data dir free space and reserve", [
        (f"vspread_journal_free_bytes{{{SEL}}}", "free {{instance}}"),
        (f"vspread_journal_reserve_bytes{{{SEL}}}", "reserve {{instance}}"),
    ], unit="bytes"), 10, 8)
    layout.add(series("Records held for the journal", [
        (f"vspread_journal_pending_writes{{{SEL}}}", "trading records held {{instance}}"),
        (f"sum(increase(vspread_journal_write_errors_total{{{SEL}}}[$__rate_interval]))", "failed writes"),
        (f"sum(increase(vspread_journal_events_dropped_total{{{SEL}}}[$__rate_interval]))", "events given up"),
    ], description="Fills, commissions, order ends and closures the journal refused are held and retried; "
                   "narrative events beyond the backlog are given up and counted."), 10, 8)
    layout.row("Event stream and authentication")
    layout.add(series("Event stream clients and cut-offs", [
        (f"sum(vspread_websocket_clients{{{SEL}}})", "clients"),
        (f"sum by (reason) (increase(vspread_websocket_cut_off_total{{{SEL}}}[$__rate_interval]))",
         "cut off {{reason}}"),
    ], description="A client that falls behind (lagging) or stops reading (stuck) is told and closed."), 12, 8)
    layout.add(series("Refused credentials and TLS reloads", [
        (f"sum by (result) (rate(vspread_auth_failures_total{{{SEL}}}[$__rate_interval])) * 60",
         "auth {{result}}/min"),
        (f"sum by (result) (increase(vspread_tls_reloads_total{{{SEL}}}[$__rate_interval]))", "TLS {{result}}"),
    ], description="Requests refused for a bad or missing token or ticket (rejected) or for an address that "
                   "failed too often (limited, 429); certificate loads by the running server."), 12, 8)
    layout.row("Notifications")
    layout.add(series("Notifications per minute by target", [
        (f"sum by (target) (rate(vspread_notify_sent_total{{{SEL}}}[$__rate_interval])) * 60", "sent {{target}}"),
        (f"sum by (target) (rate(vspread_notify_failed_total{{{SEL}}}[$__rate_interval])) * 60",
         "failed {{target}}"),
        (f"sum by (target) (rate(vspread_notify_dropped_total{{{SEL}}}[$__rate_interval])) * 60",
         "dropped {{target}}"),
    ], description="[notify] webhooks: delivered, given up after their tries, dropped from a full queue."),
        12, 8)
    layout.add(series("Notification queue and retries", [
        (f"sum by (target) (vspread_notify_queue_depth{{{SEL}}})", "queued {{target}}"),
        (f"sum by (target) (increase(vspread_notify_retries_total{{{SEL}}}[$__rate_interval]))",
         "retries {{target}}"),
    ]), 12, 8)


DASHBOARDS = {
    "gateway.json": dashboard(
        "vspread-gateway", "vspread — Gateway",
        "The link to TWS / IB Gateway: state and connects, IB errors by code, market data lines against "
        "their budget, the request queue and throttling.", gateway),
    "trading.json": dashboard(
        "vspread-trading", "vspread — Trading",
        "P&L today and cumulative, positions, orders by outcome, fill rate, slippage as a share of width, "
        "signal-to-fill time and refusals by rule.", trading),
    "engine.json": dashboard(
        "vspread-engine", "vspread — Engine",
        "Scans, decisions, config applies and reloads, the journal's fsync and storage, the admin API, the "
        "event stream and refused credentials, notifications, and the log.",
        engine, with_logs=True),
}


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    stale = []
    for name, d in DASHBOARDS.items():
        path = OUT / name
        text = render(d)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run python3 deploy/grafana/dashboards.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
