//! The journal seam: the durable record of what the engine saw, decided and
//! did. The engine writes through [`Journal`]; the binary decides what is
//! behind it (SQLite in `vspread-journal`).
//!
//! Two kinds of record, with different promises:
//! - **Orders, their events and fills** are the trading record. An order is
//!   written (and synced) *before* the broker hears of it, so after a crash
//!   every order the gateway may hold has a row, found again by `orderRef`.
//!   Fills are keyed by the gateway's execution id, so a fill replayed after
//!   a reconnect or restart is recorded once.
//! - **Events** (signals with their indicator values, scans and their funnel,
//!   decisions and refusals, config applies, control actions) are the
//!   narrative around them, in the order they happened.
//!
//! Spreads are not stored as mutable rows: a spread is its entry order plus
//! the exit orders that name it, and its quantities and P&L are folded from
//! their fills ([`SpreadRecord`]), so the record cannot disagree with itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contract::ConId;
use crate::order::{OrderEvent, OrderPurpose, Side};
use crate::spread_kind::{Right, SpreadKind};

/// Why the journal could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The store failed (I/O, corruption, a full disk); the message names it.
    #[error("journal storage failed: {0}")]
    Storage(String),
    /// A record could not be stored as asked (a duplicate order ref, a fill
    /// of an order never journaled, ...).
    #[error("journal refused the record: {0}")]
    Refused(String),
    /// A stored value does not read back (hand-edited or foreign file).
    #[error("journal row {row} of `{table}` is unreadable: {reason}")]
    Corrupt {
        table: &'static str,
        row: i64,
        reason: String,
    },
}

/// One leg of a journaled spread order: enough to trade and quote it again
/// after a restart without asking the gateway what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalLeg {
    pub con_id: ConId,
    pub strike: Decimal,
    pub right: Right,
    pub expiry: NaiveDate,
    pub exchange: String,
    pub trading_class: String,
    pub local_symbol: String,
    pub multiplier: Decimal,
    pub min_tick: Decimal,
}

/// An order as decided, written before it is transmitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournaledOrder {
    pub order_ref: String,
    pub purpose: OrderPurpose,
    /// The spread this order opens or closes: its entry order's reference
    /// (an entry names itself).
    pub spread_ref: String,
    pub symbol: String,
    pub currency: String,
    pub kind: SpreadKind,
    pub long: JournalLeg,
    pub short: JournalLeg,
    pub quantity: u32,
    /// First limit, per share: paid if `credit` is false, received if true.
    pub limit: Decimal,
    pub credit: bool,
    /// The combo mid when the decision was made, for slippage.
    pub mid: Decimal,
    /// Why: the exit rule for an exit; the strategy for an entry.
    pub reason: String,
    /// What the decision rested on (signal values, underlying, ATR, ...),
    /// as JSON text.
    pub context: String,
    pub created_at: DateTime<Utc>,
}

/// How a driven order ended, as the engine saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderEnd {
    /// `filled`, `timed_out`, `cancelled`, `rejected`, `abandoned` (never
    /// reached the gateway), `cancelled_on_recovery`.
    pub outcome: String,
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// A journaled order with what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRecord {
    pub order: JournaledOrder,
    pub broker_order_id: Option<i64>,
    /// The last status the gateway reported (`Submitted`, `Filled`, ...).
    pub last_status: Option<String>,
    pub end: Option<OrderEnd>,
    /// Spreads filled: combo-level fills of the BAG, else the smaller leg.
    pub filled: Decimal,
    pub commissions: Decimal,
    /// Average net per share of the fills (combo-level price), if any.
    pub average_net: Option<Decimal>,
}

impl OrderRecord {
    /// Still possibly working at the gateway: no end recorded.
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }
}

/// One execution, leg-level or combo-level, with its commission once the
/// gateway reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FillRecord {
    pub exec_id: String,
    pub order_ref: String,
    pub con_id: ConId,
    pub action: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    pub combo: bool,
    pub time: String,
    pub commission: Option<Decimal>,
    pub recorded_at: DateTime<Utc>,
}

impl FillRecord {
    /// Cash this fill moved, before commission: sells receive, buys pay.
    /// Combo-level fills move no cash of their own (their legs do).
    pub fn cash(&self, multiplier: Decimal) -> Decimal {
        if self.combo {
            return Decimal::ZERO;
        }
        let gross = self.price * self.quantity * multiplier;
        match self.action {
            Side::Sell => gross,
            Side::Buy => -gross,
        }
    }
}

/// A spread's closing, as decided by the exit that completed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadClosure {
    pub spread_ref: String,
    pub reason: String,
    pub realised: Decimal,
    pub r_multiple: Option<f64>,
    pub at: DateTime<Utc>,
}

/// A spread folded from its orders and fills.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadRecord {
    pub entry: JournaledOrder,
    pub opened: Decimal,
    pub closed: Decimal,
    /// Cash of every leg fill of its orders, less every commission.
    pub cash: Decimal,
    pub commissions: Decimal,
    pub entry_average: Option<Decimal>,
    pub closure: Option<SpreadClosure>,
    /// Exit orders sent so far.
    pub exit_orders: u32,
}

impl SpreadRecord {
    pub fn open_quantity(&self) -> Decimal {
        self.opened - self.closed
    }

    pub fn is_open(&self) -> bool {
        self.open_quantity() > Decimal::ZERO
    }

    /// The signed position each leg should hold at the gateway.
    pub fn leg_positions(&self) -> BTreeMap<ConId, Decimal> {
        let q = self.open_quantity();
        BTreeMap::from([(self.entry.long.con_id, q), (self.entry.short.con_id, -q)])
    }
}

/// One narrative record: a signal, a scan, a decision, an apply, ...
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalEvent {
    /// The event's number on the engine's event bus, which goes on from
    /// the journal's last across restarts, so a page of history and a
    /// stream's resume mean the same event in memory and on disk. `None`
    /// when written: the journal numbers it next; always set when read.
    pub seq: Option<u64>,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub message: String,
    /// JSON text.
    pub data: String,
}

/// One entry decision as stored: what it is found by in columns, what it
/// saw and decided (every stage, as the operator's "why" view shows it)
/// as JSON text. The engine keeps only the newest per symbol in memory;
/// the rest are read back from here.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JournalDecision {
    /// `c<cycle>-<symbol>`: unique within a process run (cycles count from
    /// 1 in each), so a later run's decision can carry an earlier one's id.
    pub id: String,
    pub cycle: u64,
    pub at: DateTime<Utc>,
    pub symbol: String,
    /// The outcome's name (`no_signal`, `refused`, `entered`, ...).
    pub outcome: String,
    /// The whole decision record, JSON text.
    pub record: String,
}

/// Which decisions to read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecisionQuery {
    /// Only this symbol's decisions.
    pub symbol: Option<String>,
    /// At most this many, newest first (0: no limit).
    pub limit: usize,
}

/// Which events to read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// Kinds starting with any of these (all kinds when empty).
    pub kind_prefixes: Vec<String>,
    /// Only events naming one of these orders (`order_ref` in their data):
    /// none for an empty list; every event when `None`. (An empty list of
    /// orders asks for no events: read as "any", it would read every event
    /// of the journal for a page that shows none.)
    pub order_refs: Option<Vec<String>>,
    /// Only events numbered after this: then the *oldest* `limit` of them
    /// are kept (a page forward, as a stream's resume reads).
    pub after: Option<u64>,
    /// Only events numbered before this (the newest `limit` of them).
    pub before: Option<u64>,
    /// At most this many (0: no limit), newest kept unless `after` is
    /// given, returned oldest first.
    pub limit: usize,
}

/// Which orders to read back, newest first: a page of the record, so a
/// reader's cost follows what it shows, not how long the journal is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrderQuery {
    /// Only orders still open (`Some(true)`: no end recorded) or only
    /// ended ones (`Some(false)`); every order when `None`.
    pub open: Option<bool>,
    /// Only the order with this reference.
    pub order_ref: Option<String>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// The durable record. Every write returns once it is on disk.
pub trait Journal: Send + Sync + fmt::Debug {
    /// Records an order before it is transmitted. A second order with the
    /// same reference is refused: it would be the same order twice.
    fn record_order(&self, order: &JournaledOrder) -> Result<(), JournalError>;

    /// Records what the gateway said about a journaled order (status,
    /// execution, commission, rejection). Events of orders the journal
    /// does not know are ignored (another client's orders); a repeated
    /// execution or commission is recorded once. Returns whether it was
    /// new.
    fn record_order_event(
        &self,
        event: &OrderEvent,
        at: DateTime<Utc>,
    ) -> Result<bool, JournalError>;

    /// Records how an order ended (once; a later end is ignored).
    fn record_order_end(&self, order_ref: &str, end: &OrderEnd) -> Result<(), JournalError>;

    /// Records the closing of a spread.
    fn record_closure(&self, closure: &SpreadClosure) -> Result<(), JournalError>;

    /// Records a narrative event.
    fn record_event(&self, event: &JournalEvent) -> Result<(), JournalError>;

    /// Records an entry decision (not synced: a narrative record, like
    /// an event).
    fn record_decision(&self, decision: &JournalDecision) -> Result<(), JournalError>;

    /// The decisions `query` selects, newest first.
    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<JournalDecision>, JournalError>;

    /// Every order, oldest first.
    fn orders(&self) -> Result<Vec<OrderRecord>, JournalError>;

    /// Every fill, oldest first.
    fn fills(&self) -> Result<Vec<FillRecord>, JournalError>;

    /// Every spread, open and closed, oldest first.
    fn spreads(&self) -> Result<Vec<SpreadRecord>, JournalError>;

    /// Narrative events, oldest first.
    fn events(&self, query: &EventQuery) -> Result<Vec<JournalEvent>, JournalError>;

    /// The orders `query` selects, newest first.
    fn orders_page(&self, query: &OrderQuery) -> Result<Vec<OrderRecord>, JournalError>;

    /// The fills of these orders, oldest first.
    fn fills_of(&self, order_refs: &[String]) -> Result<Vec<FillRecord>, JournalError>;

    /// The spreads still open (entries with fills and no closure), oldest
    /// first, folded as [`Journal::spreads`] folds them: what the engine
    /// checks every cycle, at a cost that follows the open book.
    fn open_spreads(&self) -> Result<Vec<SpreadRecord>, JournalError>;

    /// The newest `limit` closed spreads (0: all), newest closure first.
    fn closed_spreads(&self, limit: usize) -> Result<Vec<SpreadRecord>, JournalError>;

    /// Realised P&L of every closed spread, after commissions.
    fn realised_total(&self) -> Result<Decimal, JournalError>;

    /// Every contract an order of the journal ever traded (a leg of it).
    fn traded_con_ids(&self) -> Result<BTreeSet<ConId>, JournalError>;

    /// Checks the store would take a write now (readiness): without writing
    /// anything.
    fn probe(&self) -> Result<(), JournalError>;

    /// How long the synced writes (orders, their events, ends, closures)
    /// have taken so far, from the write to its data on the disk. A store
    /// that does not measure them says nothing (the default).
    fn sync_timings(&self) -> SyncTimings {
        SyncTimings::default()
    }
}

/// The upper bounds (seconds) of [`SyncTimings`]' buckets: from a fast
/// SSD's fsync (about 1 ms) to a disk in trouble (seconds).
pub const SYNC_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// A histogram of synced journal writes, as Prometheus counts one: how
/// many took at most each of [`SYNC_BUCKETS`] (each write in the first
/// bucket that holds it; `over` holds those above the last), their count
/// and their sum. Kept by the journal so every reader (metrics, benches)
/// sees the same cumulative figures.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct SyncTimings {
    /// Writes per bucket of [`SYNC_BUCKETS`], not cumulative.
    pub buckets: [u64; SYNC_BUCKETS.len()],
    /// Writes slower than the last bound.
    pub over: u64,
    pub count: u64,
    pub sum_seconds: f64,
}

impl SyncTimings {
    /// Counts one write of `seconds`.
    pub fn observe(&mut self, seconds: f64) {
        match SYNC_BUCKETS.iter().position(|le| seconds <= *le) {
            Some(i) => self.buckets[i] += 1,
            None => self.over += 1,
        }
        self.count += 1;
        self.sum_seconds += seconds;
    }
}
