//! The [`Broker`] trait: what the engine asks of the brokerage, in domain
//! types only, and the events it hears back. The implementation over TWS
//! lives in `vspread-broker`; nothing here knows the wire.
//!
//! Futures are boxed ([`BrokerFuture`]) so the trait stays object-safe and
//! the binary can choose the implementation behind `Arc<dyn Broker>`. Events
//! arrive in order on one [`EventStream`] per caller.
//!
//! Prices that reach an order are exact decimals; quotes and greeks too, so a
//! limit price computed from a quote needs no conversion.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures_core::Stream;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Right, SpreadKind};

/// A boxed future of a broker call.
pub type BrokerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BrokerError>> + Send + 'a>>;

/// Every event of the broker, in the order it happened.
pub type EventStream = Pin<Box<dyn Stream<Item = BrokerEvent> + Send>>;

/// IB's contract id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ConId(pub i64);

impl fmt::Display for ConId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conId {}", self.0)
    }
}

/// An order id as the gateway knows it (per client id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerOrderId(pub i64);

impl fmt::Display for BrokerOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {}", self.0)
    }
}

// ---------------------------------------------------------------- contracts

/// An option to look up: underlying, expiry, strike, right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OptionSpec {
    pub underlying: String,
    pub expiry: NaiveDate,
    pub strike: Decimal,
    pub right: Right,
}

/// What a contract is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Instrument {
    Stock { symbol: String },
    Option(OptionSpec),
}

impl Instrument {
    /// The stock symbol or the option's underlying.
    pub fn symbol(&self) -> &str {
        match self {
            Instrument::Stock { symbol } => symbol,
            Instrument::Option(o) => &o.underlying,
        }
    }
}

/// A resolved contract, as the gateway describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractInfo {
    pub con_id: ConId,
    pub instrument: Instrument,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub local_symbol: String,
    pub trading_class: String,
    /// 1 for stock, usually 100 for options.
    pub multiplier: Decimal,
    pub min_tick: Decimal,
}

/// One (exchange, trading class) row of an option chain's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionChainParams {
    pub underlying: String,
    pub underlying_con_id: ConId,
    pub exchange: String,
    pub trading_class: String,
    pub multiplier: Decimal,
    pub expirations: Vec<NaiveDate>,
    pub strikes: Vec<Decimal>,
}

// -------------------------------------------------------------- market data

/// Option model values the gateway computed (model tick), when it did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Greeks {
    pub implied_vol: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    pub vega: Option<f64>,
    pub theta: Option<f64>,
    pub underlying_price: Option<f64>,
}

/// The latest top of book of one contract. `None` means the gateway sent no
/// value (IB's −1 "no data" included).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quote {
    pub con_id: ConId,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    pub bid_size: Option<Decimal>,
    pub ask_size: Option<Decimal>,
    pub volume: Option<Decimal>,
    /// An option's open interest (streaming lines only: IB sends it as
    /// generic tick 101, which snapshots cannot request).
    pub open_interest: Option<Decimal>,
    pub close: Option<Decimal>,
    pub greeks: Option<Greeks>,
    /// When the last tick of this quote arrived.
    pub received_at: Option<DateTime<Utc>>,
}

impl Quote {
    /// Mid price when both sides are quoted.
    pub fn mid(&self) -> Option<Decimal> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Some((b + a) / Decimal::TWO),
            _ => None,
        }
    }
}

/// One daily bar (analytics input).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyBar {
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

// ------------------------------------------------------------------- orders

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    Buy,
    Sell,
}

/// One option leg of a vertical, by conId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpreadLeg {
    pub con_id: ConId,
    pub strike: Decimal,
    pub right: Right,
    pub expiry: NaiveDate,
}

/// A vertical spread as opened: the leg bought and the leg sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerticalSpread {
    pub underlying: String,
    pub kind: SpreadKind,
    pub long: SpreadLeg,
    pub short: SpreadLeg,
    pub currency: String,
}

/// Whether an order opens or closes a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenClose {
    Open,
    Close,
}

/// A spread's net price per unit: what is paid or received. Always ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetPrice {
    /// Paid.
    Debit(Decimal),
    /// Received.
    Credit(Decimal),
}

/// What an order trades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderTarget {
    /// One contract at a limit price.
    Single {
        contract: ContractInfo,
        action: OrderAction,
        limit: Decimal,
    },
    /// A vertical as one combo (BAG) order.
    Vertical {
        spread: VerticalSpread,
        intent: OpenClose,
        price: NetPrice,
    },
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimeInForce {
    #[default]
    Day,
    GoodTillCancelled,
}

/// A limit order to place. `order_ref` identifies it across reconnects and
/// restarts: it is derived from the decision that made the order and must be
/// unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRequest {
    pub order_ref: String,
    pub target: OrderTarget,
    pub quantity: u32,
    pub tif: TimeInForce,
}

/// A what-if preview: margin and commission the order would cost.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WhatIf {
    pub init_margin_change: Option<Decimal>,
    pub maint_margin_change: Option<Decimal>,
    pub equity_with_loan_change: Option<Decimal>,
    pub init_margin_after: Option<Decimal>,
    pub commission: Option<Decimal>,
    pub min_commission: Option<Decimal>,
    pub max_commission: Option<Decimal>,
    pub commission_currency: String,
    pub warning: Option<String>,
}

/// An order's status as the gateway reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// One fill: of a leg, or of a single-contract order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub exec_id: String,
    pub order_id: BrokerOrderId,
    pub order_ref: String,
    pub con_id: ConId,
    pub action: OrderAction,
    pub quantity: Decimal,
    pub price: Decimal,
    /// Cumulative quantity of the order after this fill.
    pub cumulative_quantity: Decimal,
    pub average_price: Decimal,
    pub time: String,
    /// True for the combo-level fill of a BAG order (price = net price);
    /// its legs' fills come as their own executions with `false`.
    pub combo: bool,
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
    /// The gateway refused or dropped the order (codes 103, 110, 201, 321, …).
    Rejected {
        order_id: BrokerOrderId,
        order_ref: String,
        code: i32,
        reason: String,
    },
}

// ---------------------------------------------------------------- positions

/// One position as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub account: String,
    pub con_id: ConId,
    pub symbol: String,
    pub quantity: Decimal,
    pub average_cost: Decimal,
}

/// The account figures the engine sizes and limits with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountSummary {
    pub account: String,
    /// Tag → value in the account's currency (NetLiquidation, BuyingPower, …).
    pub values: BTreeMap<String, Decimal>,
}

// ----------------------------------------------------------- reconciliation

/// An order the caller believes is working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedOrder {
    pub order_ref: String,
    pub order_id: Option<BrokerOrderId>,
    pub quantity: Decimal,
    pub filled: Decimal,
}

/// What the caller believes, to compare with the gateway at every (re)connect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expectations {
    pub open_orders: Vec<ExpectedOrder>,
    /// Signed quantity by contract.
    pub positions: BTreeMap<ConId, Decimal>,
    /// Executions already known (by exec id); newer ones are reported.
    pub known_executions: Vec<String>,
    /// Look for executions from this time on.
    pub executions_since: Option<DateTime<Utc>>,
}

/// One difference between belief and the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    /// The gateway has a working order the caller does not know.
    UnknownOpenOrder {
        order_id: BrokerOrderId,
        order_ref: String,
    },
    /// The caller expects a working order the gateway does not have (filled
    /// or cancelled while away, or never received).
    MissingOpenOrder { order_ref: String },
    /// Known on both sides, but the filled quantity differs.
    FilledQuantityDiffers {
        order_ref: String,
        expected: Decimal,
        actual: Decimal,
    },
    /// A fill the caller has not seen.
    MissedExecution(Execution),
    /// Position quantities differ (absent counts as zero).
    PositionDiffers {
        con_id: ConId,
        expected: Decimal,
        actual: Decimal,
    },
}

/// An order working at the gateway, as found at a reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingOrder {
    pub order_id: BrokerOrderId,
    pub order_ref: String,
    pub filled: Decimal,
}

/// A commission the gateway reported for one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionReport {
    pub exec_id: String,
    pub order_ref: String,
    pub commission: Decimal,
    pub currency: String,
}

/// The outcome of one reconciliation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReconciliationReport {
    pub open_orders: usize,
    pub executions: usize,
    pub positions: usize,
    pub discrepancies: Vec<Discrepancy>,
    /// Every order working at the gateway, with its id, so a caller that
    /// lost its memory (a restart) can follow or cancel it.
    pub working: Vec<WorkingOrder>,
    /// The commissions of every execution fetched (a caller records the
    /// ones it has not seen; a restart may have lost them).
    pub commissions: Vec<CommissionReport>,
}

// ------------------------------------------------------------------ connection

/// Where the connection to the gateway stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    Connecting {
        attempt: u32,
    },
    /// Socket up and handshake done; not yet answering.
    Connected,
    /// The gateway answered a request: requests can be served.
    Ready,
    /// The socket closed or the attempt failed; next try after `retry_in`.
    Lost {
        reason: String,
        retry_in: Duration,
    },
    /// 1100: TWS lost its link to IB; the socket is still up.
    GatewayDisconnected,
    /// 1101: link restored, market data lost: every line is resubscribed.
    RestoredDataLost,
    /// 1102: link restored, market data kept.
    RestoredDataKept,
    /// The configured daily restart window begins in `starts_in`.
    RestartWindowAhead {
        starts_in: Duration,
    },
    /// Back after a loss: ready again `after` the gateway accepted.
    Reconnected {
        after: Duration,
        lines_restored: usize,
    },
}

/// A farm or data notice with no request attached (2104, 2106, 2158, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub code: i32,
    pub message: String,
}

/// Why market data for a contract is limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarketDataIssue {
    /// 354 / 10167: not subscribed (delayed may be shown).
    NotSubscribed { code: i32 },
    /// 10090: part of the data is not subscribed; the rest flows.
    PartiallySubscribed,
    /// 10197: a competing live session holds the data.
    CompetingSession,
    /// Evicted to make room for another line.
    Evicted,
}

/// Everything the broker tells its caller.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerEvent {
    Connection(ConnectionEvent),
    Quote(Quote),
    MarketData {
        con_id: ConId,
        issue: MarketDataIssue,
    },
    Order(OrderEvent),
    Reconciled(ReconciliationReport),
    Notice(Notice),
}

// ------------------------------------------------------------------- errors

/// Why a broker call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    #[error("not connected to the gateway")]
    NotConnected,
    #[error("the gateway did not answer {what} within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error("request queue full ({0}); try again later")]
    Busy(String),
    #[error("no security definition for {what} (code {code})")]
    NoSecurityDefinition { what: String, code: i32 },
    #[error("order `{order_ref}` rejected (code {code}): {reason}")]
    OrderRejected {
        order_ref: String,
        code: i32,
        reason: String,
    },
    #[error("invalid combo: {0}")]
    InvalidCombo(String),
    #[error("invalid order `{order_ref}`: {reason}")]
    InvalidOrder { order_ref: String, reason: String },
    #[error("an order with orderRef `{0}` already exists")]
    DuplicateOrderRef(String),
    #[error("unknown order {0}")]
    UnknownOrder(BrokerOrderId),
    #[error("market data for {con_id} unavailable (code {code}): {message}")]
    MarketData {
        con_id: ConId,
        code: i32,
        message: String,
    },
    #[error("all {0} market data lines are pinned")]
    LinesExhausted(usize),
    #[error("read-only mode: orders are disabled")]
    ReadOnly,
    #[error("gateway error {code}: {message}")]
    Gateway { code: i32, message: String },
    #[error("the broker has shut down")]
    Closed,
}

// -------------------------------------------------------------------- trait

/// The brokerage as the engine sees it.
pub trait Broker: Send + Sync {
    /// Resolves a stock by symbol (SMART, USD).
    fn stock(&self, symbol: &str) -> BrokerFuture<'_, ContractInfo>;

    /// Resolves one listed option.
    fn option(&self, spec: &OptionSpec) -> BrokerFuture<'_, ContractInfo>;

    /// Expirations and strikes of an underlying's options.
    fn option_chain(&self, underlying: &str) -> BrokerFuture<'_, Vec<OptionChainParams>>;

    /// Holds a streaming line for the contract; quotes arrive as
    /// [`BrokerEvent::Quote`]. May evict the least recently used unpinned line.
    fn subscribe_quotes(&self, contract: &ContractInfo, pinned: bool) -> BrokerFuture<'_, ()>;

    /// Gives a line back.
    fn unsubscribe_quotes(&self, con_id: ConId) -> BrokerFuture<'_, ()>;

    /// Pins (`true`) or unpins a held line: legs of positions and working
    /// orders are never evicted.
    fn set_pinned(&self, con_id: ConId, pinned: bool);

    /// The latest quote of a held line, marking it as recently used.
    fn latest_quote(&self, con_id: ConId) -> Option<Quote>;

    /// A one-off quote that holds no line.
    fn snapshot(&self, contract: &ContractInfo) -> BrokerFuture<'_, Quote>;

    /// The last `days` daily bars of a stock, oldest first.
    fn daily_bars(&self, symbol: &str, days: u32) -> BrokerFuture<'_, Vec<DailyBar>>;

    /// Margin and commission the order would cost; nothing is placed.
    fn what_if(&self, order: &OrderRequest) -> BrokerFuture<'_, WhatIf>;

    /// Places the order; its events follow on the event stream.
    fn place_order(&self, order: &OrderRequest) -> BrokerFuture<'_, BrokerOrderId>;

    /// Changes a working order's limit (a vertical's net price).
    fn modify_price(&self, order_id: BrokerOrderId, price: NetPriceOrLimit)
    -> BrokerFuture<'_, ()>;

    /// Asks the gateway to cancel; the outcome comes as a status event.
    fn cancel_order(&self, order_id: BrokerOrderId) -> BrokerFuture<'_, ()>;

    /// Current positions.
    fn positions(&self) -> BrokerFuture<'_, Vec<Position>>;

    /// Current account values.
    fn account_summary(&self) -> BrokerFuture<'_, AccountSummary>;

    /// Records what the caller believes; used by every automatic
    /// reconciliation after a (re)connect.
    fn set_expectations(&self, expectations: Expectations);

    /// Compares the gateway's open orders, executions and positions with
    /// `expectations` now; the report is also published as an event.
    fn reconcile(&self, expectations: &Expectations) -> BrokerFuture<'_, ReconciliationReport>;

    /// A new stream of every event from now on.
    fn events(&self) -> EventStream;

    /// True only when the gateway answered a request on the current connection.
    fn is_ready(&self) -> bool;
}

/// A new price for a working order: a single order's limit or a vertical's
/// net price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetPriceOrLimit {
    Limit(Decimal),
    Net(NetPrice),
}

// ------------------------------------------------------------ aggregation

/// One contract's fills within an order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegFills {
    pub quantity: Decimal,
    /// Σ price × quantity; divide by `quantity` for the average.
    pub notional: Decimal,
}

impl LegFills {
    pub fn average_price(&self) -> Option<Decimal> {
        (!self.quantity.is_zero()).then(|| self.notional / self.quantity)
    }
}

/// Partial fills of one order folded together from its events: per-leg
/// quantities and prices, the combo-level fills, commissions, last status.
/// Duplicate executions (same exec id, as after a reconnect) count once.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderFills {
    pub order_ref: String,
    pub legs: BTreeMap<ConId, LegFills>,
    /// Combo-level fills of a BAG order (net price), or the fills of a
    /// single-contract order.
    pub order: LegFills,
    pub commissions: Decimal,
    pub status: Option<OrderStatus>,
    pub filled: Decimal,
    pub remaining: Decimal,
    exec_ids: std::collections::BTreeSet<String>,
    combo: bool,
}

impl OrderFills {
    pub fn new(order_ref: impl Into<String>) -> Self {
        Self {
            order_ref: order_ref.into(),
            ..Self::default()
        }
    }

    /// Folds one event in; events of other orders are ignored. Returns
    /// whether it belonged to this order.
    pub fn apply(&mut self, event: &OrderEvent) -> bool {
        match event {
            OrderEvent::Status {
                order_ref,
                status,
                filled,
                remaining,
                ..
            } if *order_ref == self.order_ref => {
                self.status = Some(*status);
                self.filled = *filled;
                self.remaining = *remaining;
                true
            }
            OrderEvent::Execution(x) if x.order_ref == self.order_ref => {
                if !self.exec_ids.insert(x.exec_id.clone()) {
                    return true;
                }
                let add = |f: &mut LegFills| {
                    f.quantity += x.quantity;
                    f.notional += x.price * x.quantity;
                };
                if x.combo {
                    self.combo = true;
                    add(&mut self.order);
                } else {
                    add(self.legs.entry(x.con_id).or_default());
                }
                true
            }
            OrderEvent::Commission {
                order_ref,
                commission,
                ..
            } if *order_ref == self.order_ref => {
                self.commissions += *commission;
                true
            }
            OrderEvent::Rejected { order_ref, .. } if *order_ref == self.order_ref => {
                self.status = Some(OrderStatus::Inactive);
                true
            }
            _ => false,
        }
    }

    /// Quantity filled according to the executions: the combo-level fills
    /// for a BAG, else the single contract's.
    pub fn executed_quantity(&self) -> Decimal {
        if self.combo || self.legs.is_empty() {
            self.order.quantity
        } else if self.legs.len() == 1 {
            self.legs.values().map(|l| l.quantity).sum()
        } else {
            self.legs
                .values()
                .map(|l| l.quantity)
                .min()
                .unwrap_or_default()
        }
    }

    pub fn is_done(&self) -> bool {
        self.status.is_some_and(OrderStatus::is_terminal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn exec(id: &str, con_id: i64, qty: &str, price: &str, combo: bool) -> OrderEvent {
        OrderEvent::Execution(Execution {
            exec_id: id.into(),
            order_id: BrokerOrderId(3),
            order_ref: "r".into(),
            con_id: ConId(con_id),
            action: OrderAction::Buy,
            quantity: d(qty),
            price: d(price),
            cumulative_quantity: Decimal::ZERO,
            average_price: Decimal::ZERO,
            time: String::new(),
            combo,
        })
    }

    #[test]
    fn partial_fills_aggregate_per_leg_and_for_the_combo() {
        let mut f = OrderFills::new("r");
        for e in [
            exec("a1", 11, "1", "3.10", false),
            exec("a2", 12, "1", "1.00", false),
            exec("a0", 0, "1", "2.10", true),
            exec("b1", 11, "2", "3.20", false),
            exec("b2", 12, "2", "1.05", false),
            exec("b0", 0, "2", "2.15", true),
            exec("b0", 0, "2", "2.15", true),
        ] {
            assert!(f.apply(&e));
        }
        assert!(!f.apply(&OrderEvent::Commission {
            exec_id: "x".into(),
            order_ref: "other".into(),
            commission: d("1"),
            currency: "USD".into(),
        }));
        f.apply(&OrderEvent::Commission {
            exec_id: "a1".into(),
            order_ref: "r".into(),
            commission: d("1.30"),
            currency: "USD".into(),
        });
        f.apply(&OrderEvent::Status {
            order_id: BrokerOrderId(3),
            order_ref: "r".into(),
            status: OrderStatus::Filled,
            filled: d("3"),
            remaining: d("0"),
            average_fill_price: Some(d("2.1333")),
        });
        assert_eq!(f.executed_quantity(), d("3"));
        assert_eq!(f.legs[&ConId(11)].quantity, d("3"));
        assert_eq!(
            f.legs[&ConId(11)].average_price(),
            Some(d("3.1666666666666666666666666667"))
        );
        assert_eq!(f.order.notional, d("6.40"));
        assert_eq!(f.commissions, d("1.30"));
        assert!(f.is_done());
    }
}
