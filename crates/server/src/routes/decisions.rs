//! `GET /api/v1/decisions`: what each decision cycle saw and decided per
//! symbol (the operator's "why"), from the engine's bounded record.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vspread_engine::decision::record::DecisionRecord;
use vspread_engine::decision::scan::{FilterKeys, filter_keys};

use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DecisionsQuery {
    /// Only this symbol's decisions.
    pub symbol: Option<String>,
    /// At most this many, newest first (default 100, 1 to 5000).
    pub limit: Option<usize>,
}

/// Entry decisions, newest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Decisions {
    pub decisions: Vec<DecisionRecord>,
    /// The config keys behind each funnel filter name, for links from a
    /// scan's funnel to the setting that removed its candidates.
    pub filters: Vec<FilterKeys>,
}

pub async fn decisions(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DecisionsQuery>,
) -> Result<Json<Decisions>, AppError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > 5000 {
        return Err(AppError::BadRequest(format!(
            "limit = {limit}: allowed 1 to 5000"
        )));
    }
    let symbol = q.symbol.as_deref().filter(|s| !s.is_empty());
    Ok(Json(Decisions {
        decisions: state
            .engine
            .decisions(symbol, limit)
            .iter()
            .map(|r| DecisionRecord::clone(r))
            .collect(),
        filters: filter_keys(),
    }))
}
