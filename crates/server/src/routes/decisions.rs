//! `GET /api/v1/decisions`: what each decision cycle saw and decided per
//! symbol (the operator's "why"), from the journal, which keeps every one.

use axum::Json;
use axum::extract::State;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
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
    /// Each as the journal holds it: a decision record's JSON, passed on
    /// without being parsed and written again.
    #[schemars(with = "Vec<DecisionRecord>")]
    pub decisions: Vec<Box<RawValue>>,
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
    let stored = state
        .engine
        .decisions(symbol, limit)
        .await
        .map_err(|e| AppError::Internal(format!("journal read: {e}")))?;
    let decisions = stored
        .into_iter()
        .map(|d| {
            RawValue::from_string(d.record).map_err(|e| {
                AppError::Internal(format!(
                    "journal read: decision {} ({}) is not JSON: {e}",
                    d.id, d.at
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Json(Decisions {
        decisions,
        filters: filter_keys(),
    }))
}
