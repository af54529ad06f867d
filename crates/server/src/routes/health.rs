//! Probes and metrics, outside `/api` and without auth.
//!
//! `/healthz` is liveness: the process and its engine loop are alive (a
//! gateway outage does not fail it, or an orchestrator would restart a
//! healthy engine). `/readyz` is readiness: 200 only while the gateway link
//! answers API requests, the journal takes writes and a config is loaded;
//! otherwise 503 with a JSON body naming each part and why.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use vspread_engine::control::EngineState;
use vspread_engine::engine::{Liveness, Readiness};

use crate::state::AppState;

/// `GET /healthz`
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, Json<Liveness>) {
    let liveness = state.engine.liveness();
    let code = if liveness.alive {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(liveness))
}

/// `GET /readyz`
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let readiness = state.engine.readiness().await;
    let code = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(readiness))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    m.engine_paused
        .set(i64::from(state.engine.state() != EngineState::Running));
    m.config_generation
        .set(state.engine.live().current().generation as i64);
    m.observe(&state);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
}
