//! `GET /api/v1/symbols/{symbol}/bars?days=N`: daily bars with the RSI and
//! ATR the signals read, for charts.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use vspread_engine::bars::{BarsView, MAX_DAYS};

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct BarsQuery {
    /// Bars wanted (default 120, 1 to 1000).
    pub days: Option<u32>,
}

pub async fn bars(
    State(state): State<AppState>,
    Path(symbol): Path<String>,
    ApiQuery(q): ApiQuery<BarsQuery>,
) -> Result<Json<BarsView>, AppError> {
    let days = q.days.unwrap_or(120);
    if days == 0 || days > MAX_DAYS {
        return Err(AppError::BadRequest(format!(
            "days = {days}: allowed 1 to {MAX_DAYS}"
        )));
    }
    Ok(Json(state.engine.bars(&symbol, days).await?))
}
