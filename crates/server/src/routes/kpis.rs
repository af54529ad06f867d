//! `GET /api/v1/kpis?days=N`: how the trading went (fill rates, slippage,
//! time to fill, win rate, R, expectancy, drawdown, refusals), each with
//! the plan's target, computed from the journal by the engine as `vspread
//! report` computes them.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use vspread_engine::kpis::Kpis;

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The longest period asked for by days (ten years); leave `days` out for
/// everything the journal holds.
pub const MAX_DAYS: u32 = 3650;

#[derive(Debug, Deserialize)]
pub struct KpisQuery {
    /// The last this many days of the engine's clock (1 to 3650); all the
    /// journal holds when left out.
    pub days: Option<u32>,
}

pub async fn kpis(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<KpisQuery>,
) -> Result<Json<Kpis>, AppError> {
    if let Some(days) = q.days
        && (days == 0 || days > MAX_DAYS)
    {
        return Err(AppError::BadRequest(format!(
            "days = {days}: allowed 1 to {MAX_DAYS}"
        )));
    }
    let kpis = state
        .engine
        .kpis(q.days)
        .await
        .map_err(|e| AppError::Internal(format!("journal read for the KPIs: {e}")))?;
    Ok(Json(kpis))
}
