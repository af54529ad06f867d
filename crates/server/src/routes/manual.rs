//! Trading by hand: `POST /preview` (everything about a spread before it is
//! sent), `POST /orders` (a manual entry through the bot's risk gate,
//! sizing, journal and order manager) and
//! `POST /positions/{spread_ref}/close` (a walked closing order). Orders
//! and closes need the admin token and are audited with who asked (the
//! engine's events, the log, the journaled order).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use vspread_engine::manual::{
    CloseRequest, ManualClosing, ManualPlaced, OrderTicket, PreviewReport,
};

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::{ApiJson, json_body};
use crate::routes::config::detached;
use crate::state::AppState;

/// `POST /api/v1/preview`: nothing is placed.
pub async fn preview(
    State(state): State<AppState>,
    ApiJson(ticket): ApiJson<OrderTicket>,
) -> Result<Json<PreviewReport>, AppError> {
    Ok(Json(state.engine.preview(&ticket).await?))
}

/// `POST /api/v1/orders`: 202 with the order's reference once the order
/// manager has it; its steps, fills and end follow in `/orders` and on the
/// event stream. Runs to its end on a task of its own, so a client that
/// goes away never leaves an order half handed over.
pub async fn place(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(ticket): ApiJson<OrderTicket>,
) -> Result<(StatusCode, Json<ManualPlaced>), AppError> {
    let engine = state.engine.clone();
    let placed = detached(async move { engine.place_manual(&ticket, &caller.who).await }).await??;
    Ok((StatusCode::ACCEPTED, Json(placed)))
}

/// `POST /api/v1/positions/{spread_ref}/close`: 202 with the closing
/// order's reference; the body (`{"limit": {...}}`) may be left out.
pub async fn close(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(spread_ref): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<ManualClosing>), AppError> {
    let request: CloseRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CloseRequest::default()
    } else {
        json_body(&body)?
    };
    let engine = state.engine.clone();
    let closing = detached(async move {
        engine
            .close_position(&spread_ref, request.limit.as_ref(), &caller.who)
            .await
    })
    .await??;
    Ok((StatusCode::ACCEPTED, Json(closing)))
}
