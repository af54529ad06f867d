//! What the trader sees and does: `scans/latest` (with the scanner
//! watch), `positions`, `orders` (each limit step, fills, slippage; and an
//! operator's cancel), `trades`. Scans and positions come from the
//! trader's live views; orders and trades from the journal, which holds
//! every one durably (a read runs off the async workers: it waits for the
//! disk).

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use vspread_core::journal::{
    EventQuery, Journal, JournalError, JournalEvent, OrderQuery, OrderRecord, SpreadRecord,
};
use vspread_core::{NetPrice, OrderPurpose};
use vspread_engine::signals::Strategy;
use vspread_engine::views::{PositionsView, ScanSource, ScanView};
use vspread_engine::watch::watched;

use crate::auth::Caller;
use crate::error::AppError;
use crate::extract::ApiQuery;
use crate::state::AppState;

/// The most rows a list answers with.
const MAX_LIMIT: usize = 5000;

/// The latest scan of each underlying, and the scanner watch.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LatestScans {
    /// The latest scan of every underlying scanned so far, by a decision
    /// cycle or the watch, by underlying.
    pub scans: Vec<ScanEntry>,
    /// Every underlying the watch covers now (`[scanner] watch`, else the
    /// universe), with its scan's age and whether a signal is live on it.
    pub watch: Vec<WatchedUnderlying>,
    /// `[scanner] watch_interval_s` in force (0: the watch is off).
    pub watch_interval_s: i64,
}

/// A scan and its age.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ScanEntry {
    #[serde(flatten)]
    pub scan: ScanView,
    /// Seconds of the engine's clock since it ran.
    pub age_s: f64,
}

/// One watched underlying.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WatchedUnderlying {
    pub symbol: String,
    /// When its latest scan ran (by the watch or a decision cycle), on the
    /// engine's clock; none before the first.
    pub scanned_at: Option<DateTime<Utc>>,
    /// Seconds of the engine's clock since then.
    pub age_s: Option<f64>,
    /// Who ran that scan.
    pub source: Option<ScanSource>,
    /// Spreads it ranked.
    pub results: Option<usize>,
    /// A strategy fires on it now (the newest of the last decision's and
    /// the last watch scan's evaluation).
    pub signal_live: bool,
    pub signal: Option<Strategy>,
    /// When the watch will next scan it, on the engine's clock.
    pub next_scan_at: Option<DateTime<Utc>>,
    /// Why the watch's last attempt failed, if it did.
    pub error: Option<String>,
}

fn age_s(now: DateTime<Utc>, at: DateTime<Utc>) -> f64 {
    (now - at).num_milliseconds() as f64 / 1e3
}

/// `GET /api/v1/scans/latest`: the latest scan of each underlying, and
/// every watched one with its scan's age and live signal.
pub async fn latest_scans(State(state): State<AppState>) -> Json<LatestScans> {
    let engine = &state.engine;
    let now = engine.clock().now();
    let config = engine.live().current().config.clone();
    let latest = engine.views().latest_scans();
    let interval = config.scanner.watch_interval_s;
    let watch = watched(&config)
        .into_iter()
        .map(|symbol| {
            let scan = latest.iter().find(|s| s.underlying == symbol);
            let entry = engine.watch_state().entry(&symbol);
            let decided = engine.latest_decision(&symbol);
            // The newest evaluation of the signal, the trader's or the watch's.
            let from_decision = decided
                .as_ref()
                .and_then(|d| d.signal.as_ref().map(|s| (d.at, s.fired)));
            let from_watch = entry
                .as_ref()
                .and_then(|e| e.scanned_at.map(|at| (at, e.signal)));
            let signal = match (from_decision, from_watch) {
                (Some(a), Some(b)) => Some(if a.0 >= b.0 { a.1 } else { b.1 }),
                (a, b) => a.or(b).map(|x| x.1),
            }
            .flatten();
            let next_scan_at = entry
                .as_ref()
                .and_then(|e| e.tried_at)
                .map(|at| at + chrono::Duration::seconds(interval.max(0)))
                .or(Some(now));
            WatchedUnderlying {
                scanned_at: scan.map(|s| s.at),
                age_s: scan.map(|s| age_s(now, s.at)),
                source: scan.map(|s| s.source),
                results: scan.map(|s| s.results.len()),
                signal_live: signal.is_some(),
                signal,
                next_scan_at,
                error: entry.and_then(|e| e.error),
                symbol,
            }
        })
        .collect();
    Json(LatestScans {
        scans: latest
            .iter()
            .map(|s| ScanEntry {
                age_s: age_s(now, s.at),
                scan: ScanView::clone(s),
            })
            .collect(),
        watch,
        watch_interval_s: interval,
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
#[derive(Debug, Serialize, JsonSchema)]
pub struct OrderView {
    pub order_ref: String,
    /// `entry` (the bot's), `exit` or `manual` (an entry by hand).
    pub purpose: OrderPurpose,
    pub spread_ref: String,
    pub underlying: String,
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub long_strike: Decimal,
    pub short_strike: Decimal,
    pub quantity: u32,
    /// Received (else paid) per share.
    pub credit: bool,
    /// The first limit sent.
    pub limit: Decimal,
    /// The limit working now (or last worked): the walk's latest step.
    pub last_limit: Decimal,
    /// The combo mid when the order was decided.
    pub mid: Decimal,
    /// Why: the strategy, the exit rule, or `manual`.
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
    /// Per share, against the mid the order was decided at: positive when
    /// the fills paid more (a debit) or received less (a credit) than it.
    pub slippage_vs_mid: Option<Decimal>,
    /// The same for every spread filled, in money.
    pub slippage_money: Option<Decimal>,
    pub commissions: Decimal,
    pub outcome: Option<String>,
    pub detail: Option<String>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Every limit the order worked at, the first included, with when it
    /// was sent (the engine's clock).
    pub steps: Vec<LimitStep>,
    /// Its combo-level fills as they arrived.
    pub fills: Vec<ComboFill>,
}

/// One limit of an order's walk.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LimitStep {
    /// 0 for the first limit.
    pub step: usize,
    /// Per share.
    pub price: Decimal,
    pub at: DateTime<Utc>,
}

/// One combo-level fill of an order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ComboFill {
    pub exec_id: String,
    /// Spreads.
    pub quantity: Decimal,
    /// Net per share.
    pub price: Decimal,
    /// The gateway's execution time, as it sent it.
    pub time: String,
    /// When the engine recorded it (its clock).
    pub recorded_at: DateTime<Utc>,
    pub commission: Option<Decimal>,
}

/// The limit steps of every order, from the journal's `order.placed` and
/// `order.walked` events (each names its order and price).
fn steps_by_order(events: &[JournalEvent]) -> BTreeMap<String, Vec<LimitStep>> {
    #[derive(Deserialize)]
    struct Step {
        order_ref: String,
        price: NetPrice,
        #[serde(default)]
        step: usize,
    }
    let mut out: BTreeMap<String, Vec<LimitStep>> = BTreeMap::new();
    for e in events {
        let Ok(s) = serde_json::from_str::<Step>(&e.data) else {
            continue;
        };
        out.entry(s.order_ref).or_default().push(LimitStep {
            step: s.step,
            price: s.price.amount(),
            at: e.at,
        });
    }
    out
}

fn order_view(
    o: &OrderRecord,
    cancellable: bool,
    steps: Vec<LimitStep>,
    fills: Vec<ComboFill>,
) -> OrderView {
    let j = &o.order;
    let slippage = o.average_net.map(|avg| {
        let avg = avg.abs();
        if j.credit { j.mid - avg } else { avg - j.mid }
    });
    OrderView {
        order_ref: j.order_ref.clone(),
        purpose: j.purpose,
        spread_ref: j.spread_ref.clone(),
        underlying: j.symbol.clone(),
        kind: j.kind.name(),
        expiry: j.long.expiry,
        long_strike: j.long.strike.normalize(),
        short_strike: j.short.strike.normalize(),
        quantity: j.quantity,
        credit: j.credit,
        limit: j.limit,
        last_limit: steps.last().map_or(j.limit, |s| s.price),
        mid: j.mid,
        reason: j.reason.clone(),
        created_at: j.created_at,
        working: o.is_open(),
        cancellable,
        broker_order_id: o.broker_order_id,
        status: o.last_status.clone(),
        filled: o.filled.normalize(),
        average_price: o.average_net.map(|p| p.abs().normalize()),
        slippage_vs_mid: slippage.map(|s| s.normalize()),
        slippage_money: slippage.map(|s| (s * o.filled * j.long.multiplier).normalize()),
        commissions: o.commissions,
        outcome: o.end.as_ref().map(|e| e.outcome.clone()),
        detail: o.end.as_ref().map(|e| e.detail.clone()),
        ended_at: o.end.as_ref().map(|e| e.at),
        steps,
        fills,
    }
}

/// Orders, newest first.
#[derive(Debug, Serialize, JsonSchema)]
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

/// Reads the journal off the async workers, in turn with the engine's
/// other reads.
async fn read_journal<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
) -> Result<T, AppError> {
    state
        .engine
        .read_journal(read)
        .await
        .map_err(|e| AppError::Internal(format!("journal read: {e}")))
}

/// `GET /api/v1/orders`: the newest orders (`limit`, default 500), with
/// their steps and fills; read for those orders only.
pub async fn orders(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<OrdersQuery>,
) -> Result<Json<Orders>, AppError> {
    let limit = limit_of(q.limit, 500)?;
    let open = q.status.map(|s| matches!(s, OrderFilter::Working));
    let (records, events, fills) = read_journal(&state, move |j| {
        let records = j.orders_page(&OrderQuery {
            open,
            order_ref: None,
            limit,
        })?;
        let refs: Vec<String> = records.iter().map(|o| o.order.order_ref.clone()).collect();
        let events = j.events(&EventQuery {
            kind_prefixes: vec!["order.placed".into(), "order.walked".into()],
            order_refs: Some(refs.clone()),
            limit: 0,
            after: None,
            before: None,
        })?;
        Ok((records, events, j.fills_of(&refs)?))
    })
    .await?;
    let working = state.engine.working_orders();
    let mut steps = steps_by_order(&events);
    // A working order's steps as its driver took them (the journal's
    // event writer may be a moment behind).
    for w in &working {
        steps.insert(
            w.order_ref.clone(),
            w.steps
                .iter()
                .map(|s| LimitStep {
                    step: s.step,
                    price: s.price.amount(),
                    at: s.at,
                })
                .collect(),
        );
    }
    let mut fills_of: BTreeMap<String, Vec<ComboFill>> = BTreeMap::new();
    for f in fills.into_iter().filter(|f| f.combo) {
        fills_of
            .entry(f.order_ref.clone())
            .or_default()
            .push(ComboFill {
                exec_id: f.exec_id,
                quantity: f.quantity.normalize(),
                price: f.price.abs().normalize(),
                time: f.time,
                recorded_at: f.recorded_at,
                commission: f.commission,
            });
    }
    let orders = records
        .iter()
        .map(|o| {
            let r = &o.order.order_ref;
            order_view(
                o,
                working.iter().any(|w| &w.order_ref == r),
                steps.remove(r).unwrap_or_default(),
                fills_of.remove(r).unwrap_or_default(),
            )
        })
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
        Ok(j.orders_page(&OrderQuery {
            order_ref: Some(wanted),
            limit: 1,
            ..Default::default()
        })?
        .pop())
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
    let (spreads, realised_total) = read_journal(&state, move |j| {
        Ok((j.closed_spreads(limit)?, j.realised_total()?))
    })
    .await?;
    let mut trades: Vec<TradeView> = spreads.iter().filter_map(trade_view).collect();
    trades.sort_by_key(|t| std::cmp::Reverse(t.closed_at));
    Ok(Json(Trades {
        trades,
        realised_total,
    }))
}
