//! `POST /api/v1/control/{pause,resume}`: operator control of the engine,
//! audited (who, when) on the event stream and in the log.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::json;
use vspread_engine::control::PauseReason;

use crate::auth::Caller;
use crate::error::AppError;
use crate::state::AppState;

/// Pauses new scans, signals and orders; in-flight steps finish first.
pub async fn pause(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, AppError> {
    let report = state
        .control
        .pause(PauseReason::Operator(caller.who.clone()))
        .await;
    if report.newly_paused {
        tracing::info!(who = %caller.who, "audit: engine paused");
        state.events.publish(
            "control.paused",
            format!("engine paused by {}", caller.who),
            json!({ "who": caller.who, "waited_ms": report.waited.as_secs_f64() * 1e3 }),
        );
    }
    Ok(Json(json!({
        "state": state.control.state(),
        "changed": report.newly_paused,
        "waited_ms": report.waited.as_secs_f64() * 1e3,
    })))
}

pub async fn resume(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<serde_json::Value>, AppError> {
    let changed = state.control.resume().await;
    if changed {
        tracing::info!(who = %caller.who, "audit: engine resumed");
        state.events.publish(
            "control.resumed",
            format!("engine resumed by {}", caller.who),
            json!({ "who": caller.who }),
        );
    }
    Ok(Json(
        json!({ "state": state.control.state(), "changed": changed }),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct KillSwitchRequest {
    pub engaged: bool,
}

/// Engages or releases the kill switch by applying `risk.kill_switch`
/// through the normal apply path, so it is saved, backed up and audited like
/// any change and survives a restart.
pub async fn kill_switch(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Result<Json<KillSwitchRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<axum::response::Response, AppError> {
    let Json(req) = body?;
    let snap = state.live.current();
    let mut config = snap.config.as_ref().clone();
    config.risk.kill_switch = req.engaged;
    // At once, before the apply (which waits for the in-flight cycle): a
    // working entry order is cancelled now. Undone if the apply fails.
    let kill_switch = state.control.kill_switch();
    let before = kill_switch.is_engaged();
    kill_switch.set(req.engaged);
    let service = state.config.clone();
    let (version, who) = (snap.version.clone(), caller.who.clone());
    let applied =
        super::config::detached(async move { service.apply(config, &version, &who).await }).await?;
    let report = match applied {
        Ok(report) => report,
        Err(e) => {
            kill_switch.set(before);
            return Err(e.into());
        }
    };
    tracing::warn!(who = %caller.who, engaged = req.engaged, "audit: kill switch set");
    Ok(axum::response::IntoResponse::into_response(Json(report)))
}
