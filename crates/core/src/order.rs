//! Order intents: what the engine decided to send, before any broker wire
//! format. A [`SpreadOrder`] opens or closes a vertical at a net limit price;
//! its [`OrderRef`] is derived from the decision that made it, so after a
//! crash or reconnect the same decision finds its order again instead of
//! sending a second one. [`OrderState`] is the engine's view of the order's
//! lifecycle, fed by the gateway's statuses.
//!
//! ```
//! use chrono::NaiveDate;
//! use vspread_core::{
//!     OptionContract, OrderPurpose, OrderRef, Price, Right, Side, SpreadKind, SpreadOrder, Tick,
//!     VerticalSpread,
//! };
//!
//! let leg = |strike: &str| {
//!     OptionContract::builder()
//!         .underlying("AAPL")
//!         .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
//!         .strike(strike.parse().unwrap())
//!         .right(Right::Call)
//!         .build()
//! };
//! let spread = VerticalSpread::from_strikes(SpreadKind::BullCall, leg("100")?, leg("105")?)?;
//! let mid: Price = "2.137".parse()?;
//! assert_eq!(spread.max_loss(mid)?.to_string(), "213.7");
//!
//! let order = SpreadOrder::builder(
//!     OrderRef::for_decision("2026-11-23/AAPL/bull_call/100-105", OrderPurpose::Entry, 0)?,
//!     spread,
//! )
//! .purpose(OrderPurpose::Entry)
//! .quantity(2)
//! .limit_rounded(mid, Tick::NICKEL) // a debit entry pays: rounds down
//! .build()?;
//! assert_eq!((order.side(), order.limit().to_string()), (Side::Buy, "2.1".to_string()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::broker::OrderStatus;
use crate::money::{Price, Tick};
use crate::spread::VerticalSpread;

/// Which side of a trade: who pays. For a spread, the buyer pays the net
/// price (opening a debit spread, closing a credit one) and the seller
/// receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Whether an order opens a position or closes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderPurpose {
    Entry,
    Exit,
}

/// How long an order stays working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Until the end of the session (IB's `DAY`).
    #[default]
    #[serde(rename = "DAY")]
    Day,
    /// Until cancelled (IB's `GTC`).
    #[serde(rename = "GTC")]
    GoodTillCancelled,
}

impl TimeInForce {
    /// IB's code for it.
    pub fn code(self) -> &'static str {
        match self {
            TimeInForce::Day => "DAY",
            TimeInForce::GoodTillCancelled => "GTC",
        }
    }
}

/// Why an order reference or an order intent was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("`{0}` is not a vspread order reference (expected vs-<16 hex>-<e|x><attempt>)")]
    ForeignRef(String),
    #[error("a decision id must not be empty")]
    EmptyDecision,
    #[error("order needs `{0}`")]
    Missing(&'static str),
    #[error("quantity must be at least 1")]
    ZeroQuantity,
    #[error("limit {limit} is outside {allowed} for an {purpose:?} of a spread {width} wide")]
    LimitOutOfRange {
        limit: Price,
        width: Price,
        purpose: OrderPurpose,
        allowed: &'static str,
    },
}

/// The `orderRef` attached to an order for its lifetime:
/// `vs-<16 hex digits>-<e|x><attempt>`, at most [`OrderRef::MAX_LEN`]
/// characters.
///
/// The hex digits are a stable 64-bit FNV-1a hash of the decision id (the
/// same in every process and build), `e`/`x` say entry or exit, and the
/// attempt counts replacements of a cancelled order for the same decision.
/// IB documents no length limit; we stay under 32 characters of
/// `[a-z0-9-]` so the reference survives every client and the TWS display.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderRef(String);

impl OrderRef {
    /// Longest reference this type produces or accepts.
    pub const MAX_LEN: usize = 32;

    /// The reference for `attempt` (from 0) of a decision's entry or exit.
    pub fn for_decision(
        decision_id: &str,
        purpose: OrderPurpose,
        attempt: u32,
    ) -> Result<Self, OrderError> {
        if decision_id.is_empty() {
            return Err(OrderError::EmptyDecision);
        }
        let tag = match purpose {
            OrderPurpose::Entry => 'e',
            OrderPurpose::Exit => 'x',
        };
        Ok(OrderRef(format!(
            "vs-{:016x}-{tag}{attempt}",
            fnv1a64(decision_id.as_bytes())
        )))
    }

    /// Reads a reference back from the gateway; refuses one this system did
    /// not make, so reconciliation can tell its orders from others'.
    pub fn parse(text: &str) -> Result<Self, OrderError> {
        let foreign = || OrderError::ForeignRef(text.to_string());
        let rest = text.strip_prefix("vs-").ok_or_else(foreign)?;
        let (hash, tail) = rest.split_once('-').ok_or_else(foreign)?;
        let hex_ok = hash.len() == 16
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let attempt = tail
            .strip_prefix('e')
            .or_else(|| tail.strip_prefix('x'))
            .ok_or_else(foreign)?;
        let attempt_ok = !attempt.is_empty()
            && attempt.bytes().all(|b| b.is_ascii_digit())
            && (attempt == "0" || !attempt.starts_with('0'))
            && attempt.parse::<u32>().is_ok();
        if hex_ok && attempt_ok && text.len() <= Self::MAX_LEN {
            Ok(OrderRef(text.to_string()))
        } else {
            Err(foreign())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Entry or exit, as encoded in the reference.
    pub fn purpose(&self) -> OrderPurpose {
        if self.0.as_bytes()[20] == b'e' {
            OrderPurpose::Entry
        } else {
            OrderPurpose::Exit
        }
    }

    /// Which attempt of the decision's entry or exit this is.
    pub fn attempt(&self) -> u32 {
        self.0[21..].parse().unwrap_or_default()
    }
}

/// 64-bit FNV-1a: tiny, stable across Rust versions (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl fmt::Display for OrderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for OrderRef {
    type Error = OrderError;
    fn try_from(s: String) -> Result<Self, OrderError> {
        OrderRef::parse(&s)
    }
}

impl From<OrderRef> for String {
    fn from(r: OrderRef) -> String {
        r.0
    }
}

/// A limit order to open or close `quantity` verticals at a net price per
/// share (the spec's convention: positive, paid for a debit spread's entry,
/// received for a credit spread's entry, the reverse on exit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpreadOrder {
    order_ref: OrderRef,
    spread: VerticalSpread,
    purpose: OrderPurpose,
    quantity: u32,
    limit: Price,
    tif: TimeInForce,
}

impl SpreadOrder {
    /// Starts an order for `spread`; purpose, quantity and limit are
    /// required, the time in force defaults to DAY.
    pub fn builder(order_ref: OrderRef, spread: VerticalSpread) -> SpreadOrderBuilder {
        SpreadOrderBuilder {
            order_ref,
            spread,
            purpose: None,
            quantity: None,
            limit: None,
            tif: TimeInForce::default(),
        }
    }

    pub fn order_ref(&self) -> &OrderRef {
        &self.order_ref
    }
    pub fn spread(&self) -> &VerticalSpread {
        &self.spread
    }
    pub fn purpose(&self) -> OrderPurpose {
        self.purpose
    }
    /// Number of spreads.
    pub fn quantity(&self) -> u32 {
        self.quantity
    }
    /// Net price per share, positive (see the type's doc).
    pub fn limit(&self) -> Price {
        self.limit
    }
    pub fn tif(&self) -> TimeInForce {
        self.tif
    }

    /// Whether this order pays the net price (buys the spread as quoted) or
    /// receives it.
    pub fn side(&self) -> Side {
        side_of(&self.spread, self.purpose)
    }

    /// The same order at a new limit (a price walk), checked like the first.
    pub fn with_limit(&self, limit: Price) -> Result<SpreadOrder, OrderError> {
        check_limit(&self.spread, self.purpose, limit)?;
        Ok(SpreadOrder {
            limit,
            ..self.clone()
        })
    }
}

fn side_of(spread: &VerticalSpread, purpose: OrderPurpose) -> Side {
    match (spread.is_debit(), purpose) {
        (true, OrderPurpose::Entry) | (false, OrderPurpose::Exit) => Side::Buy,
        (false, OrderPurpose::Entry) | (true, OrderPurpose::Exit) => Side::Sell,
    }
}

/// An entry must be strictly inside (0, width), as the scanner requires of
/// a candidate; an exit may be anywhere in [0, width] (closing a worthless
/// spread for nothing, or a deep in-the-money one near its width).
fn check_limit(
    spread: &VerticalSpread,
    purpose: OrderPurpose,
    limit: Price,
) -> Result<(), OrderError> {
    let width = spread.width();
    let (ok, allowed) = match purpose {
        OrderPurpose::Entry => (limit.is_positive() && limit < width, "(0, width)"),
        OrderPurpose::Exit => (limit >= Price::ZERO && limit <= width, "[0, width]"),
    };
    if ok {
        Ok(())
    } else {
        Err(OrderError::LimitOutOfRange {
            limit,
            width,
            purpose,
            allowed,
        })
    }
}

/// Builds a [`SpreadOrder`].
#[derive(Debug, Clone)]
pub struct SpreadOrderBuilder {
    order_ref: OrderRef,
    spread: VerticalSpread,
    purpose: Option<OrderPurpose>,
    quantity: Option<u32>,
    limit: Option<Price>,
    tif: TimeInForce,
}

impl SpreadOrderBuilder {
    pub fn purpose(mut self, purpose: OrderPurpose) -> Self {
        self.purpose = Some(purpose);
        self
    }
    pub fn quantity(mut self, quantity: u32) -> Self {
        self.quantity = Some(quantity);
        self
    }
    /// A limit already on the contract's tick.
    pub fn limit(mut self, limit: Price) -> Self {
        self.limit = Some(limit);
        self
    }
    /// A raw (model or mid) net price, rounded onto `tick` in this order's
    /// favour: down when it pays, up when it receives. Set the purpose
    /// first; without one the limit stays unset and `build` says so.
    pub fn limit_rounded(mut self, raw: Price, tick: Tick) -> Self {
        self.limit = self
            .purpose
            .map(|p| raw.round_for(side_of(&self.spread, p), tick));
        self
    }
    pub fn tif(mut self, tif: TimeInForce) -> Self {
        self.tif = tif;
        self
    }

    /// Checks the intent: purpose, quantity and limit set, quantity at
    /// least 1, limit inside the spread's width (see [`SpreadOrder`]).
    pub fn build(self) -> Result<SpreadOrder, OrderError> {
        let purpose = self.purpose.ok_or(OrderError::Missing("purpose"))?;
        let quantity = self.quantity.ok_or(OrderError::Missing("quantity"))?;
        if quantity == 0 {
            return Err(OrderError::ZeroQuantity);
        }
        let limit = self.limit.ok_or(OrderError::Missing("limit"))?;
        check_limit(&self.spread, purpose, limit)?;
        Ok(SpreadOrder {
            order_ref: self.order_ref,
            spread: self.spread,
            purpose,
            quantity,
            limit,
            tif: self.tif,
        })
    }
}

/// Where an order stands, from the engine's side. The journal records
/// `Intended` before the order is transmitted, so a crash between the two
/// leaves a trace reconciliation can resolve by [`OrderRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Decided and journaled, not yet sent.
    Intended,
    /// Sent; the gateway has not confirmed it.
    Submitted,
    /// Confirmed and working, nothing filled.
    Working,
    /// Some spreads filled, the rest working.
    PartiallyFilled,
    /// Cancel asked for; fills may still arrive.
    CancelRequested,
    Filled,
    /// Cancelled (possibly after partial fills).
    Cancelled,
    /// Refused by risk checks or the gateway, or made inactive by it.
    Rejected,
}

/// A status that cannot follow the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("order is {from:?}; it cannot become {to:?}")]
pub struct IllegalTransition {
    pub from: OrderState,
    pub to: OrderState,
}

impl OrderState {
    /// No further change will come.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderState::Filled | OrderState::Cancelled | OrderState::Rejected
        )
    }

    fn stage(self) -> u8 {
        match self {
            OrderState::Intended => 0,
            OrderState::Submitted => 1,
            OrderState::Working => 2,
            OrderState::PartiallyFilled => 3,
            OrderState::CancelRequested => 4,
            OrderState::Filled | OrderState::Cancelled | OrderState::Rejected => 5,
        }
    }

    /// The state after hearing `next`. Statuses only move forward: a stale
    /// or repeated one (IB resends `Submitted` after fills) leaves the state
    /// as it is; leaving a terminal state is an error worth logging, since
    /// it means the books disagree with the gateway.
    pub fn advance(self, next: OrderState) -> Result<OrderState, IllegalTransition> {
        if self == next {
            return Ok(self);
        }
        if self.is_terminal() {
            return Err(IllegalTransition {
                from: self,
                to: next,
            });
        }
        Ok(if next.stage() > self.stage() {
            next
        } else {
            self
        })
    }

    /// The engine state for a gateway status, given how many spreads have
    /// filled so far.
    pub fn from_broker(status: OrderStatus, filled: u32) -> OrderState {
        match status {
            OrderStatus::PendingSubmit => OrderState::Submitted,
            OrderStatus::PreSubmitted | OrderStatus::Submitted if filled > 0 => {
                OrderState::PartiallyFilled
            }
            OrderStatus::PreSubmitted | OrderStatus::Submitted => OrderState::Working,
            OrderStatus::PendingCancel => OrderState::CancelRequested,
            OrderStatus::Cancelled => OrderState::Cancelled,
            OrderStatus::Filled => OrderState::Filled,
            OrderStatus::Inactive => OrderState::Rejected,
        }
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
