//! `GET /api/v1/status`: everything the status bar shows.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::Serialize;
use vspread_core::config::{ConfigErrors, TradingMode};
use vspread_engine::control::EngineState;
use vspread_engine::schedule::window_open;
use vspread_engine::trader::RiskUsage;

use crate::state::AppState;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Status {
    pub engine: EngineStatus,
    /// The broker layer's link to the gateway.
    pub gateway: GatewayStatus,
    /// The engine's time (the simulator's in the demo).
    pub now: String,
    #[schemars(with = "String")]
    pub mode: TradingMode,
    pub trading_window: TradingWindow,
    pub config: ConfigStatus,
    /// How much of the risk gate's limits is in use: the day's loss
    /// against `risk.max_daily_loss`, positions against the maxima.
    pub risk: RiskUsage,
    pub uptime_s: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct EngineStatus {
    /// running or paused.
    pub state: EngineState,
    /// Who or what paused it.
    pub paused_by: Option<String>,
    pub paused_for_s: Option<f64>,
    /// The kill switch as in force now.
    pub kill_switch: bool,
    /// Recovery has finished and decisions are being made.
    pub recovered: bool,
    /// Orders the order manager is working now.
    pub working_orders: usize,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct GatewayStatus {
    /// host:port of TWS / IB Gateway (or the simulator).
    pub address: String,
    /// The gateway answers requests.
    pub connected: bool,
    /// disconnected, connecting, connected, ready, gateway_disconnected
    /// (TWS lost IB), backoff (waiting to reconnect).
    pub state: String,
    /// The API server version negotiated on the last connection.
    pub server_version: Option<i64>,
    pub connects: u64,
    pub disconnects: u64,
    /// Market data lines held and the budget.
    pub lines_active: i64,
    pub lines_max: i64,
    /// The message rate the broker keeps to (`[pacing]`).
    pub max_messages_per_sec: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TradingWindow {
    pub schedule_enabled: bool,
    /// Whether the window is open now; null when the schedule is disabled.
    pub open: Option<bool>,
    pub start_time_utc: String,
    pub stop_time_utc: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfigStatus {
    /// Content version of the file in force (the config ETag).
    pub version: String,
    pub generation: u64,
    pub loaded_at: String,
    pub path: String,
    pub last_reload_error: Option<ReloadErrorView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ReloadErrorView {
    pub at: String,
    pub message: String,
    /// Each error with key path and line:column, when the file was readable.
    #[schemars(with = "Option<serde_json::Value>")]
    pub errors: Option<ConfigErrors>,
}

pub async fn status(State(state): State<AppState>) -> Json<Status> {
    let engine = &state.engine;
    let snap = engine.live().current();
    let config = &snap.config;
    let schedule = &config.trading_schedule;
    let paused = engine.pause_reason();
    let now = engine.clock().now();
    let link = engine.link_status();
    Json(Status {
        engine: EngineStatus {
            state: engine.state(),
            paused_by: paused.as_ref().map(|(r, _)| match r {
                vspread_engine::control::PauseReason::Operator(who) => who.clone(),
                vspread_engine::control::PauseReason::Apply => "config apply".into(),
            }),
            paused_for_s: paused.map(|(_, d)| d.as_secs_f64()),
            kill_switch: engine.kill_switch_engaged(),
            recovered: engine.recovered(),
            working_orders: engine.working_orders().len(),
        },
        gateway: GatewayStatus {
            address: link.address.clone(),
            connected: link.ready,
            state: link.state.name().to_string(),
            server_version: link.server_version.map(i64::from),
            connects: link.connects,
            disconnects: link.disconnects,
            lines_active: link.lines_active,
            lines_max: i64::try_from(link.max_lines).unwrap_or(i64::MAX),
            max_messages_per_sec: link.max_messages_per_sec,
        },
        now: now.to_rfc3339(),
        mode: config.trading.mode,
        trading_window: TradingWindow {
            schedule_enabled: schedule.enabled,
            open: window_open(schedule, now),
            start_time_utc: schedule.start_time_utc.to_string(),
            stop_time_utc: schedule.stop_time_utc.to_string(),
        },
        config: ConfigStatus {
            version: snap.version.clone(),
            generation: snap.generation,
            loaded_at: snap.loaded_at.to_rfc3339(),
            path: engine.live().path().display().to_string(),
            last_reload_error: engine.live().last_reload_error().map(|e| ReloadErrorView {
                at: e.at.to_rfc3339(),
                message: e.message.clone(),
                errors: e.errors.clone(),
            }),
        },
        risk: engine.risk_usage(),
        uptime_s: engine.uptime().as_secs_f64(),
    })
}
