//! The admin API end to end: the real router over a real engine (built by
//! its builder on a real config file, a SQLite journal and the broker layer
//! connected to a `vspread sim` over TCP). Most tests call the router
//! directly (no socket); the WebSocket test binds port 0.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use vspread_core::config::default_file_text;
use vspread_engine::control::EngineState;
use vspread_server::{AppState, Auth, Metrics, app};

#[path = "support/conformance.rs"]
mod conformance;
#[path = "support/engine.rs"]
mod engine;

const ADMIN: &str = "admin-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    state: AppState,
    running: engine::Running,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, default_file_text()).unwrap();
    let running = engine::start(dir.path(), &path).await;
    let state = AppState {
        engine: running.engine.clone(),
        auth: Arc::new(Auth::new(ADMIN, Some(VIEWER.into()))),
        metrics: Arc::new(Metrics::new()),
    };
    Fixture {
        _dir: dir,
        path,
        state,
        running,
    }
}

async fn call(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(v) = if_match {
        req = req.header(header::IF_MATCH, v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    assert_documented(state, method, uri, status, &value).await;
    (status, headers, value)
}

/// The OpenAPI document as the server serves it.
async fn served_document(state: &AppState) -> Value {
    let req = Request::builder()
        .uri("/api/v1/openapi.json")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::empty())
        .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "the OpenAPI document");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Every answer of every test is checked against the OpenAPI document the
/// server serves: a field sent but not documented, or documented as
/// required but not sent, or of another type, fails the test that saw it.
async fn assert_documented(
    state: &AppState,
    method: &str,
    uri: &str,
    status: StatusCode,
    value: &Value,
) {
    let doc = served_document(state).await;
    if let Some(schema) = conformance::response_schema(&doc, method, uri, status.as_u16()) {
        let departures = conformance::departures(&doc, schema, value);
        assert!(
            departures.is_empty(),
            "{method} {uri} answered {status} off the document:\n{}",
            departures.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_needs_a_token_and_viewers_only_read() {
    let f = fixture().await;
    let (s, h, body) = call(&f.state, "GET", "/api/v1/status", None, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
    assert_eq!(body["error"]["code"], "unauthorized");
    let (s, _, _) = call(
        &f.state,
        "GET",
        "/api/v1/status",
        Some("wrong-token-xxxxxxx"),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _, body) = call(&f.state, "GET", "/api/v1/status", Some(VIEWER), None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["engine"]["state"], "running");
    assert_eq!(body["mode"], "paper");
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/control/pause",
        Some(VIEWER),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    // Probes and metrics need no token.
    let (s, _, _) = call(&f.state, "GET", "/healthz", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&f.state, "GET", "/readyz", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_then_put_applies_with_backup_timings_and_the_new_etag() {
    let f = fixture().await;
    let before = std::fs::read_to_string(&f.path).unwrap();
    let (s, h, mut config) = call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    assert_eq!(
        etag,
        format!("\"{}\"", f.state.engine.live().current().version)
    );
    config["exits"]["stop_loss_atr_mult"] = json!(1.5);

    let (s, h, report) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(config.clone()),
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["changes"][0]["path"], "exits.stop_loss_atr_mult");
    assert!(report["backup_id"].is_string());
    assert!(report["timings_ms"]["interruption"].as_f64().unwrap() >= 0.0);
    assert_eq!(report["engine_resumed"], true);
    assert_ne!(h[header::ETAG].to_str().unwrap(), etag);
    let after = std::fs::read_to_string(&f.path).unwrap();
    assert!(after.contains("stop_loss_atr_mult = 1.5"), "{after}");
    // The user's comments survive the edit.
    assert!(after.contains("# Close when the underlying moves this many ATRs"));
    assert_ne!(before, after);
    assert_eq!(
        f.state
            .engine
            .live()
            .current()
            .config
            .exits
            .stop_loss_atr_mult,
        1.5
    );
    assert_eq!(f.state.engine.state(), EngineState::Running);

    // The same ETag again is stale now: 412, nothing written.
    config["exits"]["stop_loss_atr_mult"] = json!(1.7);
    let (s, _, body) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(config),
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert_eq!(body["error"]["code"], "stale_version");
    assert_eq!(std::fs::read_to_string(&f.path).unwrap(), after);

    // The apply is on the event stream and in the metrics.
    let (_, _, events) = call(&f.state, "GET", "/api/v1/events", Some(ADMIN), None, None).await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"config.applied"), "{kinds:?}");
    let (_, _, metrics) = call(&f.state, "GET", "/metrics", None, None, None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("vspread_config_applies_total{result=\"applied\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("vspread_config_apply_interruption_seconds_count 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_put_names_every_bad_key_and_writes_nothing() {
    let f = fixture().await;
    let before = std::fs::read(&f.path).unwrap();
    let (_, h, mut config) = call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    config["exits"]["stop_loss_atr_mult"] = json!(-1);
    config["scanner"]["kinds"] = json!(["iron_condor"]);
    config["trading"]["mood"] = json!("bullish");
    let (s, _, body) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(config),
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let paths: Vec<&str> = body["error"]["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    for p in [
        "exits.stop_loss_atr_mult",
        "scanner.kinds[0]",
        "trading.mood",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    assert_eq!(std::fs::read(&f.path).unwrap(), before, "nothing written");
    let backups = f.path.parent().unwrap().join("backups");
    assert!(
        !backups.exists() || std::fs::read_dir(&backups).unwrap().count() == 0,
        "no backup written"
    );
    // Malformed JSON gets the same error shape.
    let req = Request::builder()
        .method("PUT")
        .uri("/api/v1/config")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .header(header::IF_MATCH, etag)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let response = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // A PUT without If-Match is refused.
    let (s, _, _) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_REQUIRED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_diff_backups_and_rollback() {
    let f = fixture().await;
    let (_, h, mut config) = call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    config["trading"]["max_positions"] = json!(7);
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/config/validate",
        Some(VIEWER),
        Some(config.clone()),
        None,
    )
    .await;
    assert_eq!((s, body["valid"].clone()), (StatusCode::OK, json!(true)));
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/config/diff",
        Some(VIEWER),
        Some(config.clone()),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body,
        json!([{ "path": "trading.max_positions", "old": 5, "new": 7, "applies": "live" }])
    );
    let original = std::fs::read_to_string(&f.path).unwrap();
    let (s, _, _) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(config),
        Some(&etag),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, backups) = call(
        &f.state,
        "GET",
        "/api/v1/config/backups",
        Some(ADMIN),
        None,
        None,
    )
    .await;
    let id = backups[0]["id"].as_str().unwrap().to_string();
    let (s, _, report) = call(
        &f.state,
        "POST",
        "/api/v1/config/rollback",
        Some(ADMIN),
        Some(json!({ "id": id })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["changes"][0]["path"], "trading.max_positions");
    assert_eq!(
        f.state.engine.live().current().config.trading.max_positions,
        5
    );
    assert_eq!(std::fs::read_to_string(&f.path).unwrap(), original);
    let (s, _, _) = call(
        &f.state,
        "POST",
        "/api/v1/config/rollback",
        Some(ADMIN),
        Some(json!({ "id": "nope" })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_and_kill_switch_are_audited() {
    let f = fixture().await;
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/control/pause",
        Some(ADMIN),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["state"], "paused");
    let (_, _, status) = call(&f.state, "GET", "/api/v1/status", Some(ADMIN), None, None).await;
    assert_eq!(status["engine"]["state"], "paused");
    // Who: the token's role and name (no client address: this test drives
    // the router without a socket).
    assert_eq!(status["engine"]["paused_by"], "admin:admin");
    let (_, _, metrics) = call(&f.state, "GET", "/metrics", None, None, None).await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("vspread_engine_paused 1")
    );
    let (s, _, body) = call(
        &f.state,
        "POST",
        "/api/v1/control/resume",
        Some(ADMIN),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, body["state"].clone()),
        (StatusCode::OK, json!("running"))
    );
    let (s, _, report) = call(
        &f.state,
        "POST",
        "/api/v1/control/kill-switch",
        Some(ADMIN),
        Some(json!({ "engaged": true })),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["engaged"], true);
    assert_eq!(report["changed"], true);
    assert!(report["saved"]["version"].is_string(), "{report}");
    assert!(f.state.engine.live().current().config.risk.kill_switch);
    assert!(f.state.engine.kill_switch_engaged());
    assert!(
        std::fs::read_to_string(&f.path)
            .unwrap()
            .contains("kill_switch = true")
    );
    let (_, _, events) = call(&f.state, "GET", "/api/v1/events", Some(ADMIN), None, None).await;
    let events = events.as_array().unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| *k != "api.write")
        .collect();
    assert_eq!(
        kinds,
        [
            "control.paused",
            "control.resumed",
            "control.kill_switch",
            "config.applied"
        ]
    );
    assert_eq!(events[0]["data"]["who"], "admin:admin");
    // Each of the three writes is audited once answered.
    let audited: Vec<(&str, i64)> = events
        .iter()
        .filter(|e| e["kind"] == "api.write")
        .map(|e| {
            assert_eq!(e["data"]["token"], "admin");
            assert_eq!(e["data"]["role"], "admin");
            (
                e["data"]["path"].as_str().unwrap(),
                e["data"]["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audited,
        [
            ("/api/v1/control/pause", 200),
            ("/api/v1/control/resume", 200),
            ("/api/v1/control/kill-switch", 200)
        ]
    );
}

/// The web UI's types are generated from its copy of the document
/// (`web/src/lib/api/openapi.json`); this keeps that copy the server's.
/// `VSPREAD_UPDATE_OPENAPI=1 cargo test -p vspread-server --test api`
/// rewrites it; then `npm run api:types` in `web/` regenerates the types.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uis_copy_of_the_document_is_the_servers() {
    let f = fixture().await;
    let doc = served_document(&f.state).await;
    let copy_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/src/lib/api/openapi.json"
    );
    // Numbers as JavaScript writes them (1.0 as 1), as `npm run
    // api:refresh` saves the document.
    fn js_numbers(v: &Value) -> Value {
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
                _ => Value::Number(n.clone()),
            },
            Value::Array(a) => Value::Array(a.iter().map(js_numbers).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), js_numbers(v))).collect())
            }
            other => other.clone(),
        }
    }
    if std::env::var_os("VSPREAD_UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&js_numbers(&doc)).unwrap() + "\n";
        std::fs::write(copy_path, text).unwrap();
    }
    let copy: Value = serde_json::from_slice(&std::fs::read(copy_path).unwrap()).unwrap();
    assert!(
        js_numbers(&copy) == js_numbers(&doc),
        "{copy_path} is not the server's OpenAPI document: \
         run VSPREAD_UPDATE_OPENAPI=1 cargo test -p vspread-server --test api, \
         then npm run api:types in web/"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route_with_the_config_schema() {
    let f = fixture().await;
    let doc = served_document(&f.state).await;
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/status",
        "/config",
        "/config/schema",
        "/config/validate",
        "/config/diff",
        "/config/backups",
        "/config/rollback",
        "/control/pause",
        "/control/resume",
        "/control/kill-switch",
        "/events",
        "/ws",
        "/scans/latest",
        "/positions",
        "/orders",
        "/orders/{order_ref}/cancel",
        "/trades",
        "/config/history",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing");
    }
    assert_eq!(
        doc["components"]["schemas"]["Config"]["properties"]["exits"]["properties"]["stop_loss_atr_mult"]
            ["minimum"],
        0.1
    );
    // Every documented path answers something other than 404 when called.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if path == "/ws" {
                continue;
            }
            let (s, _, body) = call(
                &f.state,
                &method.to_uppercase(),
                &format!("/api/v1{}", path.replace("{order_ref}", "vs-unknown")),
                Some(ADMIN),
                None,
                None,
            )
            .await;
            // A route may say its resource is missing, never that it is.
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(
                s != StatusCode::NOT_FOUND || !message.starts_with("no such endpoint"),
                "{method} {path}: {s} {body}"
            );
        }
    }
    let (s, _, body) = call(&f.state, "GET", "/api/v1/nope", Some(ADMIN), None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

mod trading {
    //! `scans/latest`, `positions`, `orders` (+ cancel) and `trades`: the
    //! trader's views and a real journal file behind the routes.

    use chrono::{DateTime, NaiveDate, TimeZone, Utc};
    use rust_decimal::Decimal;
    use vspread_core::journal::{Journal, JournalLeg, JournaledOrder, OrderEnd, SpreadClosure};
    use vspread_core::{BrokerOrderId, ConId, Execution, OrderEvent, Side};
    use vspread_core::{OrderPurpose, Right, SpreadKind};
    use vspread_engine::decision::scan::{FunnelView, KindFunnelView};
    use vspread_engine::events::NearMiss;
    use vspread_engine::views::{PositionView, PositionsView, ScanRowView, ScanSource, ScanView};

    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn t(sec: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_795_000_000 + sec, 0).unwrap()
    }

    fn leg(con_id: i64, strike: &str) -> JournalLeg {
        JournalLeg {
            con_id: ConId(con_id),
            strike: d(strike),
            right: Right::Call,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
            exchange: "SMART".into(),
            trading_class: "QQQ".into(),
            local_symbol: format!("QQQ C{strike}"),
            multiplier: d("100"),
            min_tick: d("0.01"),
        }
    }

    fn order(order_ref: &str, purpose: OrderPurpose, spread_ref: &str, at: i64) -> JournaledOrder {
        JournaledOrder {
            order_ref: order_ref.into(),
            purpose,
            spread_ref: spread_ref.into(),
            symbol: "QQQ".into(),
            currency: "USD".into(),
            kind: SpreadKind::BullCall,
            long: leg(11, "480"),
            short: leg(12, "485"),
            quantity: 2,
            limit: d("2.10"),
            credit: purpose == OrderPurpose::Exit,
            mid: d("2.12"),
            reason: "high_base".into(),
            context: "{}".into(),
            created_at: t(at),
        }
    }

    fn combo_fill(id: &str, order_ref: &str, action: Side, price: &str) -> OrderEvent {
        OrderEvent::Execution(Execution {
            exec_id: id.into(),
            order_id: BrokerOrderId(7),
            order_ref: order_ref.into(),
            con_id: ConId(99),
            side: action,
            quantity: d("2"),
            price: d(price),
            cumulative_quantity: d("2"),
            average_price: d(price),
            time: "20261120 15:30:00".into(),
            combo: true,
        })
    }

    fn end(outcome: &str, at: i64) -> OrderEnd {
        OrderEnd {
            outcome: outcome.into(),
            detail: format!("{outcome} in a test"),
            at: t(at),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_and_positions_show_the_traders_views() {
        let f = fixture().await;
        let (s, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/scans/latest",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(body["scans"], json!([]));
        // The watch covers the universe (the default `[scanner] watch`),
        // nothing scanned yet.
        assert_eq!(body["watch"].as_array().unwrap().len(), 8);
        assert_eq!(body["watch"][0]["symbol"], "SPY");
        assert_eq!(body["watch"][0]["scanned_at"], Value::Null);
        f.state.engine.views().record_scan(ScanView {
            underlying: "QQQ".into(),
            at: t(0),
            source: ScanSource::Trader,
            kinds: vec!["bull_call"],
            quote_requests: 12,
            candidates: 40,
            funnel: FunnelView(vec![(
                "bull_call".into(),
                KindFunnelView {
                    candidates: 40,
                    removed: vec![("min_pop", 39)],
                    passed: 1,
                    kept: 1,
                },
            )]),
            results: vec![ScanRowView {
                rank: 1,
                underlying: "QQQ".into(),
                kind: "bull_call",
                expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
                dte: 26,
                long_strike: 480.0,
                short_strike: 485.0,
                width: 5.0,
                price: 2.1,
                natural: 2.3,
                max_profit: 2.9,
                max_loss: 2.1,
                breakeven: 482.1,
                pop: 0.55,
                ev: 0.12,
                score: 0.4,
                decision_id: Some("c1-QQQ".into()),
                order_ref: None,
            }],
            top_rejected: vec![NearMiss {
                kind: SpreadKind::BullCall,
                expiry: 20261218,
                long: 485.0,
                short: 490.0,
                price: 1.2,
                pop: 0.3,
                score: -0.2,
                removed_by: "min_pop".into(),
                threshold: 0.35,
            }],
            signal: None,
            decision: None,
        });
        let (_, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/scans/latest",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        let scan = &body["scans"][0];
        assert_eq!(scan["underlying"], "QQQ");
        assert_eq!(scan["funnel"]["bull_call"]["removed"]["min_pop"], 39);
        assert_eq!(scan["results"][0]["expiry"], "2026-12-18");
        assert_eq!(scan["results"][0]["score"], 0.4);

        f.state.engine.views().set_positions(PositionsView {
            positions: vec![PositionView {
                entry_ref: "vs-e".into(),
                underlying: "QQQ".into(),
                kind: "bull_call",
                expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
                dte: 26,
                long_strike: d("480"),
                short_strike: d("485"),
                quantity: 2,
                credit: false,
                entry_price: Some(d("2.10")),
                opened_at: t(0),
                entry_underlying: 481.5,
                mark: Some(d("2.30")),
                marked_at: Some(t(60)),
                underlying_last: Some(482.0),
                unrealised_pnl: Some(d("40.00")),
                realised_pnl: d("-2.60"),
                stop_underlying: 475.25,
                target_price: Some(d("3.55")),
                profit_pct: Some(13.8),
                opened_by: OrderPurpose::Entry,
                max_profit: Some(d("580")),
                max_loss: Some(d("420")),
                breakevens: vec![d("482.10")],
                pop: Some(0.48),
                greeks: None,
                legs: vec![],
                closing_order: None,
            }],
            realised_today: d("-2.60"),
            unrealised: d("40.00"),
            updated_at: Some(t(60)),
        });
        let (s, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/positions",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let p = &body["positions"][0];
        assert_eq!(p["entry_ref"], "vs-e");
        assert_eq!(p["mark"], "2.30", "money is an exact decimal string");
        assert_eq!(p["stop_underlying"], 475.25);
        assert_eq!(p["target_price"], "3.55");
        assert_eq!(body["unrealised"], "40.00");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn orders_list_and_an_operator_cancels_only_a_working_driven_order() {
        let f = fixture().await;
        let j = &f.running.journal;
        j.record_order(&order("vs-a-e0", OrderPurpose::Entry, "vs-a-e0", 0))
            .unwrap();
        j.record_order_end("vs-a-e0", &end("cancelled", 30))
            .unwrap();
        j.record_order(&order("vs-b-e0", OrderPurpose::Entry, "vs-b-e0", 60))
            .unwrap();

        let (s, _, body) = call(&f.state, "GET", "/api/v1/orders", Some(VIEWER), None, None).await;
        assert_eq!(s, StatusCode::OK);
        let refs: Vec<&str> = body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_ref"].as_str().unwrap())
            .collect();
        assert_eq!(refs, vec!["vs-b-e0", "vs-a-e0"], "newest first");
        assert_eq!(body["orders"][1]["outcome"], "cancelled");
        assert_eq!(body["orders"][0]["limit"], "2.10");
        let (_, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/orders?status=working",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(body["orders"].as_array().unwrap().len(), 1);
        assert_eq!(body["orders"][0]["working"], true);
        assert_eq!(body["orders"][0]["cancellable"], false);
        let (_, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/orders?status=done",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(body["orders"][0]["order_ref"], "vs-a-e0");
        let (s, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/orders?limit=0",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        let (s, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/orders?status=bogus",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        // In the API's error shape, naming the parameter and the value.
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("status") && message.contains("bogus"),
            "{message}"
        );

        let cancel = |r: &str| format!("/api/v1/orders/{r}/cancel");
        let (s, _, _) = call(
            &f.state,
            "POST",
            &cancel("vs-b-e0"),
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a viewer may not cancel");
        let (s, _, body) = call(
            &f.state,
            "POST",
            &cancel("vs-nope"),
            Some(ADMIN),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        let (s, _, body) = call(
            &f.state,
            "POST",
            &cancel("vs-a-e0"),
            Some(ADMIN),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "an ended order: {body}");
        // Journaled but not being driven by this engine (left from before
        // a restart, which recovery ends): refused.
        let (s, _, body) = call(
            &f.state,
            "POST",
            &cancel("vs-b-e0"),
            Some(ADMIN),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CONFLICT, "{body}");

        // An order the order manager works: resting far below the market
        // at the simulated gateway, an hour between steps.
        let working = resting_order(&f, "vs-00000000000000e1-e0").await;
        f.state
            .engine
            .orders()
            .submit(working, Box::new(|_| Box::pin(async {})))
            .unwrap();
        let placed = Instant::now();
        while f
            .running
            .broker
            .order_id_of("vs-00000000000000e1-e0")
            .is_none()
        {
            assert!(placed.elapsed() < std::time::Duration::from_secs(10));
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (_, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/orders?status=working",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        let listed = body["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_ref"] == "vs-00000000000000e1-e0")
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(listed["cancellable"], true);
        let (s, _, body) = call(
            &f.state,
            "POST",
            &cancel("vs-00000000000000e1-e0"),
            Some(ADMIN),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{body}");
        let audit = f.state.engine.events().recent(50);
        assert!(
            audit.iter().any(|e| e.kind() == "order.cancel_requested"),
            "audited"
        );
        // Cancelled at the gateway, and its end journaled.
        let asked = Instant::now();
        loop {
            let ended = j
                .orders()
                .unwrap()
                .into_iter()
                .find(|o| o.order.order_ref == "vs-00000000000000e1-e0")
                .and_then(|o| o.end);
            if let Some(end) = ended {
                assert_eq!(end.outcome, "cancelled");
                break;
            }
            assert!(
                asked.elapsed() < std::time::Duration::from_secs(10),
                "never ended"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// A one-lot SPY bull call at the simulated gateway, priced far below
    /// its mid, walking once an hour: it works until cancelled.
    async fn resting_order(f: &Fixture, order_ref: &str) -> vspread_engine::orders::OrderPlan {
        use vspread_core::broker::Broker;
        use vspread_core::{NetPrice, OptionContract, OrderRequest, Price, VerticalSpread};
        let broker = &f.running.broker;
        let params = broker.option_chain("SPY").await.unwrap();
        let expiry = params[0].expirations[4];
        let stock = broker.stock("SPY").await.unwrap();
        let spot = broker.snapshot(&stock).await.unwrap();
        let spot = spot.last.or(spot.mid()).unwrap();
        let low = *params[0].strikes.iter().find(|k| **k >= spot).unwrap();
        let option = |strike: Decimal| {
            OptionContract::builder()
                .underlying("SPY")
                .expiry(expiry)
                .strike(Price::new(strike))
                .right(Right::Call)
                .build()
                .unwrap()
        };
        let long = broker.option(&option(low)).await.unwrap();
        let short = broker
            .option(&option(low + Decimal::from(5)))
            .await
            .unwrap();
        let spread = VerticalSpread::from_legs(
            SpreadKind::BullCall,
            long.option().unwrap().clone(),
            short.option().unwrap().clone(),
        )
        .unwrap();
        let price = NetPrice::Debit(d("0.05"));
        let request =
            OrderRequest::vertical(order_ref, spread, OrderPurpose::Entry, 1, price).unwrap();
        let journal_leg = |c: &vspread_core::ContractInfo| {
            vspread_engine::decision::order::journal_leg(c).unwrap()
        };
        vspread_engine::orders::OrderPlan {
            record: JournaledOrder {
                order_ref: order_ref.into(),
                purpose: OrderPurpose::Entry,
                spread_ref: order_ref.into(),
                symbol: "SPY".into(),
                currency: "USD".into(),
                kind: SpreadKind::BullCall,
                long: journal_leg(&long),
                short: journal_leg(&short),
                quantity: 1,
                limit: d("0.05"),
                credit: false,
                mid: d("0.05"),
                reason: "test".into(),
                context: "{}".into(),
                created_at: t(90),
            },
            request,
            walk: vspread_engine::orders::PriceWalk {
                prices: vec![price],
                interval: std::time::Duration::from_secs(3600),
                timeout: std::time::Duration::from_secs(7200),
            },
            reprice: None,
            decided_at: Instant::now(),
            signal_at: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trades_are_closed_spreads_with_their_realised_pnl() {
        let f = fixture().await;
        let j = &f.running.journal;
        j.record_order(&order("vs-c-e0", OrderPurpose::Entry, "vs-c-e0", 0))
            .unwrap();
        j.record_order_event(&combo_fill("x1", "vs-c-e0", Side::Buy, "2.10"), t(1))
            .unwrap();
        j.record_order_end("vs-c-e0", &end("filled", 2)).unwrap();
        j.record_order(&order("vs-c-x0", OrderPurpose::Exit, "vs-c-e0", 100))
            .unwrap();
        j.record_order_event(&combo_fill("x2", "vs-c-x0", Side::Sell, "2.50"), t(101))
            .unwrap();
        j.record_order_end("vs-c-x0", &end("filled", 102)).unwrap();
        // A spread still open is not a trade.
        j.record_order(&order("vs-d-e0", OrderPurpose::Entry, "vs-d-e0", 200))
            .unwrap();
        j.record_order_event(&combo_fill("x3", "vs-d-e0", Side::Buy, "1.00"), t(201))
            .unwrap();
        let (_, _, body) = call(&f.state, "GET", "/api/v1/trades", Some(VIEWER), None, None).await;
        assert_eq!(body["trades"], json!([]), "no closure recorded yet");

        j.record_closure(&SpreadClosure {
            spread_ref: "vs-c-e0".into(),
            reason: "profit_target".into(),
            realised: d("80.00"),
            r_multiple: Some(0.19),
            at: t(103),
        })
        .unwrap();
        let (s, _, body) = call(&f.state, "GET", "/api/v1/trades", Some(VIEWER), None, None).await;
        assert_eq!(s, StatusCode::OK);
        let trades = body["trades"].as_array().unwrap();
        assert_eq!(trades.len(), 1, "{body}");
        assert_eq!(trades[0]["spread_ref"], "vs-c-e0");
        assert_eq!(trades[0]["reason"], "profit_target");
        assert_eq!(trades[0]["realised_pnl"], "80.00");
        assert_eq!(trades[0]["entry_price"], "2.1");
        assert_eq!(body["realised_total"], "80.00");
    }

    /// The value of the sample `name` (with its labels as written) in a
    /// /metrics text.
    fn sample(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing in:\n{text}"))
            .parse()
            .unwrap()
    }

    async fn scrape(f: &Fixture) -> String {
        let (s, _, body) = call(&f.state, "GET", "/metrics", None, None, None).await;
        assert_eq!(s, StatusCode::OK);
        body.as_str().unwrap().to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_reloads_and_cut_offs_exist_at_zero_before_the_first() {
        // deploy/metrics.yaml lists them as exported; a labelled family
        // shows in the exposition only once it has a label set.
        let f = fixture().await;
        let m = scrape(&f).await;
        for series in [
            "vspread_auth_failures_total{result=\"rejected\"}",
            "vspread_auth_failures_total{result=\"limited\"}",
            "vspread_tls_reloads_total{result=\"loaded\"}",
            "vspread_tls_reloads_total{result=\"failed\"}",
            "vspread_websocket_cut_off_total{reason=\"lagging\"}",
            "vspread_websocket_cut_off_total{reason=\"stuck\"}",
        ] {
            assert_eq!(sample(&m, series), 0.0, "{series}");
        }
        // A refused request moves its series.
        let (s, _, _) = call(&f.state, "GET", "/api/v1/status", None, None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let m = scrape(&f).await;
        assert_eq!(
            sample(&m, "vspread_auth_failures_total{result=\"rejected\"}"),
            1.0
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn operators_series_start_truthful_and_move_with_what_they_count() {
        use vspread_core::clock::Clock as _;
        use vspread_engine::events::{
            DecisionRefused, EngineEvent, OrderEnded, OrderPlaced, ScanCompleted,
        };
        use vspread_engine::orders::OrderEnd as End;
        use vspread_engine::risk::Refusal;
        let f = fixture().await;
        let m = scrape(&f).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let started = sample(&m, "process_start_time_seconds");
        assert!(
            started > now - 3600.0 && started <= now,
            "{started} vs {now}"
        );
        let build = m
            .lines()
            .find(|l| l.starts_with("vspread_build_info{"))
            .unwrap_or_else(|| panic!("no build info in:\n{m}"));
        assert!(
            build.starts_with("vspread_build_info{version=\"0.1.0\",revision=\""),
            "{build}"
        );
        assert!(build.ends_with("} 1"), "{build}");
        // Every rule's refusals, and every purpose's fills, from the start.
        for rule in Refusal::RULES {
            assert_eq!(
                sample(
                    &m,
                    &format!("vspread_decisions_refused_total{{rule=\"{rule}\"}}")
                ),
                0.0
            );
        }
        assert_eq!(
            sample(
                &m,
                "vspread_orders_ended_total{purpose=\"exit\",outcome=\"rejected\"}"
            ),
            0.0
        );
        assert_eq!(
            sample(
                &m,
                "vspread_order_slippage_width_ratio_count{purpose=\"entry\"}"
            ),
            0.0
        );
        // The limits in force, the schedule on the engine's clock (Monday
        // 15:00 UTC: the window is open, the restart is at 04:45).
        assert_eq!(sample(&m, "vspread_risk_daily_loss_limit_usd"), 1000.0);
        assert_eq!(sample(&m, "vspread_risk_max_positions"), 5.0);
        assert_eq!(sample(&m, "vspread_trading_scan_interval_seconds"), 300.0);
        assert_eq!(sample(&m, "vspread_trading_window_open"), 1.0);
        assert_eq!(sample(&m, "vspread_gateway_daily_restart_window"), 0.0);
        assert_eq!(sample(&m, "vspread_scan_last_completed_age_seconds"), 0.0);
        assert_eq!(sample(&m, "vspread_risk_daily_loss_usd"), 0.0);
        assert_eq!(
            sample(&m, "vspread_journal_fsync_duration_seconds_count"),
            0.0
        );
        assert_eq!(sample(&m, "vspread_pnl_realised_total"), 0.0);

        // What they count happens.
        let events = f.state.engine.events();
        events.publish(
            "QQQ refused",
            EngineEvent::DecisionRefused(DecisionRefused {
                symbol: "QQQ".into(),
                refusal: Refusal::DailyLoss {
                    loss: d("1000"),
                    limit: d("1000"),
                },
            }),
        );
        events.publish(
            "placed",
            EngineEvent::OrderPlaced(OrderPlaced {
                symbol: "QQQ".into(),
                order_ref: "vs-m-e0".into(),
                purpose: OrderPurpose::Entry,
                order_id: 1,
                price: vspread_core::NetPrice::Debit(d("2.10")),
                quantity: 1,
                signal_to_order_ms: Some(2500.0),
            }),
        );
        events.publish(
            "ended",
            EngineEvent::OrderEnded(OrderEnded {
                symbol: "QQQ".into(),
                order_ref: "vs-m-e0".into(),
                purpose: OrderPurpose::Entry,
                end: End::Filled,
                filled: d("1"),
                quantity: 1,
                steps: 1,
                execution_ms: 20_000,
                commissions: d("1.30"),
                average_net: Some(d("2.20")),
                mid: d("2.10"),
                decision_latency_us: 1500,
                journal_us: 900,
                slippage_width_ratio: Some(0.02),
                signal_to_fill_ms: Some(27_500.0),
            }),
        );
        events.publish(
            "scanned",
            EngineEvent::ScanCompleted(ScanCompleted {
                symbol: "QQQ".into(),
                kinds: vec![],
                results: 0,
                candidates: 10,
                quote_requests: 0,
                naive_requests: 0,
                duration_ms: 400.0,
                compute_ms: 3.0,
                best: None,
                top: vec![],
                funnel: vspread_engine::decision::scan::FunnelView::default(),
                top_rejected: vec![],
            }),
        );
        // A scan the operator sees (its time is the last completed scan's).
        f.state.engine.views().record_scan(ScanView {
            underlying: "QQQ".into(),
            at: f.running.clock.now(),
            source: vspread_engine::views::ScanSource::Trader,
            kinds: vec![],
            quote_requests: 0,
            candidates: 10,
            funnel: vspread_engine::decision::scan::FunnelView::default(),
            results: vec![],
            top_rejected: vec![],
            signal: None,
            decision: None,
        });
        f.running.clock.advance(chrono::Duration::seconds(90));
        f.state.engine.views().set_positions(PositionsView {
            positions: vec![],
            realised_today: d("-300"),
            unrealised: d("-200"),
            updated_at: None,
        });
        // A limit changed through the API, a synced journal write, a
        // closed trade taken up by recovery.
        let (_, headers, mut config) =
            call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
        config["trading"]["max_positions"] = json!(7);
        config["risk"]["max_daily_loss"] = json!(2500.0);
        let etag = headers[header::ETAG].to_str().unwrap().to_string();
        let (s, _, _) = call(
            &f.state,
            "PUT",
            "/api/v1/config",
            Some(ADMIN),
            Some(config),
            Some(&etag),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let j = &f.running.journal;
        j.record_order(&order("vs-c-e0", OrderPurpose::Entry, "vs-c-e0", 0))
            .unwrap();
        j.record_order_event(&combo_fill("x1", "vs-c-e0", Side::Buy, "2.10"), t(1))
            .unwrap();
        j.record_order_end("vs-c-e0", &end("filled", 2)).unwrap();
        j.record_order(&order("vs-c-x0", OrderPurpose::Exit, "vs-c-e0", 100))
            .unwrap();
        j.record_order_event(&combo_fill("x2", "vs-c-x0", Side::Sell, "2.50"), t(101))
            .unwrap();
        j.record_order_end("vs-c-x0", &end("filled", 102)).unwrap();
        j.record_closure(&SpreadClosure {
            spread_ref: "vs-c-e0".into(),
            reason: "profit_target".into(),
            realised: d("80.00"),
            r_multiple: Some(0.19),
            at: t(103),
        })
        .unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), f.state.engine.recover())
            .await
            .expect("recovery against the sim");
        let (s, _, _) = call(&f.state, "GET", "/api/v1/status", Some(VIEWER), None, None).await;
        assert_eq!(s, StatusCode::OK);

        let m = scrape(&f).await;
        assert_eq!(
            sample(&m, "vspread_decisions_refused_total{rule=\"daily_loss\"}"),
            1.0
        );
        assert_eq!(
            sample(&m, "vspread_decisions_refused_total{rule=\"kill_switch\"}"),
            0.0
        );
        assert_eq!(sample(&m, "vspread_signal_to_order_seconds_sum"), 2.5);
        assert_eq!(sample(&m, "vspread_signal_to_fill_seconds_sum"), 27.5);
        assert_eq!(
            sample(
                &m,
                "vspread_order_slippage_width_ratio_count{purpose=\"entry\"}"
            ),
            1.0
        );
        assert_eq!(
            sample(
                &m,
                "vspread_order_slippage_width_ratio_bucket{le=\"0.02\",purpose=\"entry\"}"
            ),
            1.0
        );
        assert_eq!(
            sample(
                &m,
                "vspread_order_slippage_width_ratio_bucket{le=\"0.01\",purpose=\"entry\"}"
            ),
            0.0
        );
        assert_eq!(sample(&m, "vspread_decision_latency_seconds_sum"), 0.0015);
        assert_eq!(
            sample(&m, "vspread_scan_compute_duration_seconds_sum"),
            0.003
        );
        assert_eq!(sample(&m, "vspread_scan_last_completed_age_seconds"), 90.0);
        assert_eq!(sample(&m, "vspread_risk_daily_loss_usd"), 500.0);
        assert_eq!(sample(&m, "vspread_risk_max_positions"), 7.0);
        assert_eq!(sample(&m, "vspread_risk_daily_loss_limit_usd"), 2500.0);
        assert_eq!(sample(&m, "vspread_pnl_realised_total"), 80.0);
        assert!(sample(&m, "vspread_journal_fsync_duration_seconds_count") >= 6.0);
        assert!(sample(&m, "vspread_journal_fsync_duration_seconds_sum") > 0.0);
        assert_eq!(
            sample(
                &m,
                "vspread_http_request_duration_seconds_count{route=\"/api/v1/status\",method=\"GET\"}"
            ),
            1.0
        );
        assert_eq!(
            sample(
                &m,
                "vspread_http_request_duration_seconds_count{route=\"/api/v1/config\",method=\"PUT\"}"
            ),
            1.0
        );

        // The gateway's nightly restart, on the engine's clock: Tuesday
        // 04:50 UTC, outside the trading window.
        let restart = Utc.with_ymd_and_hms(2026, 11, 24, 4, 50, 0).unwrap();
        f.running.clock.set(restart);
        let m = scrape(&f).await;
        assert_eq!(sample(&m, "vspread_gateway_daily_restart_window"), 1.0);
        assert_eq!(sample(&m, "vspread_trading_window_open"), 0.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_fold_orders_scans_positions_and_pnl() {
    let f = fixture().await;
    use vspread_engine::events::{EngineEvent, OrderEnded, ScanCompleted};
    use vspread_engine::orders::OrderEnd;
    let ended = |purpose, end, execution_ms| {
        EngineEvent::OrderEnded(OrderEnded {
            symbol: "QQQ".into(),
            order_ref: "vs-1".into(),
            purpose,
            end,
            filled: rust_decimal::Decimal::ONE,
            quantity: 1,
            steps: 0,
            execution_ms,
            commissions: rust_decimal::Decimal::ZERO,
            average_net: None,
            mid: rust_decimal::Decimal::ONE,
            decision_latency_us: 0,
            journal_us: 0,
            slippage_width_ratio: None,
            signal_to_fill_ms: None,
        })
    };
    let events = f.state.engine.events();
    events.publish(
        "an entry filled",
        ended(vspread_core::OrderPurpose::Entry, OrderEnd::Filled, 1500),
    );
    events.publish(
        "an exit timed out",
        ended(vspread_core::OrderPurpose::Exit, OrderEnd::TimedOut, 90000),
    );
    events.publish(
        "QQQ scanned",
        EngineEvent::ScanCompleted(ScanCompleted {
            symbol: "QQQ".into(),
            kinds: vec![],
            results: 0,
            candidates: 1234,
            quote_requests: 0,
            naive_requests: 0,
            duration_ms: 42.0,
            compute_ms: 3.0,
            best: None,
            top: vec![],
            funnel: Default::default(),
            top_rejected: vec![],
        }),
    );
    f.state
        .engine
        .views()
        .set_positions(vspread_engine::views::PositionsView {
            positions: vec![],
            realised_today: "-12.50".parse().unwrap(),
            unrealised: "40".parse().unwrap(),
            updated_at: None,
        });
    let text = |body: Value| body.as_str().unwrap().to_string();
    let (s, _, body) = call(&f.state, "GET", "/metrics", None, None, None).await;
    assert_eq!(s, StatusCode::OK);
    let m = text(body);
    for line in [
        "vspread_orders_ended_total{purpose=\"entry\",outcome=\"filled\"} 1",
        "vspread_orders_ended_total{purpose=\"exit\",outcome=\"timed_out\"} 1",
        "vspread_order_execution_seconds_count 2",
        "vspread_order_execution_seconds_sum 91.5",
        "vspread_scans_total 1",
        "vspread_scan_candidates 1234",
        "vspread_scan_duration_seconds_sum 0.042",
        "vspread_positions_open 0",
        "vspread_pnl_realised_today -12.5",
        "vspread_pnl_unrealised 40.0",
        "vspread_engine_paused 0",
    ] {
        assert!(m.lines().any(|l| l == line), "{line} missing in:\n{m}");
    }
    // A second scrape folds only what is new.
    let (_, _, body) = call(&f.state, "GET", "/metrics", None, None, None).await;
    assert!(text(body).lines().any(|l| l == "vspread_scans_total 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_history_is_read_back_from_the_journal_with_who_and_what() {
    let f = fixture().await;
    let (_, headers, mut config) =
        call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
    let version = headers[header::ETAG].to_str().unwrap().to_string();
    config["exits"]["stop_loss_atr_mult"] = json!(1.5);
    let (s, _, body) = call(
        &f.state,
        "PUT",
        "/api/v1/config",
        Some(ADMIN),
        Some(config),
        Some(&version),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The event reaches the journal on its writer thread.
    let since = Instant::now();
    let entries = loop {
        let (s, _, body) = call(
            &f.state,
            "GET",
            "/api/v1/config/history",
            Some(VIEWER),
            None,
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let entries = body["entries"].as_array().unwrap().clone();
        if !entries.is_empty() || since.elapsed() > std::time::Duration::from_secs(5) {
            break entries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let applied = entries
        .iter()
        .find(|e| e["kind"] == "config.applied")
        .unwrap_or_else(|| panic!("{entries:?}"));
    assert!(!applied["data"]["who"].as_str().unwrap().is_empty());
    assert_eq!(
        applied["data"]["changes"][0]["path"],
        "exits.stop_loss_atr_mult"
    );
    assert_eq!(applied["data"]["changes"][0]["new"], 1.5);
    let (s, _, _) = call(
        &f.state,
        "GET",
        "/api/v1/config/history?limit=0",
        Some(VIEWER),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

mod websocket {
    //! The event stream over a real socket: every event to a client that
    //! keeps up, in order; a client that falls behind, or stops reading,
    //! cut off and (if it reads at all) told so, its place in the stream
    //! given up.

    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use vspread_engine::events::{ControlResumed, EngineEvent};
    use vspread_server::serve;

    use super::*;

    /// A minimal WebSocket client: the upgrade, then frames as they come.
    struct Client {
        stream: TcpStream,
        buffered: Vec<u8>,
    }

    /// One frame from the server: its opcode and payload.
    struct Frame {
        opcode: u8,
        payload: Vec<u8>,
    }

    impl Client {
        async fn connect(addr: std::net::SocketAddr) -> Client {
            Self::resume(addr, None).await
        }

        /// Connects with `?after=` when given.
        async fn resume(addr: std::net::SocketAddr, after: Option<u64>) -> Client {
            let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(
                    format!(
                        "GET /api/v1/ws{query} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                         Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {ADMIN}\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await
                .unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                head.push(stream.read_u8().await.unwrap());
            }
            let head = String::from_utf8_lossy(&head);
            assert!(head.starts_with("HTTP/1.1 101"), "{head}");
            Client {
                stream,
                buffered: Vec::new(),
            }
        }

        async fn fill(&mut self, n: usize) -> bool {
            let mut chunk = [0u8; 16 * 1024];
            while self.buffered.len() < n {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return false,
                    Ok(k) => self.buffered.extend_from_slice(&chunk[..k]),
                }
            }
            true
        }

        /// The next frame; `None` once the connection is closed.
        async fn frame(&mut self) -> Option<Frame> {
            if !self.fill(2).await {
                return None;
            }
            let opcode = self.buffered[0] & 0x0f;
            let (len, header) = match self.buffered[1] & 0x7f {
                126 => {
                    self.fill(4).await.then_some(())?;
                    (
                        u16::from_be_bytes([self.buffered[2], self.buffered[3]]) as usize,
                        4,
                    )
                }
                127 => {
                    self.fill(10).await.then_some(())?;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&self.buffered[2..10]);
                    (u64::from_be_bytes(b) as usize, 10)
                }
                n => (n as usize, 2),
            };
            self.fill(header + len).await.then_some(())?;
            let payload = self.buffered[header..header + len].to_vec();
            self.buffered.drain(..header + len);
            Some(Frame { opcode, payload })
        }
    }

    async fn served() -> (Fixture, std::net::SocketAddr) {
        let f = fixture().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve(listener, f.state.clone(), std::future::pending()));
        (f, addr)
    }

    async fn metric(state: &AppState, name: &str) -> String {
        let (_, _, body) = call(state, "GET", "/metrics", None, None, None).await;
        body.as_str()
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with(name))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn publish(state: &AppState, n: usize, padding: usize) -> u64 {
        let who = "x".repeat(padding);
        let bus = state.engine.events();
        for _ in 0..n {
            bus.publish_quietly(
                "resumed",
                EngineEvent::ControlResumed(ControlResumed { who: who.clone() }),
            );
        }
        bus.last_seq()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_keeps_up_gets_everything_and_one_that_lags_is_cut_off_and_told() {
        let (f, addr) = served().await;
        let mut fast = Client::connect(addr).await;
        let mut slow = Client::connect(addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            metric(&f.state, "vspread_websocket_clients")
                .await
                .ends_with(" 2")
        );
        let first = f.state.engine.events().last_seq() + 1;
        let total = 6_000u64;
        let batch = 100u64;
        // How far the fast client has read, and whether publishing is done.
        let progress = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let publisher = {
            let (state, progress, done) = (f.state.clone(), progress.clone(), done.clone());
            tokio::spawn(async move {
                for sent in (batch..=total).step_by(batch as usize) {
                    // Large enough that the socket buffers cannot hide a
                    // client that reads slowly.
                    publish(&state, batch as usize, 8 * 1024);
                    // Paced by the fast client, so it never falls behind
                    // however busy the machine is.
                    let since = Instant::now();
                    while progress.load(Ordering::SeqCst) + 2 * batch < sent
                        && since.elapsed() < Duration::from_secs(20)
                    {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                done.store(true, Ordering::SeqCst);
            })
        };
        // The fast client reads everything, in order, without a gap.
        let reader = tokio::spawn(async move {
            let mut expected = first;
            while expected < first + total {
                let frame = fast.frame().await.expect("the fast client stays connected");
                assert_eq!(frame.opcode, 1, "text");
                let event: Value = serde_json::from_slice(&frame.payload).unwrap();
                assert_eq!(event["seq"].as_u64(), Some(expected), "{event}");
                expected += 1;
                progress.store(expected - first, Ordering::SeqCst);
            }
            (expected - first, fast)
        });
        // The slow one reads a frame every 20 ms while events are published
        // (every send to it goes through, so it is behind rather than
        // stuck), then whatever is left at once.
        let mut note = None;
        let mut close = None;
        let since = Instant::now();
        while since.elapsed() < Duration::from_secs(60) {
            let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), slow.frame()).await
            else {
                break;
            };
            match frame.opcode {
                1 => {
                    let v: Value = serde_json::from_slice(&frame.payload).unwrap();
                    if v["kind"] == "stream.cut_off" {
                        note = Some(v);
                    }
                }
                8 => {
                    close = Some(u16::from_be_bytes([frame.payload[0], frame.payload[1]]));
                    break;
                }
                _ => {}
            }
            if !done.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        publisher.await.unwrap();
        let (received, _fast) = reader.await.unwrap();
        assert_eq!(received, total, "every event, in order");
        let note = note.expect("the slow client is told why it is cut off");
        // Behind by more than the limit; on a busy machine one of its sends
        // may wait out the send timeout first (cut off as stuck). Either
        // way it is cut off, told where to resume, and counted.
        let reason = note["reason"].as_str().unwrap_or_default().to_string();
        assert!(reason == "lagging" || reason == "stuck", "{note}");
        assert!(
            note["message"].as_str().unwrap().contains("?after="),
            "{note}"
        );
        assert!(note["resume_after"].as_u64().is_some(), "{note}");
        assert_eq!(close, Some(1013), "closed with 'try again later'");
        assert!(
            metric(&f.state, "vspread_websocket_cut_off_total")
                .await
                .contains(&format!("reason=\"{reason}\"}} 1")),
        );
        assert!(
            metric(&f.state, "vspread_websocket_clients")
                .await
                .ends_with(" 1"),
            "the slow client's place is given up"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn history_further_back_than_memory_is_read_from_the_journal() {
        let (f, addr) = served().await;
        let bus = f.state.engine.events().clone();
        let first = bus.last_seq() + 1;
        let last = publish(&f.state, 1_500, 16);
        assert!(
            bus.oldest_held() > first + 1_000,
            "memory holds only the newest few hundred (from {})",
            bus.oldest_held()
        );
        let seqs = |page: &Value| -> Vec<u64> {
            page.as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_u64().unwrap())
                .collect()
        };
        // A page forward from before memory: the journal's, in order, as
        // the events were published.
        let uri = format!("/api/v1/events?after={}&limit=1000", first - 1);
        let (code, _, page) = call(&f.state, "GET", &uri, Some(ADMIN), None, None).await;
        assert_eq!(code, StatusCode::OK, "{page}");
        assert_eq!(seqs(&page), (first..first + 1_000).collect::<Vec<_>>());
        assert_eq!(page[0]["kind"], "control.resumed");
        assert_eq!(page[0]["data"]["who"], "x".repeat(16));
        assert_eq!(page[0]["message"], "resumed");
        // The next page goes on into memory without a gap.
        let uri = format!("/api/v1/events?after={}&limit=1000", first + 999);
        let (_, _, page) = call(&f.state, "GET", &uri, Some(ADMIN), None, None).await;
        assert_eq!(seqs(&page), (first + 1_000..=last).collect::<Vec<_>>());
        // The newest thousand: the journal's older part, then memory's.
        let (_, _, page) = call(
            &f.state,
            "GET",
            "/api/v1/events?limit=1000",
            Some(ADMIN),
            None,
            None,
        )
        .await;
        assert_eq!(seqs(&page), (last - 999..=last).collect::<Vec<_>>());

        // A stream resumed from before memory gets every event since, in
        // order, then the live ones.
        let mut client = Client::resume(addr, Some(first - 1)).await;
        let mut expected = first;
        while expected <= last {
            let frame = tokio::time::timeout(Duration::from_secs(10), client.frame())
                .await
                .expect("the resume goes on")
                .expect("the client stays connected");
            let event: Value = serde_json::from_slice(&frame.payload).unwrap();
            assert_eq!(event["seq"].as_u64(), Some(expected), "{event}");
            expected += 1;
        }
        let live = publish(&f.state, 1, 16);
        let frame = tokio::time::timeout(Duration::from_secs(10), client.frame())
            .await
            .unwrap()
            .unwrap();
        let event: Value = serde_json::from_slice(&frame.payload).unwrap();
        assert_eq!(event["seq"].as_u64(), Some(live));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_stops_reading_is_cut_off_and_holds_nothing() {
        let (f, addr) = served().await;
        let _silent = Client::connect(addr).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // More than the socket buffers hold, fewer than the lag limit: the
        // server's send waits on the client, and gives up.
        publish(&f.state, 1_500, 8 * 1024);
        let since = Instant::now();
        loop {
            let m = metric(&f.state, "vspread_websocket_cut_off_total").await;
            if m.contains("reason=\"stuck\"} 1") {
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(15),
                "not cut off: {m}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            metric(&f.state, "vspread_websocket_clients")
                .await
                .ends_with(" 0")
        );
    }
}
