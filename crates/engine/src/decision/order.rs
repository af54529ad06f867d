//! Stage 7: the order a decision hands over: its walk from mid toward
//! natural (bounded by `[execution] max_slippage_pct`), its re-pricing from
//! the legs' lines, and the record the journal keeps before the broker
//! hears of it. Entries and exits are planned alike.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use vspread_core::config::ExecutionConfig;
use vspread_core::journal::{JournalLeg, JournaledOrder};
use vspread_core::{ContractInfo, NetPrice, OrderPurpose, OrderRequest, Tick, VerticalSpread};

use super::StepError;
use crate::orders::{OrderPlan, no_worse_than, price_walk, step_price};

/// The market's mid and natural for the order, now (the legs' latest
/// quotes); `None` while a leg is not two-sided.
pub type LivePrices = Arc<dyn Fn() -> Option<(NetPrice, NetPrice)> + Send + Sync>;

/// What a decision knows when it plans an order.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub order_ref: String,
    pub purpose: OrderPurpose,
    /// The spread it opens or closes (an entry names itself).
    pub spread_ref: String,
    pub spread: &'a VerticalSpread,
    pub long: &'a ContractInfo,
    pub short: &'a ContractInfo,
    pub quantity: u32,
    pub mid: NetPrice,
    pub natural: NetPrice,
    /// The `[execution]` values the order keeps for its whole life.
    pub execution: &'a ExecutionConfig,
    /// The strategy for an entry, the exit rule for an exit.
    pub reason: String,
    /// What the decision rested on, as JSON text.
    pub context: String,
    pub now: DateTime<Utc>,
    pub decided_at: Instant,
    /// When the signal the order acts on fired (entries), on the engine's
    /// clock.
    pub signal_at: Option<DateTime<Utc>>,
}

/// A leg as the journal keeps it.
pub fn journal_leg(contract: &ContractInfo) -> Option<JournalLeg> {
    let option = contract.option()?;
    Some(JournalLeg {
        con_id: contract.con_id,
        strike: option.strike().value(),
        right: option.right(),
        expiry: option.expiry(),
        exchange: option.exchange().to_string(),
        trading_class: contract.trading_class.clone(),
        local_symbol: contract.local_symbol.clone(),
        multiplier: Decimal::from(option.multiplier()),
        min_tick: contract.min_tick,
    })
}

/// The order manager's plan for `input`: the walk planned from its mid and
/// natural, each step re-priced from `live` when it comes but never past
/// the planned walk's last price.
pub fn plan(input: PlanInput<'_>, live: LivePrices) -> Result<OrderPlan, StepError> {
    let tick = Tick::new(input.long.min_tick.max(input.short.min_tick)).unwrap_or(Tick::PENNY);
    let walk = price_walk(input.mid, input.natural, tick, input.execution)
        .map_err(|e| StepError::Other(format!("{}: {e}", input.order_ref)))?;
    let first = walk.prices[0];
    let bound = *walk.prices.last().unwrap_or(&first);
    let request = OrderRequest::vertical(
        &input.order_ref,
        input.spread.clone(),
        input.purpose,
        input.quantity,
        first,
    )
    .map_err(|e| StepError::Other(format!("{}: {e}", input.order_ref)))?;
    let execution = input.execution.clone();
    let reprice = Arc::new(move |step: usize| {
        let (mid, natural) = live()?;
        Some(no_worse_than(
            step_price(mid, natural, tick, &execution, step)?,
            bound,
        ))
    });
    let leg = |c: &ContractInfo| {
        journal_leg(c).ok_or_else(|| {
            StepError::Other(format!(
                "{}: {} is not an option",
                input.order_ref, c.con_id
            ))
        })
    };
    let record = JournaledOrder {
        order_ref: input.order_ref.clone(),
        purpose: input.purpose,
        spread_ref: input.spread_ref,
        symbol: input.spread.underlying().to_string(),
        currency: input.spread.long().currency().to_string(),
        kind: input.spread.kind(),
        long: leg(input.long)?,
        short: leg(input.short)?,
        quantity: input.quantity,
        limit: first.amount(),
        credit: first.is_credit(),
        mid: input.mid.amount(),
        reason: input.reason,
        context: input.context,
        created_at: input.now,
    };
    Ok(OrderPlan {
        record,
        request,
        walk,
        reprice: Some(reprice),
        decided_at: input.decided_at,
        signal_at: input.signal_at,
    })
}
