//! `POST /api/v1/control/{pause,resume,kill-switch}`: operator control of
//! the engine, audited (who, when) on the event stream and in the log.
//! None of them waits for a decision cycle or a working order.

use axum::extract::State;
use axum::{Extension, Json};
use vspread_engine::engine::{ControlReport, KillSwitchReport};

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;

/// Pauses at once: no new decision; working orders go on by their plan.
pub async fn pause(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<ControlReport> {
    Json(state.engine.pause(&caller.who))
}

pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Json<ControlReport> {
    Json(state.engine.resume(&caller.who))
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct KillSwitchRequest {
    pub engaged: bool,
}

/// Engages or releases the kill switch: at once (working entries are
/// cancelled before this answers), then recorded in the file through the
/// normal save. Never refused for a stale version.
pub async fn kill_switch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<KillSwitchRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<KillSwitchReport>, AppError> {
    let Json(req) = body?;
    let engine = state.engine.clone();
    let report =
        super::config::detached(
            async move { engine.set_kill_switch(req.engaged, &caller.who).await },
        )
        .await?;
    if let Some(saved) = &report.saved {
        state
            .metrics
            .config_applies
            .get_or_create(&crate::metrics::ResultLabels {
                result: "applied".into(),
            })
            .inc();
        if saved.engine_resumed {
            state
                .metrics
                .config_apply_interruption_seconds
                .observe(saved.interruption_s);
        }
    }
    Ok(Json(report))
}
