//! The admin API end to end: the real router over a real config file,
//! store, live config and control plane. Most tests call the router
//! directly (no socket); the WebSocket test binds port 0.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use vspread_core::config::default_file_text;
use vspread_engine::config_service::ConfigService;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::{ControlPlane, EngineState};
use vspread_engine::events::EventBus;
use vspread_engine::live_config::LiveConfig;
use vspread_server::{AppState, Auth, Metrics, app};

const ADMIN: &str = "admin-token-0123456789";
const VIEWER: &str = "viewer-token-0123456789";

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    state: AppState,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, default_file_text()).unwrap();
    let live = LiveConfig::load(&path).unwrap();
    let control = Arc::new(ControlPlane::new());
    let events = Arc::new(EventBus::new(1000));
    let config = Arc::new(ConfigService {
        store: ConfigStore::new(&path),
        live: live.clone(),
        control: control.clone(),
        events: events.clone(),
    });
    let state = AppState {
        auth: Arc::new(Auth::new(ADMIN, Some(VIEWER.into()))),
        metrics: Arc::new(Metrics::new()),
        live,
        control,
        events,
        config,
        started_at: Instant::now(),
    };
    Fixture {
        _dir: dir,
        path,
        state,
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
    (status, headers, value)
}

#[tokio::test]
async fn every_api_route_needs_a_token_and_viewers_only_read() {
    let f = fixture();
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

#[tokio::test]
async fn get_then_put_applies_with_backup_timings_and_the_new_etag() {
    let f = fixture();
    let before = std::fs::read_to_string(&f.path).unwrap();
    let (s, h, mut config) = call(&f.state, "GET", "/api/v1/config", Some(ADMIN), None, None).await;
    assert_eq!(s, StatusCode::OK);
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", f.state.live.current().version));
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
    assert_eq!(f.state.live.current().config.exits.stop_loss_atr_mult, 1.5);
    assert_eq!(f.state.control.state(), EngineState::Running);

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

#[tokio::test]
async fn an_invalid_put_names_every_bad_key_and_writes_nothing() {
    let f = fixture();
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

#[tokio::test]
async fn validate_diff_backups_and_rollback() {
    let f = fixture();
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
        json!([{ "path": "trading.max_positions", "old": 5, "new": 7 }])
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
    assert_eq!(f.state.live.current().config.trading.max_positions, 5);
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

#[tokio::test]
async fn pause_resume_and_kill_switch_are_audited() {
    let f = fixture();
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
    assert_eq!(status["engine"]["paused_by"], "admin");
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
    assert!(f.state.live.current().config.risk.kill_switch);
    assert!(
        std::fs::read_to_string(&f.path)
            .unwrap()
            .contains("kill_switch = true")
    );
    let (_, _, events) = call(&f.state, "GET", "/api/v1/events", Some(ADMIN), None, None).await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["control.paused", "control.resumed", "config.applied"]
    );
    assert_eq!(events[0]["data"]["who"], "admin");
}

#[tokio::test]
async fn openapi_lists_every_route_with_the_config_schema() {
    let f = fixture();
    let (s, _, doc) = call(
        &f.state,
        "GET",
        "/api/v1/openapi.json",
        Some(ADMIN),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
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
            let (s, _, _) = call(
                &f.state,
                &method.to_uppercase(),
                &format!("/api/v1{path}"),
                Some(ADMIN),
                None,
                None,
            )
            .await;
            assert_ne!(s, StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    let (s, _, body) = call(&f.state, "GET", "/api/v1/nope", Some(ADMIN), None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}
