//! Trading by hand, as the admin API offers it: a spread named by an
//! operator is previewed (its legs, greeks, payoff, the scanner's numbers
//! and filters, the gateway's what-if, the sizing bounds and every rule of
//! the risk gate that would refuse it), placed as a manual entry through
//! the same gate, sizing, journal and order manager as the bot's entries,
//! or a held spread is closed with a walked order.
//!
//! These are the types of those requests and answers; the trader does the
//! work (`crate::trader`), the [`crate::Engine`] handle audits it.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use vspread_core::broker::BrokerError;
use vspread_core::config::{ExecutionConfig, TradingMode};
use vspread_core::{NetPrice, Right, SpreadKind};

use crate::decision::record::GateVerdict;
use crate::risk::{RuleRefusal, SizeLimits};
use crate::views::{LegGreeks, LegRole, NetGreeks};

/// A vertical spread to preview or trade, as an operator names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(example = OrderTicket::example())]
pub struct OrderTicket {
    /// The underlying's symbol.
    #[schemars(regex(pattern = r"^[A-Z][A-Z0-9.]{0,9}$"))]
    pub symbol: String,
    pub kind: SpreadKind,
    /// The options' expiry date.
    pub expiry: NaiveDate,
    /// The bought leg's strike: the lower one for `bull_call` and
    /// `bull_put`, the higher one for `bear_call` and `bear_put`.
    pub long_strike: Decimal,
    /// The sold leg's strike.
    pub short_strike: Decimal,
    /// Spreads.
    #[schemars(range(min = 1, max = 1000))]
    pub quantity: u32,
    /// How the order walks from the mid toward the natural; each value left
    /// out is `[execution]`'s.
    #[serde(default)]
    pub limit: Option<LimitSettings>,
}

impl OrderTicket {
    fn example() -> Self {
        OrderTicket {
            symbol: "SPY".into(),
            kind: SpreadKind::BullCall,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap_or_default(),
            long_strike: Decimal::from(600),
            short_strike: Decimal::from(605),
            quantity: 1,
            limit: None,
        }
    }
}

/// A manual order's walk, overriding `[execution]` key by key (same names,
/// same ranges).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// Time between two steps of the walk (seconds of the engine's clock).
    #[schemars(range(min = 1.0, max = 600.0))]
    pub walk_interval_s: Option<f64>,
    /// Steps from the mid toward the natural.
    #[schemars(range(min = 0, max = 50))]
    pub max_walk_steps: Option<i64>,
    /// Largest concession from the mid, as % of the mid-to-natural
    /// distance (100 walks up to the natural).
    #[schemars(range(min = 0.0, max = 100.0))]
    pub max_slippage_pct: Option<f64>,
    /// Cancel what is unfilled after this long (seconds).
    #[schemars(range(min = 5.0, max = 86400.0))]
    pub order_timeout_s: Option<f64>,
}

impl LimitSettings {
    /// `execution` with these values in place of its own, or the field
    /// (`limit.<key>`) and why when one is out of its range.
    pub fn apply(&self, execution: &ExecutionConfig) -> Result<ExecutionConfig, ManualError> {
        fn within<T: PartialOrd + Copy + std::fmt::Display>(
            key: &str,
            value: Option<T>,
            lo: T,
            hi: T,
        ) -> Result<Option<T>, ManualError> {
            match value {
                Some(v) if !(lo <= v && v <= hi) => Err(ManualError::invalid(
                    format!("limit.{key}"),
                    format!("{v} is outside {lo} to {hi}"),
                )),
                other => Ok(other),
            }
        }
        let mut e = execution.clone();
        if let Some(v) = within("walk_interval_s", self.walk_interval_s, 1.0, 600.0)? {
            e.walk_interval_s = v;
        }
        if let Some(v) = within("max_walk_steps", self.max_walk_steps, 0, 50)? {
            e.max_walk_steps = v;
        }
        if let Some(v) = within("max_slippage_pct", self.max_slippage_pct, 0.0, 100.0)? {
            e.max_slippage_pct = v;
        }
        if let Some(v) = within("order_timeout_s", self.order_timeout_s, 5.0, 86400.0)? {
            e.order_timeout_s = v;
        }
        Ok(e)
    }
}

/// A close of a held spread by hand: all of it, at a walk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// How the closing order walks; `[execution]` for what is left out.
    #[serde(default)]
    pub limit: Option<LimitSettings>,
}

/// One leg of a previewed spread.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PreviewLeg {
    pub role: LegRole,
    pub con_id: i64,
    pub local_symbol: String,
    pub right: Right,
    pub strike: Decimal,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    /// `(bid + ask) / 2`.
    pub mid: Option<Decimal>,
    pub open_interest: Option<Decimal>,
    /// The gateway's model values, per share of one option.
    pub greeks: LegGreeks,
}

/// The scanner's numbers for the spread, per share, exactly as
/// `docs/scanner.md` defines them (the same f64 a scan of the same quotes
/// ranks it by).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct ScannerNumbers {
    pub width: f64,
    /// Net at the legs' mids.
    pub price: f64,
    pub natural: f64,
    pub max_profit: f64,
    pub max_loss: f64,
    pub breakeven: f64,
    /// Probability of profit under the market's implied distribution.
    pub pop: f64,
    /// `pop * max_profit - (1 - pop) * max_loss`: near zero or negative by
    /// construction under the implied distribution.
    pub ev: f64,
    /// `ev / max_loss`, what the scanner ranks by.
    pub score: f64,
}

/// How one `[scanner]` filter judges the spread.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FilterVerdict {
    /// The funnel's name of the filter.
    pub filter: &'static str,
    /// The config keys that set it (empty for the fixed price rule).
    pub keys: Vec<&'static str>,
    /// What was measured (the worse leg's, for per-leg filters); none when
    /// not measurable (an infinite leg spread without a bid).
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub passed: bool,
}

/// The gateway's what-if of the order: nothing placed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WhatIfView {
    pub init_margin_change: Option<Decimal>,
    pub maint_margin_change: Option<Decimal>,
    pub equity_with_loan_change: Option<Decimal>,
    pub init_margin_after: Option<Decimal>,
    pub maint_margin_after: Option<Decimal>,
    pub equity_with_loan_after: Option<Decimal>,
    pub commission: Option<Decimal>,
    pub min_commission: Option<Decimal>,
    pub max_commission: Option<Decimal>,
    pub commission_currency: String,
    /// The gateway's warning text, if it gave one.
    pub warning: Option<String>,
}

impl From<vspread_core::WhatIf> for WhatIfView {
    fn from(w: vspread_core::WhatIf) -> Self {
        WhatIfView {
            init_margin_change: w.init_margin_change,
            maint_margin_change: w.maint_margin_change,
            equity_with_loan_change: w.equity_with_loan_change,
            init_margin_after: w.init_margin_after,
            maint_margin_after: w.maint_margin_after,
            equity_with_loan_after: w.equity_with_loan_after,
            commission: w.commission,
            min_commission: w.min_commission,
            max_commission: w.max_commission,
            commission_currency: w.commission_currency,
            warning: w.warning,
        }
    }
}

/// The prices an order would walk through.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WalkView {
    /// The first limit (the mid on the tick grid), then one per step; the
    /// last is the bound the order never concedes past.
    pub prices: Vec<NetPrice>,
    pub walk_interval_s: f64,
    pub order_timeout_s: f64,
    pub max_walk_steps: i64,
    pub max_slippage_pct: f64,
}

impl WalkView {
    pub(crate) fn of(prices: Vec<NetPrice>, e: &ExecutionConfig) -> Self {
        WalkView {
            prices,
            walk_interval_s: e.walk_interval_s,
            order_timeout_s: e.order_timeout_s,
            max_walk_steps: e.max_walk_steps,
            max_slippage_pct: e.max_slippage_pct,
        }
    }
}

/// Everything an operator sees before placing a spread.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PreviewReport {
    /// When it was made, on the engine's clock.
    pub at: DateTime<Utc>,
    /// The account type in force (`paper` or `live`).
    pub mode: TradingMode,
    pub symbol: String,
    pub kind: SpreadKind,
    pub expiry: NaiveDate,
    pub dte: i64,
    pub quantity: u32,
    /// Shares per contract.
    pub multiplier: u32,
    pub width: Decimal,
    /// The underlying's last price (or mid).
    pub underlying: f64,
    /// The bought leg, then the sold one.
    pub legs: Vec<PreviewLeg>,
    /// Long leg's greeks less the short leg's, per spread and in all.
    pub net_greeks: Option<NetGreeks>,
    /// Net at the legs' mids, and crossing their quotes (exact).
    pub mid: NetPrice,
    pub natural: NetPrice,
    /// At the mid, for all the spreads, in money (exact).
    pub max_profit: Decimal,
    pub max_loss: Decimal,
    /// The underlying's prices at expiry where the spread breaks even at
    /// the mid (one for a vertical).
    pub breakevens: Vec<Decimal>,
    pub scanner: ScannerNumbers,
    /// Each `[scanner]` filter on this spread, in the scanner's order. A
    /// manual order is not held to them; the bot is.
    pub filters: Vec<FilterVerdict>,
    /// The gateway's what-if of the order at its first limit; none when
    /// `[execution] what_if` is off for an order (a preview always asks).
    pub what_if: Option<WhatIfView>,
    pub net_liquidation: Decimal,
    pub buying_power: Decimal,
    /// `buying_power - init_margin_change`.
    pub buying_power_after: Option<Decimal>,
    /// The most spreads the sizing allows, and each bound.
    pub sizing: SizeLimits,
    /// One spread's max loss at the mid, in money: what sizing divides by.
    pub max_loss_per_spread: Decimal,
    /// Every rule that would refuse the order, with its numbers.
    pub gate: GateVerdict,
    /// The walk the order would take.
    pub walk: WalkView,
}

/// A manual entry handed to the order manager.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManualPlaced {
    /// The order's reference (`vs-<16 hex>-m0`): follow it in `/orders`
    /// and on the event stream.
    pub order_ref: String,
    /// The spread it opens is named by the same reference.
    pub spread_ref: String,
    /// The preview the order was decided on.
    pub preview: PreviewReport,
}

/// A closing order of a held spread handed to the order manager.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManualClosing {
    pub spread_ref: String,
    pub order_ref: String,
    pub quantity: u32,
    pub mid: NetPrice,
    pub natural: NetPrice,
    pub walk: WalkView,
}

/// One bad field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FieldError {
    /// The request's field (`long_strike`, `limit.max_walk_steps`, ...).
    pub field: String,
    pub message: String,
}

/// Why a preview, a manual order or a manual close was not done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ManualError {
    /// A field names what cannot be traded (an unknown symbol, expiry or
    /// strike; strikes the kind cannot have; a value out of range).
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The market gives nothing to price it from now.
    #[error("{0}")]
    NoMarket(String),
    /// The risk gate refused: every rule that did.
    #[error("refused: {}", .0.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused(Vec<RuleRefusal>),
    /// No spread of that reference is held.
    #[error("no held spread `{0}`")]
    NotHeld(String),
    /// A closing order already works for the spread.
    #[error("`{spread_ref}` is already being closed by `{order_ref}`")]
    Closing {
        spread_ref: String,
        order_ref: String,
    },
    /// The gateway failed to answer.
    #[error("the gateway: {0}")]
    Gateway(BrokerError),
    /// The engine could not do its part (the journal, the order manager).
    #[error("{0}")]
    Internal(String),
}

impl ManualError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ManualError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<BrokerError> for ManualError {
    fn from(e: BrokerError) -> Self {
        ManualError::Gateway(e)
    }
}

/// Days from `today` to `expiry`.
pub(crate) fn days_to(expiry: NaiveDate, today: NaiveDate) -> i64 {
    (expiry - today).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_settings_override_execution_within_its_ranges() {
        let base = ExecutionConfig::default();
        let e = LimitSettings {
            max_walk_steps: Some(2),
            max_slippage_pct: Some(100.0),
            ..LimitSettings::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!((e.max_walk_steps, e.max_slippage_pct), (2, 100.0));
        assert_eq!(e.walk_interval_s, base.walk_interval_s);
        let err = LimitSettings {
            order_timeout_s: Some(1.0),
            ..LimitSettings::default()
        }
        .apply(&base)
        .unwrap_err();
        let ManualError::Invalid(fields) = err else {
            panic!("{err}")
        };
        assert_eq!(fields[0].field, "limit.order_timeout_s");
    }

    #[test]
    fn a_ticket_reads_strikes_as_strings_or_numbers_and_refuses_unknown_fields() {
        let t: OrderTicket = serde_json::from_value(serde_json::json!({
            "symbol": "SPY", "kind": "bull_call", "expiry": "2026-12-18",
            "long_strike": "600", "short_strike": 605, "quantity": 2
        }))
        .unwrap();
        assert_eq!(t.short_strike, Decimal::from(605));
        assert!(
            serde_json::from_value::<OrderTicket>(serde_json::json!({
                "symbol": "SPY", "kind": "bull_call", "expiry": "2026-12-18",
                "long_strike": "600", "short_strike": "605", "quantity": 2, "price": 1
            }))
            .is_err()
        );
    }
}
