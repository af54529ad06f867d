//! Probes and metrics, outside `/api` and without auth.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::AppState;
use vspread_engine::control::EngineState;

/// `GET /healthz`: the process is up and serving.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: ready to serve traffic: the config is loaded. (When the
/// gateway link is wired in, readiness will also require its ready signal.)
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let snapshot = state.live.current();
    (
        StatusCode::OK,
        format!("ready (config generation {})\n", snapshot.generation),
    )
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    m.engine_paused
        .set(i64::from(state.control.state() != EngineState::Running));
    m.config_generation
        .set(state.live.current().generation as i64);
    m.observe(&state);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
}
