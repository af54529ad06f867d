//! When an open spread is closed: the assignment guard, the ATR stop on the
//! underlying, the days-to-expiry exit and the profit target; and what a
//! closed trade made, in money and in R.
//!
//! Rules, each from `[exits]` (checked in this order; the first that holds
//! is the reason):
//! 1. assignment guard: on the expiry date, a short leg in the money is
//!    closed whatever else holds (an assignment would leave stock);
//! 2. ATR stop: the underlying has moved `stop_loss_atr_mult` ATRs (the ATR
//!    at entry) against the position from its price at entry;
//! 3. `exit_dte`: this many calendar days or fewer remain;
//! 4. profit target: the open P&L at the mark is at least
//!    `profit_target_pct` of the spread's max profit.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use vspread_core::config::ExitsConfig;
use vspread_core::{Direction, Money, Price, Right, SpreadPosition};

/// What the position was opened on, for its exits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct EntryContext {
    /// The underlying's price when the spread was opened.
    pub underlying: f64,
    /// The underlying's ATR (`atr_period`, Wilder) at the signal.
    pub atr: f64,
}

/// The market now, for one position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Market {
    pub underlying: f64,
    /// The spread's net per share if closed now (e.g. the legs' mid net);
    /// `None` when a leg is unquoted: the profit target then waits.
    pub mark: Option<Price>,
    /// Today in New York.
    pub today: NaiveDate,
}

/// Why a position is closed, with the numbers that decided it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum ExitReason {
    AssignmentGuard {
        short_strike: Decimal,
        underlying: f64,
    },
    AtrStop {
        stop: f64,
        underlying: f64,
    },
    Dte {
        days_left: i64,
        exit_dte: i64,
    },
    ProfitTarget {
        /// Open P&L as % of max profit.
        reached_pct: f64,
        target_pct: f64,
    },
    /// An operator closed it by hand (`POST /positions/{spread_ref}/close`).
    Manual {
        /// The token's role (and `X-Operator` name) that asked.
        who: String,
    },
}

impl ExitReason {
    pub fn name(&self) -> &'static str {
        match self {
            ExitReason::AssignmentGuard { .. } => "assignment_guard",
            ExitReason::AtrStop { .. } => "atr_stop",
            ExitReason::Dte { .. } => "dte",
            ExitReason::ProfitTarget { .. } => "profit_target",
            ExitReason::Manual { .. } => "manual",
        }
    }
}

/// The underlying price at which the ATR stop closes a position: below the
/// entry for a bullish spread, above it for a bearish one.
pub fn stop_level(config: &ExitsConfig, direction: Direction, entry: &EntryContext) -> f64 {
    let distance = config.stop_loss_atr_mult * entry.atr;
    match direction {
        Direction::Bullish => entry.underlying - distance,
        Direction::Bearish => entry.underlying + distance,
    }
}

/// The open P&L of `position` at `mark` as % of its max profit (`None`
/// when flat or when the max profit is not positive).
pub fn profit_pct(position: &SpreadPosition, mark: Price) -> Option<f64> {
    let entry = position.average_entry()?;
    let max_profit = position.spread().max_profit(entry).ok()?;
    let whole = max_profit.value() * Decimal::from(position.quantity());
    if whole <= Decimal::ZERO {
        return None;
    }
    let pnl = position.unrealised_pnl(mark).value();
    (pnl / whole * Decimal::ONE_HUNDRED).to_f64()
}

/// The reason to close `position` now, if there is one.
pub fn exit_reason(
    config: &ExitsConfig,
    position: &SpreadPosition,
    entry: &EntryContext,
    market: &Market,
) -> Option<ExitReason> {
    if !position.is_open() {
        return None;
    }
    let spread = position.spread();
    let short_strike = spread.short().strike().value();
    let days_left = (spread.expiry() - market.today).num_days();
    if days_left <= 0 {
        let strike = short_strike.to_f64().unwrap_or(f64::NAN);
        let in_the_money = match spread.right() {
            Right::Call => market.underlying > strike,
            Right::Put => market.underlying < strike,
        };
        if in_the_money {
            return Some(ExitReason::AssignmentGuard {
                short_strike,
                underlying: market.underlying,
            });
        }
    }
    let stop = stop_level(config, spread.direction(), entry);
    let stopped = match spread.direction() {
        Direction::Bullish => market.underlying <= stop,
        Direction::Bearish => market.underlying >= stop,
    };
    if stopped {
        return Some(ExitReason::AtrStop {
            stop,
            underlying: market.underlying,
        });
    }
    if days_left <= config.exit_dte {
        return Some(ExitReason::Dte {
            days_left,
            exit_dte: config.exit_dte,
        });
    }
    let reached = market.mark.and_then(|m| profit_pct(position, m))?;
    (reached >= config.profit_target_pct).then_some(ExitReason::ProfitTarget {
        reached_pct: reached,
        target_pct: config.profit_target_pct,
    })
}

/// A closed trade's result: realised P&L after every commission, and the
/// R-multiple (that P&L over the risk taken at entry: max loss per share x
/// multiplier x spreads).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TradeResult {
    pub realised: Money,
    pub risk: Money,
    pub r_multiple: f64,
}

/// The result of a position once flat, from its entry net and the number
/// of spreads it opened (`None` while open or without a positive risk).
pub fn trade_result(
    position: &SpreadPosition,
    entry_net: Price,
    spreads: u32,
) -> Option<TradeResult> {
    if position.is_open() || spreads == 0 {
        return None;
    }
    let max_loss = position.spread().max_loss(entry_net).ok()?;
    let risk = Money::new(max_loss.value() * Decimal::from(spreads));
    if risk.value() <= Decimal::ZERO {
        return None;
    }
    let realised = position.realised_pnl();
    Some(TradeResult {
        realised,
        risk,
        r_multiple: (realised.value() / risk.value())
            .to_f64()
            .unwrap_or(f64::NAN),
    })
}

#[cfg(test)]
#[path = "exits_tests.rs"]
mod tests;
