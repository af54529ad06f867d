//! The entry gate and position sizing: every rule that can keep a signal
//! from becoming an order, each refusal with its reason and numbers.
//!
//! The gate runs in three places of an entry: before anything is asked of
//! the gateway ([`pre_entry`]: kill switch, gateway reset guard, daily loss,
//! position limits, the IV circuit breaker), when the spread is chosen
//! ([`size`]: contracts from NetLiquidation and the spread's max loss,
//! capped by `max_contracts_per_trade` and `max_order_value`), and after the
//! what-if preview ([`after_what_if`]: buying power left above
//! `min_buying_power`). Money is exact: config amounts are converted once to
//! decimals.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::Serialize;
use vspread_core::config::Config;

/// Why an entry was refused. Each names the rule and its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error, schemars::JsonSchema)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Refusal {
    #[error("kill switch is on (risk.kill_switch)")]
    KillSwitch,
    #[error(
        "the journal cannot be relied on for a new entry: {reason}; exits and working orders go on"
    )]
    JournalDegraded { reason: String },
    #[error("an entry order on {underlying} is already working ({order_ref})")]
    EntryWorking {
        underlying: String,
        order_ref: String,
    },
    #[error(
        "within {guard_minutes} min of the gateway's daily restart at {restart_utc} UTC (risk.reset_guard_minutes)"
    )]
    ResetGuard {
        restart_utc: String,
        guard_minutes: i64,
    },
    #[error("daily loss {loss} reached the limit {limit} (risk.max_daily_loss)")]
    DailyLoss { loss: Decimal, limit: Decimal },
    #[error("{open} spreads open, the limit is {limit} (trading.max_positions)")]
    MaxPositions { open: usize, limit: i64 },
    #[error(
        "{open} spreads open on {underlying}, the limit is {limit} (trading.max_positions_per_underlying)"
    )]
    MaxPositionsPerUnderlying {
        underlying: String,
        open: usize,
        limit: i64,
    },
    #[error(
        "{underlying} implied volatility {iv}: circuit breaker tripped above risk.max_iv {max_iv}; entries resume below risk.max_iv_resume {resume}"
    )]
    IvCircuitBreaker {
        underlying: String,
        iv: f64,
        max_iv: f64,
        resume: f64,
    },
    #[error("no contract fits: {reason}")]
    ZeroSize { reason: String },
    #[error(
        "buying power after the what-if margin would be {after}, below {minimum} (risk.min_buying_power)"
    )]
    BuyingPower { after: Decimal, minimum: Decimal },
    #[error("{requested} spreads asked for, the sizing allows {allowed} ({key})")]
    Oversized {
        requested: u32,
        allowed: u32,
        /// The bound that allows no more: `trading.risk_per_trade_pct`,
        /// `risk.max_order_value` or `trading.max_contracts_per_trade`.
        key: &'static str,
    },
    #[error(
        "trading.mode is live and execution.manual_orders_live is false: entries by hand are refused"
    )]
    ManualInLive,
    #[error("the gateway's what-if refused the order (code {code}): {reason}")]
    WhatIfRejected { code: i32, reason: String },
}

impl Refusal {
    /// The rule's snake_case name (the `rule` tag it serialises with).
    pub fn rule(&self) -> &'static str {
        match self {
            Refusal::KillSwitch => "kill_switch",
            Refusal::JournalDegraded { .. } => "journal_degraded",
            Refusal::EntryWorking { .. } => "entry_working",
            Refusal::ResetGuard { .. } => "reset_guard",
            Refusal::DailyLoss { .. } => "daily_loss",
            Refusal::MaxPositions { .. } => "max_positions",
            Refusal::MaxPositionsPerUnderlying { .. } => "max_positions_per_underlying",
            Refusal::IvCircuitBreaker { .. } => "iv_circuit_breaker",
            Refusal::ZeroSize { .. } => "zero_size",
            Refusal::BuyingPower { .. } => "buying_power",
            Refusal::Oversized { .. } => "oversized",
            Refusal::ManualInLive => "manual_in_live",
            Refusal::WhatIfRejected { .. } => "what_if_rejected",
        }
    }

    /// The config key whose value decided it, for a link to it (none for
    /// a working entry, a state rather than a setting).
    pub fn config_key(&self) -> Option<&'static str> {
        Some(match self {
            Refusal::KillSwitch => "risk.kill_switch",
            Refusal::JournalDegraded { .. } => "storage.min_free_mb",
            Refusal::EntryWorking { .. } | Refusal::WhatIfRejected { .. } => return None,
            Refusal::ResetGuard { .. } => "risk.reset_guard_minutes",
            Refusal::DailyLoss { .. } => "risk.max_daily_loss",
            Refusal::MaxPositions { .. } => "trading.max_positions",
            Refusal::MaxPositionsPerUnderlying { .. } => "trading.max_positions_per_underlying",
            Refusal::IvCircuitBreaker { .. } => "risk.max_iv",
            Refusal::ZeroSize { .. } => "trading.risk_per_trade_pct",
            Refusal::Oversized { key, .. } => key,
            Refusal::BuyingPower { .. } => "risk.min_buying_power",
            Refusal::ManualInLive => "execution.manual_orders_live",
        })
    }
}

/// A refusal as the operator sees it: the rule and its numbers, the config
/// key that decided it and the sentence that says it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RuleRefusal {
    /// The rule (`rule`) and its numbers.
    #[serde(flatten)]
    pub refusal: Refusal,
    /// The config key to change to lift it, if a setting decided it.
    pub key: Option<&'static str>,
    pub message: String,
}

impl From<Refusal> for RuleRefusal {
    fn from(refusal: Refusal) -> Self {
        RuleRefusal {
            key: refusal.config_key(),
            message: refusal.to_string(),
            refusal,
        }
    }
}

impl Refusal {
    /// The name of every rule the bot's gate applies, as
    /// [`rule`](Self::rule) gives them: what the bot's refusal counters are
    /// labelled with (each present from the start). The rules only an entry
    /// by hand meets (`oversized`, `manual_in_live`, `what_if_rejected`) are
    /// not among them.
    pub const RULES: [&'static str; 10] = [
        "kill_switch",
        "journal_degraded",
        "entry_working",
        "reset_guard",
        "daily_loss",
        "max_positions",
        "max_positions_per_underlying",
        "iv_circuit_breaker",
        "zero_size",
        "buying_power",
    ];
}

fn decimal(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO)
}

/// The account as the gate sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountState {
    pub net_liquidation: Decimal,
    pub buying_power: Decimal,
    /// Realised P&L of the day (commissions included).
    pub realised_today: Decimal,
    /// Unrealised P&L of open spreads at their marks.
    pub unrealised: Decimal,
}

/// Open spreads, by underlying.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposure {
    pub open_by_underlying: HashMap<String, usize>,
}

impl Exposure {
    pub fn total(&self) -> usize {
        self.open_by_underlying.values().sum()
    }

    pub fn on(&self, underlying: &str) -> usize {
        self.open_by_underlying
            .get(underlying)
            .copied()
            .unwrap_or(0)
    }
}

/// Whether `now` falls in the guard around the gateway's daily restart:
/// from `guard` before its start to `guard` after its window ends.
pub fn in_reset_guard(config: &Config, now: DateTime<Utc>) -> bool {
    let guard = Duration::minutes(config.risk.reset_guard_minutes.max(0));
    if guard.is_zero() {
        return false;
    }
    let Some(start) =
        NaiveTime::from_num_seconds_from_midnight_opt(config.ibkr.daily_restart_utc.seconds(), 0)
    else {
        return false;
    };
    let length = Duration::minutes(config.ibkr.daily_restart_minutes.max(0));
    // The restart of yesterday, today and tomorrow, so windows that cross
    // midnight are seen from either side.
    (-1..=1).any(|day| {
        let begins = (now.date_naive() + Duration::days(day))
            .and_time(start)
            .and_utc();
        now >= begins - guard && now < begins + length + guard
    })
}

/// Whether `now` falls in the gateway's daily restart itself: from `[ibkr]
/// daily_restart_utc` for `daily_restart_minutes` (no guard around it), when
/// a lost link is expected rather than a fault.
pub fn in_restart_window(config: &Config, now: DateTime<Utc>) -> bool {
    let Some(start) =
        NaiveTime::from_num_seconds_from_midnight_opt(config.ibkr.daily_restart_utc.seconds(), 0)
    else {
        return false;
    };
    let length = Duration::minutes(config.ibkr.daily_restart_minutes.max(0));
    (-1..=0).any(|day| {
        let begins = (now.date_naive() + Duration::days(day))
            .and_time(start)
            .and_utc();
        now >= begins && now < begins + length
    })
}

/// The checks that need no market data, each rule that refuses in the
/// order the gate tries them: the kill switch, the restart guard, the
/// daily loss, the position limits (every refusal, so an operator sees all
/// that stands in the way, not only the first). The IV breaker is not
/// among them: it needs a fresh IV reading to trip or to reset (see
/// [`IvBreakers`]), so the trader asks it after measuring the at-the-money
/// IV.
pub fn pre_entry_refusals(
    config: &Config,
    now: DateTime<Utc>,
    underlying: &str,
    account: &AccountState,
    exposure: &Exposure,
) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    if config.risk.kill_switch {
        refusals.push(Refusal::KillSwitch);
    }
    if in_reset_guard(config, now) {
        refusals.push(Refusal::ResetGuard {
            restart_utc: config.ibkr.daily_restart_utc.to_string(),
            guard_minutes: config.risk.reset_guard_minutes,
        });
    }
    let pnl = account.realised_today + account.unrealised;
    let limit = decimal(config.risk.max_daily_loss);
    if -pnl >= limit {
        refusals.push(Refusal::DailyLoss { loss: -pnl, limit });
    }
    let open = exposure.total();
    if open as i64 >= config.trading.max_positions {
        refusals.push(Refusal::MaxPositions {
            open,
            limit: config.trading.max_positions,
        });
    }
    let here = exposure.on(underlying);
    if here as i64 >= config.trading.max_positions_per_underlying {
        refusals.push(Refusal::MaxPositionsPerUnderlying {
            underlying: underlying.to_string(),
            open: here,
            limit: config.trading.max_positions_per_underlying,
        });
    }
    refusals
}

/// The first rule of [`pre_entry_refusals`] that refuses, if any: what
/// the bot's decision stops at.
pub fn pre_entry(
    config: &Config,
    now: DateTime<Utc>,
    underlying: &str,
    account: &AccountState,
    exposure: &Exposure,
) -> Result<(), Refusal> {
    match pre_entry_refusals(config, now, underlying, account, exposure)
        .into_iter()
        .next()
    {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Contracts for a spread whose max loss per contract (per share times the
/// multiplier) is `max_loss_per_contract`:
/// `floor(NetLiquidation x risk_per_trade_pct / 100 / max_loss)`, capped by
/// `max_contracts_per_trade` and by `max_order_value / max_loss`.
pub fn size(
    config: &Config,
    net_liquidation: Decimal,
    max_loss_per_contract: Decimal,
) -> Result<u32, Refusal> {
    if max_loss_per_contract <= Decimal::ZERO {
        return Err(Refusal::ZeroSize {
            reason: format!("max loss per contract {max_loss_per_contract} is not positive"),
        });
    }
    let budget =
        net_liquidation * decimal(config.trading.risk_per_trade_pct) / Decimal::ONE_HUNDRED;
    let by_risk = (budget / max_loss_per_contract).floor();
    let by_value = (decimal(config.risk.max_order_value) / max_loss_per_contract).floor();
    let cap = Decimal::from(config.trading.max_contracts_per_trade.max(0));
    let contracts = by_risk.min(by_value).min(cap);
    if contracts < Decimal::ONE {
        let reason = if by_risk < Decimal::ONE {
            format!(
                "risk budget {budget} (trading.risk_per_trade_pct of NetLiquidation {net_liquidation}) is below one contract's max loss {max_loss_per_contract}"
            )
        } else {
            format!(
                "risk.max_order_value {} is below one contract's max loss {max_loss_per_contract}",
                config.risk.max_order_value
            )
        };
        return Err(Refusal::ZeroSize { reason });
    }
    Ok(contracts.to_u32().unwrap_or(u32::MAX))
}

/// The three bounds [`size`] takes the smallest of, for a spread whose max
/// loss per contract is `max_loss_per_contract` (positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SizeLimits {
    /// `floor(NetLiquidation x trading.risk_per_trade_pct / 100 / max loss)`.
    pub by_risk: u32,
    /// `floor(risk.max_order_value / max loss)`.
    pub by_order_value: u32,
    /// `trading.max_contracts_per_trade`.
    pub by_contracts: u32,
    /// The smallest of the three: the most spreads an entry may have.
    pub allowed: u32,
    /// The key of the bound that sets `allowed`.
    pub key: &'static str,
}

/// The bounds of [`size`], each on its own.
pub fn size_limits(
    config: &Config,
    net_liquidation: Decimal,
    max_loss_per_contract: Decimal,
) -> SizeLimits {
    let count = |d: Decimal| {
        if max_loss_per_contract <= Decimal::ZERO {
            0
        } else {
            (d / max_loss_per_contract)
                .floor()
                .max(Decimal::ZERO)
                .to_u32()
                .unwrap_or(u32::MAX)
        }
    };
    let by_risk =
        count(net_liquidation * decimal(config.trading.risk_per_trade_pct) / Decimal::ONE_HUNDRED);
    let by_order_value = count(decimal(config.risk.max_order_value));
    let by_contracts = u32::try_from(config.trading.max_contracts_per_trade.max(0)).unwrap_or(0);
    let (allowed, key) = [
        (by_risk, "trading.risk_per_trade_pct"),
        (by_order_value, "risk.max_order_value"),
        (by_contracts, "trading.max_contracts_per_trade"),
    ]
    .into_iter()
    .min_by_key(|(n, _)| *n)
    .unwrap_or((0, "trading.risk_per_trade_pct"));
    SizeLimits {
        by_risk,
        by_order_value,
        by_contracts,
        allowed,
        key,
    }
}

/// After the what-if: the buying power left once the order's initial
/// margin is committed must stay at or above `min_buying_power`.
pub fn after_what_if(
    config: &Config,
    buying_power: Decimal,
    init_margin_change: Decimal,
) -> Result<(), Refusal> {
    let after = buying_power - init_margin_change;
    let minimum = decimal(config.risk.min_buying_power);
    if after < minimum {
        return Err(Refusal::BuyingPower { after, minimum });
    }
    Ok(())
}

/// A switch of an IV breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakerSwitch {
    Tripped,
    Reset,
}

/// The IV circuit breaker of every underlying, with hysteresis: one trips
/// when its IV rises above `max_iv` and resets only once IV is below
/// `max_iv_resume`, so an IV hovering at the limit cannot flap.
#[derive(Debug, Clone, Default)]
pub struct IvBreakers {
    /// Tripped underlyings and the IV that tripped (or last kept) them.
    tripped: HashMap<String, f64>,
}

impl IvBreakers {
    /// Takes a new IV reading; returns the switch it caused, if any.
    pub fn observe(&mut self, config: &Config, underlying: &str, iv: f64) -> Option<BreakerSwitch> {
        if !iv.is_finite() {
            return None;
        }
        match self.tripped.get_mut(underlying) {
            Some(_) if iv < config.risk.max_iv_resume => {
                self.tripped.remove(underlying);
                Some(BreakerSwitch::Reset)
            }
            Some(last) => {
                *last = iv;
                None
            }
            None if iv > config.risk.max_iv => {
                self.tripped.insert(underlying.to_string(), iv);
                Some(BreakerSwitch::Tripped)
            }
            None => None,
        }
    }

    /// The IV that keeps `underlying` blocked, if its breaker is tripped.
    pub fn blocking(&self, underlying: &str) -> Option<f64> {
        self.tripped.get(underlying).copied()
    }
}

#[cfg(test)]
#[path = "risk_tests.rs"]
mod tests;
