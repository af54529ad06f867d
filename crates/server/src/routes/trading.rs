//! What the trader sees and does: `scans/latest`, `positions`, `orders`
//! (and an operator's cancel), `trades`. Scans and positions come from the
//! trader's live views; orders and trades from the journal, which holds
//! every one durably (a read runs off the async workers: it waits for the
//! disk).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use vspread_core::OrderPurpose;
use vspread_core::journal::{Journal, JournalError, OrderRecord, SpreadRecord};
use vspread_engine::views::{PositionsView, ScanView};

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The most rows a list answers with.
const MAX_LIMIT: usize = 5000;

#[derive(Debug, Serialize)]
pub struct LatestScans {
    pub scans: Vec<ScanView>,
}

/// `GET /api/v1/scans/latest`: the latest scan of each underlying.
pub async fn latest_scans(State(state): State<AppState>) -> Json<LatestScans> {
    Json(LatestScans {
        scans: state
            .engine
            .views()
            .latest_scans()
            .iter()
            .map(|s| ScanView::clone(s))
            .collect(),
    })
}

/// `GET /api/v1/positions`: the held spreads at their last marks.
pub async fn positions(State(state): State<AppState>) -> Json<PositionsView> {
    Json(PositionsView::clone(&state.engine.views().positions()))
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrderFilter {
    Working,
    Done,
}

#[derive(Debug, Deserialize)]
pub struct OrdersQuery {
    pub status: Option<OrderFilter>,
    /// At most this many, newest first (default 500).
    pub limit: Option<usize>,
}

/// One order as the journal holds it. Prices per share.
#[derive(Debug, Serialize)]
pub struct OrderView {
    pub order_ref: String,
    pub purpose: &'static str,
    pub spread_ref: String,
    pub underlying: String,
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub long_strike: Decimal,
    pub short_strike: Decimal,
    pub quantity: u32,
    pub credit: bool,
    /// The first limit sent.
    pub limit: Decimal,
    pub mid: Decimal,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    /// No end recorded yet.
    pub working: bool,
    /// Being driven by this engine now (an operator may cancel it).
    pub cancellable: bool,
    pub broker_order_id: Option<i64>,
    pub status: Option<String>,
    pub filled: Decimal,
    pub average_price: Option<Decimal>,
    pub commissions: Decimal,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
}

fn purpose_name(p: OrderPurpose) -> &'static str {
    match p {
        OrderPurpose::Entry => "entry",
        OrderPurpose::Exit => "exit",
    }
}

fn order_view(o: &OrderRecord, cancellable: bool) -> OrderView {
    let j = &o.order;
    OrderView {
        order_ref: j.order_ref.clone(),
        purpose: purpose_name(j.purpose),
        spread_ref: j.spread_ref.clone(),
        underlying: j.symbol.clone(),
        kind: j.kind.name(),
        expiry: j.long.expiry,
        long_strike: j.long.strike.normalize(),
        short_strike: j.short.strike.normalize(),
        quantity: j.quantity,
        credit: j.credit,
        limit: j.limit,
        mid: j.mid,
        reason: j.reason.clone(),
        created_at: j.created_at,
        working: o.is_open(),
        cancellable,
        broker_order_id: o.broker_order_id,
        status: o.last_status.clone(),
        filled: o.filled.normalize(),
        average_price: o.average_net.map(|p| p.abs().normalize()),
        commissions: o.commissions,
        outcome: o.end.as_ref().map(|e| e.outcome.clone()),
        detail: o.end.as_ref().map(|e| e.detail.clone()),
        ended_at: o.end.as_ref().map(|e| e.at),
    }
}

#[derive(Debug, Serialize)]
pub struct Orders {
    pub orders: Vec<OrderView>,
}

fn limit_of(limit: Option<usize>, default: usize) -> Result<usize, AppError> {
    match limit.unwrap_or(default) {
        0 => Err(AppError::BadRequest("limit = 0: allowed 1 to 5000".into())),
        n if n > MAX_LIMIT => Err(AppError::BadRequest(format!(
            "limit = {n}: allowed 1 to {MAX_LIMIT}"
        ))),
        n => Ok(n),
    }
}

/// Reads the journal off the async workers.
async fn read_journal<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
) -> Result<T, AppError> {
    let journal = state.engine.journal().clone();
    tokio::task::spawn_blocking(move || read(&*journal))
        .await
        .map_err(|e| AppError::Internal(format!("journal read task: {e}")))?
        .map_err(|e| AppError::Internal(format!("journal read: {e}")))
}

/// `GET /api/v1/orders`: every order, newest first.
pub async fn orders(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<Orders>, AppError> {
    let limit = limit_of(q.limit, 500)?;
    let records = read_journal(&state, |j| j.orders()).await?;
    let working: Vec<String> = state
        .engine
        .working_orders()
        .into_iter()
        .map(|o| o.order_ref)
        .collect();
    let orders = records
        .iter()
        .rev()
        .filter(|o| match q.status {
            Some(OrderFilter::Working) => o.is_open(),
            Some(OrderFilter::Done) => !o.is_open(),
            None => true,
        })
        .take(limit)
        .map(|o| order_view(o, working.contains(&o.order.order_ref)))
        .collect();
    Ok(Json(Orders { orders }))
}

/// `POST /api/v1/orders/{order_ref}/cancel`: the order manager's driver of
/// the order sends the cancel at once; its end arrives on the event stream.
pub async fn cancel_order(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(order_ref): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    let wanted = order_ref.clone();
    let record = read_journal(&state, move |j| {
        Ok(j.orders()?
            .into_iter()
            .find(|o| o.order.order_ref == wanted))
    })
    .await?;
    let Some(record) = record else {
        return Err(AppError::NotFound(format!("no order `{order_ref}`")));
    };
    if !record.is_open() {
        return Err(AppError::Conflict(format!(
            "`{order_ref}` is no longer working (it ended {})",
            record.end.as_ref().map_or("", |e| e.outcome.as_str())
        )));
    }
    state
        .engine
        .cancel_order(&order_ref, &caller.who)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "order_ref": order_ref, "cancel_requested": true })),
    ))
}

#[derive(Debug, Deserialize)]
pub struct TradesQuery {
    /// At most this many, newest first (default 500).
    pub limit: Option<usize>,
}

/// A closed spread.
#[derive(Debug, Serialize)]
pub struct TradeView {
    pub spread_ref: String,
    pub underlying: String,
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub long_strike: Decimal,
    pub short_strike: Decimal,
    pub quantity: Decimal,
    pub credit: bool,
    pub opened_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    pub entry_price: Option<Decimal>,
    pub reason: String,
    /// After every commission.
    pub realised_pnl: Decimal,
    pub r_multiple: Option<f64>,
    pub commissions: Decimal,
}

#[derive(Debug, Serialize)]
pub struct Trades {
    pub trades: Vec<TradeView>,
    /// Of every closed trade, not only those listed.
    pub realised_total: Decimal,
}

fn trade_view(s: &SpreadRecord) -> Option<TradeView> {
    let closure = s.closure.as_ref()?;
    let e = &s.entry;
    Some(TradeView {
        spread_ref: e.order_ref.clone(),
        underlying: e.symbol.clone(),
        kind: e.kind.name(),
        expiry: e.long.expiry,
        long_strike: e.long.strike.normalize(),
        short_strike: e.short.strike.normalize(),
        quantity: s.opened.normalize(),
        credit: e.credit,
        opened_at: e.created_at,
        closed_at: closure.at,
        entry_price: s.entry_average.map(|p| p.abs().normalize()),
        reason: closure.reason.clone(),
        realised_pnl: closure.realised,
        r_multiple: closure.r_multiple,
        commissions: s.commissions,
    })
}

/// `GET /api/v1/trades`: closed spreads, newest first.
pub async fn trades(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<TradesQuery>,
) -> Result<Json<Trades>, AppError> {
    let limit = limit_of(q.limit, 500)?;
    let spreads = read_journal(&state, |j| j.spreads()).await?;
    let mut trades: Vec<TradeView> = spreads.iter().filter_map(trade_view).collect();
    trades.sort_by_key(|t| std::cmp::Reverse(t.closed_at));
    let realised_total = trades.iter().map(|t| t.realised_pnl).sum();
    trades.truncate(limit);
    Ok(Json(Trades {
        trades,
        realised_total,
    }))
}
