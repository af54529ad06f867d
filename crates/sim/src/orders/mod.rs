//! Orders, matching and executions: what happens to an order between
//! `placeOrder` and its last fill, for single contracts and BAG combos.
//!
//! The [`Venue`] holds the account and the order book and is the single
//! thing the wire side calls: [`Venue::place`], [`Venue::what_if`],
//! [`Venue::cancel`], [`Venue::cancel_all`] and [`Venue::on_tick`] return
//! [`OrderEvent`]s in the order TWS would report them. It is serialisable
//! (serde) so `--state FILE` can save and restore it.
//!
//! ## Fill model
//! - **Natural price.** A combo's price is `Σ ratio × leg price`, + for legs
//!   bought and − for legs sold, per the combo's definition. A BUY order
//!   pays the natural `Σ BUY-leg asks − Σ SELL-leg bids`; a SELL order
//!   reverses every leg and receives `Σ BUY-leg bids − Σ SELL-leg asks`. A
//!   single option or stock is a one-leg combo. A leg that must be sold into
//!   a missing bid makes the order unmarketable.
//! - **Marketable** (BUY natural ≤ limit, SELL natural ≥ limit, or a market
//!   order): fills at the natural price, i.e. at the limit or better, at
//!   once on placement and then on every tick while still marketable.
//! - **Resting** (limit between the far side and the natural): fills at
//!   its limit as a seeded hazard process with a rate per simulated minute
//!   that rises with the limit's aggressiveness `a` (0 at the far side, ½
//!   at the mid, 1 at the natural) and falls with the legs' relative
//!   bid-ask width and the underlying's illiquidity; see [`model`]. Each
//!   simulated second is one draw (a hash of the seed, the order's permId
//!   and the second), so runs replay. A limit beyond the far side fills
//!   only when the market moves through it.
//! - **Partial fills.** Each fill takes `1 + h mod max_chunk` combos (h a
//!   seeded hash, `max_chunk` 5 by default, 1 when partial fills are forced),
//!   never more than the legs' displayed sizes allow (the ask size of each
//!   leg bought, the bid size of each leg sold, divided by its ratio), at
//!   most one fill per order per simulated second, so a 12-lot fills over
//!   several ticks and the fills sum to the quantity.
//! - **Hours.** Orders fill only while the market is open. An order placed
//!   while closed is `PreSubmitted` until the open. DAY orders are cancelled
//!   at the close of their session (never, when always open); GTC orders
//!   persist. An order whose leg expires is cancelled.
//! - **Leg prices.** At the natural, bought legs fill at their ask and sold
//!   legs at their bid. At a limit, legs start from their mids (to the cent)
//!   and the first leg absorbs the difference, so the legs sum to the limit.
//!
//! ## Executions
//! Each fill produces one [`Execution`] per leg (`BOT`/`SLD`, shares =
//! combos × ratio, the leg's price, its share of the commission and the P&L
//! it realised) and, for a combo, one BAG-level execution at the net combo
//! price with zero commission ([`ExecutionScope::Combo`]). The wire side
//! sends each execution followed by its commission report.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use rust_decimal::Decimal;
//! use vspread_core::Right;
//! use vspread_sim::market::{Market, MarketConfig};
//! use vspread_sim::orders::*;
//!
//! let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
//! let market = Market::new(MarketConfig { seed: 7, start, always_open: false });
//! let mut venue = Venue::new(VenueConfig::new(7));
//!
//! // A bull call spread: buy the lower strike, sell the higher.
//! let expiry = market.expiries("SPY")[3];
//! let strikes = market.strikes("SPY", expiry);
//! let mid = strikes.len() / 2;
//! let long = market.find_option("SPY", expiry, strikes[mid], Right::Call).unwrap();
//! let short = market.find_option("SPY", expiry, strikes[mid + 5], Right::Call).unwrap();
//! let request = OrderRequest {
//!     client_id: 1,
//!     order_id: 1,
//!     contract: OrderContract::Combo {
//!         symbol: "SPY".into(),
//!         legs: vec![
//!             ComboLeg { con_id: long.con_id, ratio: 1, action: Action::Buy },
//!             ComboLeg { con_id: short.con_id, ratio: 1, action: Action::Sell },
//!         ],
//!     },
//!     action: Action::Buy,
//!     quantity: Decimal::ONE,
//!     order_type: OrderType::Limit,
//!     limit_price: Some(Decimal::from(5)), // a debit of at most $5.00
//!     tif: TimeInForce::Day,
//!     order_ref: "example".into(),
//!     account: String::new(),
//! };
//! let what_if = venue.what_if(&market, &request).unwrap();
//! assert_eq!(what_if.init_margin_change, Decimal::from(500)); // max loss of the debit
//! let events = venue.place(&market, request, market.now()).unwrap();
//! assert!(events.iter().any(|e| matches!(e, OrderEvent::Execution(_))));
//! assert_eq!(venue.order(1, 1).unwrap().status, OrderStatus::Filled);
//! ```

pub mod commission;
pub mod fill;
pub mod model;
mod venue;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::Side;

pub use model::FillModel;
pub use venue::{Venue, VenueConfig, WhatIf};

/// An order's or a leg's action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    Buy,
    Sell,
}

impl Action {
    /// `BUY` / `SELL`.
    pub fn code(self) -> &'static str {
        match self {
            Action::Buy => "BUY",
            Action::Sell => "SELL",
        }
    }

    /// Parses `BUY` / `SELL` (also `SSHORT` as SELL), case-insensitive.
    pub fn parse(text: &str) -> Option<Action> {
        match text.to_ascii_uppercase().as_str() {
            "BUY" => Some(Action::Buy),
            "SELL" | "SSHORT" => Some(Action::Sell),
            _ => None,
        }
    }

    pub fn reversed(self) -> Action {
        match self {
            Action::Buy => Action::Sell,
            Action::Sell => Action::Buy,
        }
    }
}

/// One leg of a BAG combo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComboLeg {
    pub con_id: i32,
    /// Units of this leg per combo (≥ 1).
    pub ratio: u32,
    pub action: Action,
}

/// What an order trades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderContract {
    /// A single listed contract (stock or option).
    Single { con_id: i32 },
    /// A BAG combo of options on one underlying (2 to 4 legs).
    Combo { symbol: String, legs: Vec<ComboLeg> },
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderType {
    /// `LMT`.
    Limit,
    /// `MKT`: fills at the natural price.
    Market,
}

impl OrderType {
    /// Parses `LMT` / `MKT`.
    pub fn parse(text: &str) -> Option<OrderType> {
        match text.to_ascii_uppercase().as_str() {
            "LMT" => Some(OrderType::Limit),
            "MKT" => Some(OrderType::Market),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            OrderType::Limit => "LMT",
            OrderType::Market => "MKT",
        }
    }
}

pub use vspread_core::TimeInForce;

/// An order as a client placed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// The connection's client id (from StartApi).
    pub client_id: i32,
    /// The client's order id (unique per client id).
    pub order_id: i32,
    pub contract: OrderContract,
    pub action: Action,
    /// Combos (or contracts, or shares); positive, whole.
    pub quantity: Decimal,
    pub order_type: OrderType,
    /// Required for LMT. Per combo; negative for a credit BUY combo.
    pub limit_price: Option<Decimal>,
    pub tif: TimeInForce,
    /// Free text kept for the order's life.
    pub order_ref: String,
    /// Account the order is for (reported back as is).
    pub account: String,
}

/// An order's status, as TWS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Accepted, waiting for the market to open.
    PreSubmitted,
    /// Working.
    Submitted,
    Filled,
    Cancelled,
}

impl OrderStatus {
    /// The status string TWS sends.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PreSubmitted => "PreSubmitted",
            OrderStatus::Submitted => "Submitted",
            OrderStatus::Filled => "Filled",
            OrderStatus::Cancelled => "Cancelled",
        }
    }

    /// Whether the order can still fill or be cancelled.
    pub fn is_working(self) -> bool {
        matches!(self, OrderStatus::PreSubmitted | OrderStatus::Submitted)
    }
}

/// An order and its progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub request: OrderRequest,
    /// Unique across clients and restarts.
    pub perm_id: i64,
    pub status: OrderStatus,
    pub filled: Decimal,
    pub remaining: Decimal,
    /// Average net price per combo (0 before the first fill).
    pub avg_fill_price: Decimal,
    /// Net price per combo of the last fill.
    pub last_fill_price: Decimal,
    /// Commission charged so far.
    pub commission: Decimal,
    pub placed_at: DateTime<Utc>,
    /// The session whose close ends a DAY order.
    pub session_date: NaiveDate,
    pub last_fill_at: Option<DateTime<Utc>>,
    /// Fills so far.
    pub fills: u32,
    /// The last simulated second (epoch seconds) a resting fill was drawn
    /// for (0 in state files written before the hazard model).
    #[serde(default)]
    pub resting_drawn_until: i64,
}

impl Order {
    pub fn order_id(&self) -> i32 {
        self.request.order_id
    }

    pub fn client_id(&self) -> i32 {
        self.request.client_id
    }
}

/// Whether an execution is for one leg or for the whole BAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExecutionScope {
    /// A single contract or one leg of a combo.
    Leg,
    /// The BAG itself: net combo price, no commission.
    Combo,
}

/// One execution (`ExecutionDetails` + `CommissionAndFeesReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Unique, e.g. `3b9aca01.00000001.01.01`.
    pub exec_id: String,
    pub order_id: i32,
    pub client_id: i32,
    pub perm_id: i64,
    pub time: DateTime<Utc>,
    pub account: String,
    pub scope: ExecutionScope,
    /// The leg's conId; 0 for the BAG-level execution.
    pub con_id: i32,
    /// `BOT` / `SLD` via [`Side::code`]. For the BAG: the order's action.
    pub side: Side,
    /// Units in this execution.
    pub shares: Decimal,
    /// Price per unit (net per combo for the BAG).
    pub price: Decimal,
    /// Cumulative units of this contract (or combos) filled by the order.
    pub cum_qty: Decimal,
    /// Average price of `cum_qty`.
    pub avg_price: Decimal,
    pub order_ref: String,
    /// Always `SMART`.
    pub exchange: String,
    /// 1 added liquidity (resting fill), 2 removed (marketable fill).
    pub last_liquidity: i32,
    pub commission: Decimal,
    /// P&L this execution realised, if it closed a position.
    pub realized_pnl: Option<Decimal>,
    /// `USD`.
    pub currency: String,
}

/// Something the wire side must report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OrderEvent {
    /// The order's state changed: send `OpenOrder` and `OrderStatus` (a
    /// cancelled order also gets error 202).
    Status(Order),
    /// A fill: send `ExecutionDetails` then `CommissionAndFeesReport`.
    Execution(Execution),
    /// An option position expired and was settled in cash at `price`
    /// (intrinsic value); positions changed.
    Expired {
        con_id: i32,
        quantity: Decimal,
        price: Decimal,
    },
}

/// Why an order was refused. [`RejectReason::code`] is IB's error code to
/// send with the order id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// 200: no security definition found for a conId.
    #[error("No security definition has been found for the request")]
    UnknownContract { con_id: i32 },
    /// 103: the order id was used before by this client.
    #[error("Duplicate order id")]
    DuplicateOrderId,
    /// 104: a modification of an order that has filled.
    #[error("Can't modify a filled order")]
    ModifyFilled,
    /// 110: the price is not a multiple of the tick.
    #[error("The price does not conform to the minimum price variation for this contract.")]
    PriceNotOnTick { tick: Decimal },
    /// 201: quantity not a positive whole number.
    #[error("Order rejected - reason:Invalid order quantity: {quantity}")]
    InvalidQuantity { quantity: Decimal },
    /// 321: a limit order without a limit price, or an unusable combo.
    #[error("Error validating request.-'bO' : cause - {detail}")]
    Invalid { detail: String },
    /// 201: not enough available funds for the order's margin.
    #[error(
        "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [{equity}] MUST EXCEED THE INITIAL MARGIN [{margin}]"
    )]
    InsufficientFunds { equity: Decimal, margin: Decimal },
    /// 201: injected by fault injection.
    #[error("Order rejected - reason:{reason}")]
    Injected { reason: String },
}

impl RejectReason {
    /// IB's error code for this rejection.
    pub fn code(&self) -> i32 {
        match self {
            RejectReason::UnknownContract { .. } => 200,
            RejectReason::DuplicateOrderId => 103,
            RejectReason::ModifyFilled => 104,
            RejectReason::PriceNotOnTick { .. } => 110,
            RejectReason::Invalid { .. } => 321,
            RejectReason::InvalidQuantity { .. }
            | RejectReason::InsufficientFunds { .. }
            | RejectReason::Injected { .. } => 201,
        }
    }
}

/// Why a cancel failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CancelError {
    /// 135.
    #[error("Can't find order with ID = {order_id}")]
    NotFound { order_id: i32 },
    /// 161: already filled or cancelled.
    #[error("Cancel attempted when order is not in a cancellable state.  Order permId = {perm_id}")]
    NotCancellable { perm_id: i64 },
}

impl CancelError {
    pub fn code(&self) -> i32 {
        match self {
            CancelError::NotFound { .. } => 135,
            CancelError::NotCancellable { .. } => 161,
        }
    }
}

#[cfg(test)]
mod tests;
