//! The [`Broker`] trait: what the engine asks of the brokerage, in the
//! domain vocabulary of this crate (contracts, quotes, orders, fills,
//! positions), and the events it hears back. The implementation over TWS
//! lives in `vspread-broker`; nothing here knows the wire.
//!
//! Futures are boxed ([`BrokerFuture`]) so the trait stays object-safe and
//! the binary can choose the implementation behind `Arc<dyn Broker>`. Events
//! arrive in order on one [`EventStream`] per caller.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_core::Stream;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::account::{AccountSummary, Position};
use crate::bar::DailyBar;
use crate::contract::{ConId, ContractInfo, OptionChainParams, OptionContract};
use crate::fill::{CommissionReport, Execution};
use crate::order::{BrokerOrderId, NetPriceOrLimit, OrderEvent, OrderRequest, WhatIf};
use crate::quote::Quote;

/// A boxed future of a broker call.
pub type BrokerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BrokerError>> + Send + 'a>>;

/// Every event of the broker, in the order it happened.
pub type EventStream = Pin<Box<dyn Stream<Item = BrokerEvent> + Send>>;

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

    /// Resolves one listed option (its conId, if any, is ignored: the
    /// identity is what is looked up).
    fn option(&self, option: &OptionContract) -> BrokerFuture<'_, ContractInfo>;

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

    /// Where the link to the gateway stands and what it has done so far.
    fn link_status(&self) -> LinkStatus;

    /// Takes up the broker's part of a new config: `[pacing]` and the line
    /// budget at once, a changed connection (`[ibkr]` host, port, client
    /// id, account, read-only, market data type) by reconnecting. Resolves
    /// when that is done: for a reconnect, once the link is ready again or
    /// `[ibkr] connect_timeout_s` has passed (the watchdog keeps trying).
    fn apply_config(&self, config: &crate::config::Config) -> BrokerFuture<'_, Reconfigured>;

    /// The same broker (the same connection, lines, orders and events),
    /// whose requests wait behind every request of the ordinary handle: for
    /// work that must never delay trading (the scanner watch).
    fn background(&self) -> std::sync::Arc<dyn Broker>;
}

/// What [`Broker::apply_config`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reconfigured {
    /// The connection was dropped and made again with the new values.
    pub reconnected: bool,
    /// From the reconnect's start to the link being ready (none: not ready
    /// within the connect timeout, or no reconnect).
    pub ready_after: Option<Duration>,
}

// ------------------------------------------------------------------ link

/// Where the connection to the gateway stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Not connected, not trying (before start or after shutdown).
    #[default]
    Disconnected,
    /// A connection attempt is under way.
    Connecting,
    /// Handshake done; waiting for the gateway to answer a request.
    Connected,
    /// The gateway answers requests.
    Ready,
    /// Socket up, but TWS lost its link to IB (1100).
    GatewayDisconnected,
    /// Waiting before the next attempt.
    Backoff,
}

impl ConnectionState {
    /// A stable number for the state, exported as a gauge.
    pub fn code(self) -> i64 {
        match self {
            ConnectionState::Disconnected => 0,
            ConnectionState::Connecting => 1,
            ConnectionState::Connected => 2,
            ConnectionState::Ready => 3,
            ConnectionState::GatewayDisconnected => 4,
            ConnectionState::Backoff => 5,
        }
    }

    /// The state for a [`code`](Self::code).
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => ConnectionState::Connecting,
            2 => ConnectionState::Connected,
            3 => ConnectionState::Ready,
            4 => ConnectionState::GatewayDisconnected,
            5 => ConnectionState::Backoff,
            _ => ConnectionState::Disconnected,
        }
    }

    /// The snake_case name the API shows.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Ready => "ready",
            ConnectionState::GatewayDisconnected => "gateway_disconnected",
            ConnectionState::Backoff => "backoff",
        }
    }

    pub fn is_ready(self) -> bool {
        self == ConnectionState::Ready
    }
}

/// One class of requests waiting for the gateway's message budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// `order`, `market_data`, `lookup` or `background`, most urgent first.
    pub priority: &'static str,
    /// Requests waiting now.
    pub depth: i64,
    /// Requests let through so far.
    pub granted: u64,
    /// Total time they waited.
    pub waited: Duration,
}

/// A consistent-enough copy of the link's state and counters at one
/// moment: what the admin API's status, `/readyz` and `/metrics` show.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LinkStatus {
    /// Where the gateway is (`host:port`).
    pub address: String,
    pub state: ConnectionState,
    /// True only after the gateway answered a request on this connection.
    pub ready: bool,
    /// Since when the link has been in its current readiness (ready or
    /// not), on the engine's clock.
    pub since: Option<DateTime<Utc>>,
    /// The gateway's API server version on the last connection.
    pub server_version: Option<i32>,
    pub connects: u64,
    pub connect_failures: u64,
    pub disconnects: u64,
    /// From the gateway accepting again to the layer being ready, last time.
    pub last_reconnect: Duration,
    /// Request classes, most urgent first.
    pub queues: Vec<QueueStatus>,
    /// The message rate the coordinator grants (`[pacing]`).
    pub max_messages_per_sec: u32,
    /// The market data line budget (`[market_data] max_lines`).
    pub max_lines: usize,
    /// Longest single wait for the message budget.
    pub wait_max: Duration,
    /// Times the dispatcher had to sleep for a token.
    pub throttle_events: u64,
    /// Requests refused because their queue was full.
    pub queue_full_rejections: u64,
    /// Requests answered by an identical one already in flight.
    pub merged_requests: u64,
    /// Historical requests delayed by IB's historical pacing rules.
    pub historical_pacing_waits: u64,
    pub lines_active: i64,
    pub lines_pinned: i64,
    pub lines_evicted: u64,
    /// Subscriptions refused because every held line was pinned.
    pub lines_refused: u64,
    pub snapshots: u64,
    pub resubscriptions: u64,
    pub reconciliations: u64,
    pub reconciliation_differences: u64,
    pub events_published: u64,
    pub gateway_errors: u64,
    /// Error 100 (message rate exceeded) seen from the gateway.
    pub pacing_violations_reported: u64,
    /// Gateway errors by IB's code.
    pub errors_by_code: BTreeMap<i32, u64>,
}
