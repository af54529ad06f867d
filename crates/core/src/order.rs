//! The order vocabulary: what the engine sends and what the gateway says
//! back about it, in domain types (the broker layer turns them into TWS
//! messages and back).
//!
//! An [`OrderRequest`] opens or closes a vertical (one combo order) or
//! trades a single contract at a limit; its `orderRef` ([`OrderRef`]) is
//! derived from the decision that made it, so after a crash or reconnect
//! the same decision finds its order again instead of sending a second one.
//! The gateway reports [`OrderEvent`]s (statuses, executions, commissions,
//! rejections); [`OrderState`] is the engine's view of the lifecycle they
//! describe.
//!
//! ```
//! use chrono::NaiveDate;
//! use rust_decimal::Decimal;
//! use vspread_core::{
//!     NetPrice, OptionContract, OrderPurpose, OrderRef, OrderRequest, Price, Right, Side,
//!     SpreadKind, Tick, VerticalSpread,
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
//! let order_ref = OrderRef::for_decision("2026-11-23/AAPL/bull_call/100-105", OrderPurpose::Entry, 0)?;
//! // A debit entry pays: its limit rounds down onto the tick.
//! let limit = NetPrice::for_spread(&spread, OrderPurpose::Entry, mid.round_for(Side::Buy, Tick::NICKEL).value());
//! let order = OrderRequest::vertical(order_ref.as_str(), spread, OrderPurpose::Entry, 2, limit)?;
//! assert_eq!(order.side(), Side::Buy);
//! assert_eq!(limit, NetPrice::Debit(Decimal::new(210, 2)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contract::ContractInfo;
use crate::fill::Execution;
use crate::money::Price;
use crate::spread::VerticalSpread;

/// Which side of a trade: who pays. For a spread, the buyer pays the net
/// price (opening a debit spread, closing a credit one) and the seller
/// receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    /// IB's action code (`BUY` / `SELL`).
    pub fn code(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }

    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// Whether an order opens a position or closes one, and who decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderPurpose {
    /// Opens a spread the bot decided on.
    Entry,
    /// Closes (part of) a held spread.
    Exit,
    /// Opens a spread an operator asked for by hand (the admin API): it
    /// trades, counts against the limits and is booked like an entry.
    Manual,
}

impl OrderPurpose {
    /// Every purpose, in declaration order.
    pub const ALL: [OrderPurpose; 3] = [
        OrderPurpose::Entry,
        OrderPurpose::Exit,
        OrderPurpose::Manual,
    ];

    /// It opens a spread (an entry, the bot's or an operator's).
    pub fn opens(self) -> bool {
        !matches!(self, OrderPurpose::Exit)
    }

    /// The snake_case name the journal, the API and the metrics use.
    pub fn name(self) -> &'static str {
        match self {
            OrderPurpose::Entry => "entry",
            OrderPurpose::Exit => "exit",
            OrderPurpose::Manual => "manual",
        }
    }

    /// The purpose named `name` ([`name`](Self::name)'s inverse).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// How long an order stays working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum TimeInForce {
    /// Until the end of the session (IB's `DAY`).
    #[default]
    #[serde(rename = "DAY", alias = "Day")]
    Day,
    /// Until cancelled (IB's `GTC`).
    #[serde(rename = "GTC", alias = "Gtc")]
    GoodTillCancelled,
}

impl TimeInForce {
    /// Reads IB's code (`DAY` / `GTC`, any case); empty is `DAY`, as IB
    /// takes it.
    pub fn parse(code: &str) -> Option<TimeInForce> {
        match code.to_ascii_uppercase().as_str() {
            "" | "DAY" => Some(TimeInForce::Day),
            "GTC" => Some(TimeInForce::GoodTillCancelled),
            _ => None,
        }
    }

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
    #[error("`{0}` is not a vspread order reference (expected vs-<16 hex>-<e|x|m><attempt>)")]
    ForeignRef(String),
    #[error("a decision id must not be empty")]
    EmptyDecision,
    #[error("a {purpose:?} of this spread trades on the other side than {price:?}")]
    WrongSide {
        purpose: OrderPurpose,
        price: NetPrice,
    },
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
/// `vs-<16 hex digits>-<e|x|m><attempt>`, at most [`OrderRef::MAX_LEN`]
/// characters.
///
/// The hex digits are a stable 64-bit FNV-1a hash of the decision id (the
/// same in every process and build), `e`/`x`/`m` say entry, exit or manual
/// entry (so the gateway's order list shows which orders a person made), and the
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
            OrderPurpose::Manual => 'm',
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
            .or_else(|| tail.strip_prefix('m'))
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

    /// Entry, exit or manual entry, as encoded in the reference.
    pub fn purpose(&self) -> OrderPurpose {
        match self.0.as_bytes()[20] {
            b'e' => OrderPurpose::Entry,
            b'm' => OrderPurpose::Manual,
            _ => OrderPurpose::Exit,
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

/// An order id as the gateway knows it (per client id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BrokerOrderId(pub i64);

impl fmt::Display for BrokerOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {}", self.0)
    }
}

/// A spread's net price per share: what is paid or received. Always >= 0;
/// the side says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "side", content = "amount")]
pub enum NetPrice {
    /// Paid.
    Debit(Decimal),
    /// Received.
    Credit(Decimal),
}

impl NetPrice {
    /// The amount per share, whichever side it is on.
    pub fn amount(self) -> Decimal {
        match self {
            NetPrice::Debit(a) | NetPrice::Credit(a) => a,
        }
    }

    pub fn is_credit(self) -> bool {
        matches!(self, NetPrice::Credit(_))
    }

    /// `amount` on the side an order with `purpose` trades `spread` on: an
    /// entry of a debit spread pays, its exit receives; a credit spread the
    /// reverse.
    pub fn for_spread(spread: &VerticalSpread, purpose: OrderPurpose, amount: Decimal) -> Self {
        match side_of(spread, purpose) {
            Side::Buy => NetPrice::Debit(amount),
            Side::Sell => NetPrice::Credit(amount),
        }
    }
}

/// A new price for a working order: a single order's limit or a vertical's
/// net price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetPriceOrLimit {
    Limit(Decimal),
    Net(NetPrice),
}

/// What an order trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderTarget {
    /// One contract at a limit price.
    Single {
        contract: ContractInfo,
        side: Side,
        limit: Decimal,
    },
    /// A vertical as one combo (BAG) order: an entry opens it, an exit
    /// closes it.
    Vertical {
        spread: VerticalSpread,
        purpose: OrderPurpose,
        price: NetPrice,
    },
}

/// A limit order to place. `order_ref` identifies it across reconnects and
/// restarts: it is derived from the decision that made the order and must
/// be unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub order_ref: String,
    pub target: OrderTarget,
    pub quantity: u32,
    pub tif: TimeInForce,
}

impl OrderRequest {
    /// A DAY combo order opening (`Entry`) or closing (`Exit`) `quantity`
    /// of `spread` at `price`, checked: at least one spread, the price on
    /// the side the purpose trades, and inside the spread's width (an entry
    /// strictly inside (0, width), as the scanner requires of a candidate;
    /// an exit anywhere in [0, width], closing a worthless spread for
    /// nothing or a deep in-the-money one near its width).
    pub fn vertical(
        order_ref: &str,
        spread: VerticalSpread,
        purpose: OrderPurpose,
        quantity: u32,
        price: NetPrice,
    ) -> Result<Self, OrderError> {
        if quantity == 0 {
            return Err(OrderError::ZeroQuantity);
        }
        check_price(&spread, purpose, price)?;
        Ok(OrderRequest {
            order_ref: order_ref.to_string(),
            target: OrderTarget::Vertical {
                spread,
                purpose,
                price,
            },
            quantity,
            tif: TimeInForce::Day,
        })
    }

    /// Whether this order pays (buys the target as quoted) or receives.
    pub fn side(&self) -> Side {
        match &self.target {
            OrderTarget::Single { side, .. } => *side,
            OrderTarget::Vertical {
                spread, purpose, ..
            } => side_of(spread, *purpose),
        }
    }

    /// The same order at another net price (a walk step), checked like the
    /// first; a single-contract order is returned as it is.
    pub fn with_price(&self, price: NetPrice) -> Result<Self, OrderError> {
        let mut next = self.clone();
        if let OrderTarget::Vertical {
            spread,
            purpose,
            price: p,
        } = &mut next.target
        {
            check_price(spread, *purpose, price)?;
            *p = price;
        }
        Ok(next)
    }
}

fn side_of(spread: &VerticalSpread, purpose: OrderPurpose) -> Side {
    // Opening a debit spread buys it; closing a credit spread buys it back.
    if spread.is_debit() == purpose.opens() {
        Side::Buy
    } else {
        Side::Sell
    }
}

fn check_price(
    spread: &VerticalSpread,
    purpose: OrderPurpose,
    price: NetPrice,
) -> Result<(), OrderError> {
    let expected = NetPrice::for_spread(spread, purpose, price.amount());
    if expected != price {
        return Err(OrderError::WrongSide { purpose, price });
    }
    let (limit, width) = (Price::new(price.amount()), spread.width());
    let (ok, allowed) = if purpose.opens() {
        (limit.is_positive() && limit < width, "(0, width)")
    } else {
        (limit >= Price::ZERO && limit <= width, "[0, width]")
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

/// A what-if preview: margin and commission the order would cost.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WhatIf {
    pub init_margin_change: Option<Decimal>,
    pub maint_margin_change: Option<Decimal>,
    pub equity_with_loan_change: Option<Decimal>,
    pub init_margin_after: Option<Decimal>,
    pub maint_margin_after: Option<Decimal>,
    /// The account's equity with loan value once the order filled.
    pub equity_with_loan_after: Option<Decimal>,
    pub commission: Option<Decimal>,
    pub min_commission: Option<Decimal>,
    pub max_commission: Option<Decimal>,
    pub commission_currency: String,
    pub warning: Option<String>,
}

/// An order's status as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OrderStatus {
    PendingSubmit,
    PreSubmitted,
    Submitted,
    PendingCancel,
    Cancelled,
    Filled,
    Inactive,
}

impl OrderStatus {
    /// No further change will come.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Cancelled | OrderStatus::Filled | OrderStatus::Inactive
        )
    }
}

/// Something that happened to an order; per order, in the gateway's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderEvent {
    Status {
        order_id: BrokerOrderId,
        order_ref: String,
        status: OrderStatus,
        filled: Decimal,
        remaining: Decimal,
        average_fill_price: Option<Decimal>,
    },
    Execution(Execution),
    Commission {
        exec_id: String,
        order_ref: String,
        commission: Decimal,
        currency: String,
    },
    /// The gateway refused or dropped the order (codes 103, 110, 201, 321, ...).
    Rejected {
        order_id: BrokerOrderId,
        order_ref: String,
        code: i32,
        reason: String,
    },
}

impl OrderEvent {
    /// The `orderRef` of the order the event is about.
    pub fn order_ref(&self) -> &str {
        match self {
            OrderEvent::Status { order_ref, .. }
            | OrderEvent::Commission { order_ref, .. }
            | OrderEvent::Rejected { order_ref, .. } => order_ref,
            OrderEvent::Execution(x) => &x.order_ref,
        }
    }
}

/// Where an order stands, from the engine's side. The journal records
/// `Intended` before the order is transmitted, so a crash between the two
/// leaves a trace reconciliation can resolve by [`OrderRef`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
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
