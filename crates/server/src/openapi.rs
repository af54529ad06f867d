//! The OpenAPI 3.1 document of `/api/v1`, built from one table of
//! endpoints and from the same `schemars` schemas the handlers' types and
//! the config model derive, so the document cannot drift from the code.
//! The web UI generates its API types from it.

use std::sync::OnceLock;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value as Json, json};
use vspread_core::config::config_schema;

use crate::routes::status::Status;

/// One operation of the API.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// Component schema name of the JSON request body, if any.
    body: Option<&'static str>,
    /// Status code, description, component schema name of the response.
    responses: &'static [(u16, &'static str, Option<&'static str>)],
    /// Read-only tokens may call it.
    viewer: bool,
}

const ERR: Option<&str> = Some("Error");

/// Operations whose body may be left out.
const OPTIONAL_BODIES: &[&str] = &["/positions/{spread_ref}/close"];

const OPS: &[Op] = &[
    Op {
        method: "get",
        path: "/status",
        summary: "Engine state, mode, trading window, config version and last reload error",
        body: None,
        responses: &[(200, "Status", Some("Status"))],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/openapi.json",
        summary: "This document",
        body: None,
        responses: &[(200, "OpenAPI document", None)],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/config",
        summary: "The whole config in force, as JSON; its version in the ETag header",
        body: None,
        responses: &[(200, "Config", Some("Config"))],
        viewer: true,
    },
    Op {
        method: "put",
        path: "/config",
        summary: "Apply a whole config (needs If-Match with the ETag): validate, back up, write atomically, swap (new cycles held back for the swap only), resume; each changed key says how it takes effect (live, reconnect, restart)",
        body: Some("Config"),
        responses: &[
            (
                200,
                "Applied: timings, backup id and changed keys",
                Some("ApplyReport"),
            ),
            (412, "Stale version", ERR),
            (422, "Invalid: every bad key path, nothing written", ERR),
            (428, "If-Match missing", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/config/schema",
        summary: "JSON Schema of the config",
        body: None,
        responses: &[(200, "JSON Schema", None)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/validate",
        summary: "Validate a config without applying it",
        body: Some("Config"),
        responses: &[(200, "Valid", None), (422, "Invalid", ERR)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/diff",
        summary: "Dry run: the keys a config would change",
        body: Some("Config"),
        responses: &[
            (200, "Changed keys", Some("KeyChanges")),
            (422, "Invalid", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/config/backups",
        summary: "Config backups, newest first, each with the keys the save that took it changed (what rolling back to it would undo)",
        body: None,
        responses: &[(200, "Backups", Some("Backups"))],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/config/rollback",
        summary: "Restore a backup through the apply path",
        body: Some("RollbackRequest"),
        responses: &[
            (200, "Applied", Some("ApplyReport")),
            (404, "No such backup", ERR),
            (422, "The backup is invalid", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/config/history",
        summary: "Config applies, rollbacks and control actions from the journal, newest first, with who, when and the changed keys (?limit=n)",
        body: None,
        responses: &[
            (200, "History", Some("ConfigHistory")),
            (400, "Bad query", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/control/pause",
        summary: "Pause at once: no new decision (a running cycle stops at its next stage); working orders go on by their plan",
        body: None,
        responses: &[(200, "Paused", Some("ControlReport"))],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/control/resume",
        summary: "Resume",
        body: None,
        responses: &[(200, "Running", Some("ControlReport"))],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/control/kill-switch",
        summary: "Engage or release the kill switch: at once (working entries cancelled before the answer), then recorded as risk.kill_switch through the normal save; never refused",
        body: Some("KillSwitchRequest"),
        responses: &[(200, "Set", Some("KillSwitchReport"))],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/scans/latest",
        summary: "The latest scan of each underlying (a decision cycle's or the scanner watch's): every ranked spread with the decision taken on it, the filter funnel, the near misses, its age; and every watched underlying with its scan's age and whether a signal is live on it",
        body: None,
        responses: &[(200, "Latest scans", Some("LatestScans"))],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/preview",
        summary: "Everything about a spread before it is sent, nothing placed: both legs (bid/ask/mid, IV, delta, gamma, theta, vega) and the net greeks; the net mid and natural; max profit and loss in money, breakevens; the scanner's price, max profit/loss, breakeven, probability of profit, EV and score (the same numbers a scan ranks it by) and each [scanner] filter's verdict; the gateway's what-if (margin changes, commission, equity with loan after) and the buying power after; the sizing bounds; every rule of the risk gate that would refuse it, with its numbers and config key; the walk the order would take. Read-only tokens may preview.",
        body: Some("OrderTicket"),
        responses: &[
            (200, "The preview", Some("PreviewReport")),
            (400, "The body is not JSON", ERR),
            (
                409,
                "no_market: no two-sided market, underlying price or IV to price it from now",
                ERR,
            ),
            (
                422,
                "invalid_request: details.errors names each bad field (an unknown symbol, expiry or strike; strikes the kind cannot have or whose net at the mids is not inside (0, width), which the scanner's rules forbid; a missing or mistyped field; a value out of range)",
                ERR,
            ),
            (503, "gateway: the gateway did not answer", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/orders",
        summary: "Place a spread by hand: previewed as /preview does (the what-if as [execution] what_if says), then through the bot's risk gate and sizing bounds, journaled and handed to the order manager as purpose manual, walked from the mid toward the natural ([execution], or the limit settings given) and booked as a position when it fills; audited (manual.entry / manual.refused events, the journaled order's context name who). Refused while the kill switch is engaged, and in live mode unless [execution] manual_orders_live is true.",
        body: Some("OrderTicket"),
        responses: &[
            (
                202,
                "Handed to the order manager: follow order_ref in /orders, /positions and the event stream",
                Some("ManualPlaced"),
            ),
            (400, "The body is not JSON", ERR),
            (
                409,
                "refused: details.refusals lists every rule that refuses (kill_switch, entry_working, reset_guard, daily_loss, max_positions, max_positions_per_underlying, iv_circuit_breaker, zero_size, oversized, buying_power, manual_in_live, what_if_rejected) with its numbers, config key and message; no_market: nothing to price it from now",
                ERR,
            ),
            (
                422,
                "invalid_request: details.errors names each bad field, as for /preview",
                ERR,
            ),
            (503, "gateway: the gateway did not answer", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "post",
        path: "/positions/{spread_ref}/close",
        summary: "Close a held spread by hand: all of it, with a walked closing order (exit reason manual); the body ({\"limit\": {...}}) may be left out. Never refused by the kill switch or the mode: closing is how an operator leaves the market. Audited (manual.close event).",
        body: Some("CloseRequest"),
        responses: &[
            (202, "Handed to the order manager", Some("ManualClosing")),
            (400, "The body is not JSON", ERR),
            (404, "No held spread of that reference", ERR),
            (
                409,
                "conflict: a closing order already works for it; no_market: no two-sided market to close at",
                ERR,
            ),
            (
                422,
                "invalid_request: details.errors names the bad limit field",
                ERR,
            ),
            (503, "gateway: the gateway did not answer", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/decisions",
        summary: "Per decision cycle and symbol, newest first (?symbol=&limit=n): the signal's conditions (value, threshold, bound, config key, pass/fail), the gate's verdict (every refusing rule with its numbers and key), the scan's funnel, best candidates and near misses, and the outcome; the last 5000 are kept in memory",
        body: None,
        responses: &[
            (200, "Decisions", Some("Decisions")),
            (400, "Bad query", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/kpis",
        summary: "How the trading went over the last ?days=n days of the engine's clock (all the journal holds without it): fill rate overall and by purpose, slippage against the decision's mid as a % of the width, signal to order, signal to fill and time to fill, win rate, R, expectancy, realised P&L, drawdown, refusals by rule, and each of the plan's targets (fill rate > 98 %, median slippage < 0.5 % of width, p95 signal to order < 2 s) against the measured value; computed from the journal as `vspread report` computes them",
        body: None,
        responses: &[(200, "KPIs", Some("Kpis")), (400, "Bad query", ERR)],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/symbols/{symbol}/bars",
        summary: "Daily bars of an underlying with the RSI and ATR the signals read (each strategy's periods; each bar's values over the signals' window ending at it), from the gateway's history, paced (?days=n)",
        body: None,
        responses: &[
            (200, "Bars", Some("Bars")),
            (400, "Bad query", ERR),
            (
                422,
                "invalid_request: details.errors names the symbol the gateway does not know",
                ERR,
            ),
            (503, "gateway: the gateway did not answer", ERR),
        ],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/positions",
        summary: "Held spreads at their last marks: stop and target levels, DTE, max profit and loss in money, breakevens, POP, net greeks, each leg's role, strike and greeks; the day's P&L",
        body: None,
        responses: &[(200, "Positions", Some("Positions"))],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/orders",
        summary: "Orders from the journal, newest first (?status=working|done&limit=n), each with every limit step (price and time), its combo fills as they arrived and its slippage versus the mid",
        body: None,
        responses: &[(200, "Orders", Some("Orders")), (400, "Bad query", ERR)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/orders/{order_ref}/cancel",
        summary: "Cancel a working order (the order manager sends the cancel at once; the end arrives as order.ended)",
        body: None,
        responses: &[
            (202, "Cancel requested", None),
            (404, "No such order", ERR),
            (409, "Not working", ERR),
        ],
        viewer: false,
    },
    Op {
        method: "get",
        path: "/trades",
        summary: "Closed spreads, newest first, with realised P&L after commissions (?limit=n)",
        body: None,
        responses: &[(200, "Trades", Some("Trades")), (400, "Bad query", ERR)],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/events",
        summary: "Event history (?after=seq&limit=n)",
        body: None,
        responses: &[(200, "Events", Some("Events")), (400, "Bad query", ERR)],
        viewer: true,
    },
    Op {
        method: "get",
        path: "/ws",
        summary: "WebSocket streaming every event as JSON (?ticket= from POST /ws/ticket, or an Authorization header; ?after=seq replays history first)",
        body: None,
        responses: &[(101, "Switching protocols", None)],
        viewer: true,
    },
    Op {
        method: "post",
        path: "/ws/ticket",
        summary: "A single-use ticket for the event stream, valid 30 s: GET /ws?ticket= authenticates with it, so no long-lived token goes into a URL",
        body: None,
        responses: &[(200, "Ticket", Some("WsTicket"))],
        viewer: true,
    },
];

fn schema_of<T: JsonSchema>() -> Json {
    let mut v = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            // The document describes what the server sends, so a type
            // whose input form is looser (a Decimal read from a number)
            // is shown as it is written.
            s.contract = schemars::generate::Contract::Serialize;
        })
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(o) = v.as_object_mut() {
        o.remove("$schema");
    }
    v
}

fn components() -> Map<String, Json> {
    let mut config = config_schema().clone();
    if let Some(o) = config.as_object_mut() {
        o.remove("$schema");
    }
    let mut c = Map::new();
    c.insert("Config".into(), config);
    c.insert("Status".into(), schema_of::<Status>());
    c.insert(
        "KeyChanges".into(),
        json!({ "type": "array", "items": schema_of::<vspread_core::config::KeyChange>() }),
    );
    c.insert(
        "ApplyReport".into(),
        schema_of::<vspread_engine::config_service::ApplyReport>(),
    );
    c.insert(
        "ControlReport".into(),
        schema_of::<vspread_engine::engine::ControlReport>(),
    );
    c.insert(
        "WsTicket".into(),
        schema_of::<crate::routes::events::WsTicket>(),
    );
    c.insert(
        "KillSwitchReport".into(),
        schema_of::<vspread_engine::engine::KillSwitchReport>(),
    );
    c.insert(
        "Backups".into(),
        json!({ "type": "array", "items": schema_of::<vspread_engine::config_service::BackupChanges>() }),
    );
    c.insert(
        "RollbackRequest".into(),
        json!({
            "type": "object", "required": ["id"], "properties": { "id": { "type": "string" } }
        }),
    );
    c.insert("KillSwitchRequest".into(), json!({
        "type": "object", "required": ["engaged"], "properties": { "engaged": { "type": "boolean" } }
    }));
    // Every event kind with its data: one variant per kind, tagged by
    // `kind` (the UI matches on it).
    c.insert("Event".into(), schema_of::<vspread_engine::events::Event>());
    c.insert(
        "Events".into(),
        json!({ "type": "array", "items": { "$ref": "#/components/schemas/Event" } }),
    );
    trading_components(&mut c);
    c.insert(
        "ConfigHistory".into(),
        json!({ "type": "object", "required": ["entries"], "properties": {
        "entries": { "type": "array", "items": all_required(json!({ "type": "object", "properties": {
            "at": { "type": "string", "format": "date-time" }, "kind": { "type": "string" },
            "message": { "type": "string" }, "data": {} } })) } } }),
    );
    c.insert("Error".into(), json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
            "code": { "type": "string" },
            "message": { "type": "string" },
            "details": { "description": "For invalid_config: { errors: [{ path, kind, value, message, allowed, location }] }; for invalid_request: { errors: [{ field, message }] }; for refused: { refusals: [{ rule, key, message, ...its numbers }] }; for stale_version: { current_version }" }
        } } }
    }));
    c
}

/// Schemas of the trading views and of trading by hand, from the types the
/// handlers send. Decimal money and prices are strings.
fn trading_components(c: &mut Map<String, Json>) {
    use crate::routes::trading;
    use vspread_engine::manual;
    let dec = json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" });
    let dec_or_null = json!({ "type": ["string", "null"] });
    let time = json!({ "type": "string", "format": "date-time" });
    let date = json!({ "type": "string", "format": "date" });
    c.insert("LatestScans".into(), schema_of::<trading::LatestScans>());
    c.insert(
        "Positions".into(),
        schema_of::<vspread_engine::views::PositionsView>(),
    );
    c.insert("Orders".into(), schema_of::<trading::Orders>());
    c.insert("OrderTicket".into(), schema_of::<manual::OrderTicket>());
    c.insert("PreviewReport".into(), schema_of::<manual::PreviewReport>());
    c.insert("ManualPlaced".into(), schema_of::<manual::ManualPlaced>());
    c.insert("CloseRequest".into(), schema_of::<manual::CloseRequest>());
    c.insert("ManualClosing".into(), schema_of::<manual::ManualClosing>());
    c.insert(
        "Decisions".into(),
        schema_of::<crate::routes::decisions::Decisions>(),
    );
    c.insert("Bars".into(), schema_of::<vspread_engine::bars::BarsView>());
    c.insert("Kpis".into(), schema_of::<vspread_engine::kpis::Kpis>());
    c.insert(
        "Trades".into(),
        json!({ "type": "object", "required": ["trades"], "properties": {
        "trades": { "type": "array", "items": all_required(json!({ "type": "object", "properties": {
            "spread_ref": { "type": "string" }, "underlying": { "type": "string" },
            "kind": { "type": "string" }, "expiry": date, "long_strike": dec, "short_strike": dec,
            "quantity": dec, "credit": { "type": "boolean" }, "opened_at": time, "closed_at": time,
            "entry_price": dec_or_null, "reason": { "type": "string" }, "realised_pnl": dec,
            "r_multiple": { "type": ["number", "null"] }, "commissions": dec } })) },
        "realised_total": dec } }),
    );
}

/// `schema` with every property required: the views serialise every
/// field (absent values as null), and clients may rely on that.
fn all_required(mut schema: Json) -> Json {
    let names: Vec<Json> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().map(Json::String).collect())
        .unwrap_or_default();
    schema["required"] = Json::Array(names);
    schema
}

/// The query parameters of a path.
fn query_parameters(path: &str) -> Vec<Json> {
    let int = |name: &str, description: &str| {
        json!({ "name": name, "in": "query", "required": false, "description": description,
            "schema": { "type": "integer", "minimum": 0 } })
    };
    match path {
        "/orders" => vec![
            json!({ "name": "status", "in": "query", "required": false,
                "description": "working: not ended; done: ended",
                "schema": { "type": "string", "enum": ["working", "done"] } }),
            int(
                "limit",
                "At most this many, newest first (default 500, 1 to 5000)",
            ),
        ],
        "/trades" => vec![int(
            "limit",
            "At most this many, newest first (default 500, 1 to 5000)",
        )],
        "/decisions" => vec![
            json!({ "name": "symbol", "in": "query", "required": false,
                "description": "Only this symbol's decisions",
                "schema": { "type": "string" } }),
            int(
                "limit",
                "At most this many, newest first (default 100, 1 to 5000)",
            ),
        ],
        "/symbols/{symbol}/bars" => vec![int("days", "Bars wanted (default 120, 1 to 1000)")],
        "/kpis" => vec![int(
            "days",
            "The last this many days of the engine's clock (1 to 3650); all the journal holds without it",
        )],
        "/config/history" => vec![int(
            "limit",
            "At most this many, newest first (default 100, 1 to 1000)",
        )],
        "/events" => vec![
            int("after", "Only events with a larger sequence number"),
            int("limit", "At most this many (default 200, 1 to 1000)"),
        ],
        "/ws" => vec![
            int(
                "after",
                "Replay the events after this sequence number first",
            ),
            json!({ "name": "ticket", "in": "query", "required": false,
                "description": "A ticket from POST /ws/ticket (browsers cannot set headers on a WebSocket); works once, for 30 s",
                "schema": { "type": "string" } }),
        ],
        _ => Vec::new(),
    }
}

/// The document, built once.
pub fn document() -> &'static Json {
    static DOC: OnceLock<Json> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut paths = Map::new();
        for op in OPS {
            let mut responses = Map::new();
            for (code, description, schema) in op.responses {
                let mut r = json!({ "description": description });
                if let Some(name) = schema {
                    r["content"] = json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{name}") } } });
                }
                responses.insert(code.to_string(), r);
            }
            responses.insert("401".into(), json!({ "description": "Missing or invalid token" }));
            responses.insert("429".into(), json!({
                "description": "Too many failed authentications from this address (Retry-After says when to try again)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            }));
            if !op.viewer {
                responses.insert("403".into(), json!({ "description": "Read-only token" }));
            }
            let mut operation = json!({
                "summary": op.summary,
                "operationId": format!("{}{}", op.method, op.path.replace(['/', '-'], "_")),
                "responses": responses,
            });
            let mut params: Vec<Json> = op
                .path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
                .collect();
            params.extend(query_parameters(op.path));
            if !params.is_empty() {
                operation["parameters"] = Json::Array(params);
            }
            if let Some(body) = op.body {
                operation["requestBody"] = json!({
                    "required": !OPTIONAL_BODIES.contains(&op.path),
                    "content": { "application/json": {
                    "schema": { "$ref": format!("#/components/schemas/{body}") } } } });
            }
            let entry = paths
                .entry(op.path.to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            entry[op.method] = operation;
        }
        json!({
            "openapi": "3.1.0",
            "info": { "title": "vspread admin API", "version": env!("CARGO_PKG_VERSION") },
            "servers": [{ "url": "/api/v1" }],
            "security": [{ "bearer": [] }],
            "components": {
                "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
                "schemas": components(),
            },
            "paths": paths,
        })
    })
}
