//! Handlers, one module per resource.

pub mod bars;
pub mod config;
pub mod control;
pub mod decisions;
pub mod events;
pub mod health;
pub mod kpis;
pub mod manual;
pub mod status;
pub mod trading;

use axum::Json;
use axum::extract::State;

use crate::error::AppError;
use crate::state::AppState;

/// `GET /api/v1/openapi.json`
pub async fn openapi_doc(State(_): State<AppState>) -> Json<serde_json::Value> {
    Json(crate::openapi::document().clone())
}

/// Unknown `/api/v1/...` paths get the API's error shape, not an empty 404.
pub async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("no such endpoint: {}", uri.path()))
}
