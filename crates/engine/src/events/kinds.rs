//! Every event the engine publishes, as one enum: the tag (`kind`) says
//! what happened, the content (`data`) its numbers. The admin API's OpenAPI
//! document lists every variant from this type, the web UI's types are
//! generated from that document, and the journal keeps each event as its
//! tag and content.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;
use vspread_core::config::KeyChange;
use vspread_core::{NetPrice, OrderPurpose, SpreadKind};

use crate::decision::scan::FunnelView;
use crate::exits::ExitReason;
use crate::orders::OrderEnd;
use crate::recovery::{LegMismatch, RecoveryReport};
use crate::risk::{Refusal, RuleRefusal};
use crate::signals::{Condition, Evaluation, Strategy};
use crate::storage::Degraded;

/// What happened, with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "kind", content = "data")]
pub enum EngineEvent {
    /// The engine started with this configuration: the first version in
    /// force, which the journal's config history goes on from.
    #[serde(rename = "engine.started")]
    EngineStarted(EngineStarted),
    /// A symbol was evaluated and no strategy fired.
    #[serde(rename = "signal.none")]
    SignalNone(SignalNone),
    /// A strategy fired on a symbol.
    #[serde(rename = "signal.fired")]
    SignalFired(SignalFired),
    /// An entry was refused by a rule of the risk gate.
    #[serde(rename = "decision.refused")]
    DecisionRefused(DecisionRefused),
    /// A decision cycle stopped before handing anything over: the engine
    /// was paused while it ran.
    #[serde(rename = "decision.abandoned")]
    DecisionAbandoned(DecisionAbandoned),
    /// An underlying's IV circuit breaker tripped.
    #[serde(rename = "breaker.tripped")]
    BreakerTripped(BreakerSwitched),
    /// An underlying's IV circuit breaker reset.
    #[serde(rename = "breaker.reset")]
    BreakerReset(BreakerSwitched),
    /// A chain was acquired and scanned.
    #[serde(rename = "scan.completed")]
    ScanCompleted(ScanCompleted),
    /// The scanner watch scanned an underlying's chain.
    #[serde(rename = "scan.watched")]
    ScanWatched(ScanWatched),
    /// An operator placed an entry by hand (`POST /orders`).
    #[serde(rename = "manual.entry")]
    ManualEntry(ManualEntry),
    /// An operator closed a held spread by hand
    /// (`POST /positions/{spread_ref}/close`).
    #[serde(rename = "manual.close")]
    ManualClose(ManualClose),
    /// An operator's entry by hand was refused by the risk gate.
    #[serde(rename = "manual.refused")]
    ManualRefused(ManualRefused),
    /// The gateway's what-if preview of an entry.
    #[serde(rename = "order.previewed")]
    OrderPreviewed(OrderPreviewed),
    /// An entry was decided and handed to the order manager.
    #[serde(rename = "decision.entry")]
    DecisionEntry(Box<DecisionEntry>),
    /// An order reached the gateway.
    #[serde(rename = "order.placed")]
    OrderPlaced(OrderPlaced),
    /// A working order's limit moved to the next step of its walk.
    #[serde(rename = "order.walked")]
    OrderWalked(OrderWalked),
    /// A combo-level fill of a working order.
    #[serde(rename = "order.filled")]
    OrderFilled(OrderFilled),
    /// An operator asked to cancel a working order.
    #[serde(rename = "order.cancel_requested")]
    OrderCancelRequested(OrderCancelRequested),
    /// An order ended (filled, timed out, cancelled or rejected).
    #[serde(rename = "order.ended")]
    OrderEnded(OrderEnded),
    /// An order could not be sent (not journaled, or refused before the
    /// gateway heard of it).
    #[serde(rename = "order.failed")]
    OrderFailed(OrderFailed),
    /// An entry's fills opened a spread.
    #[serde(rename = "position.opened")]
    PositionOpened(PositionOpened),
    /// A leg at the gateway does not pair with the journal's spreads.
    #[serde(rename = "position.mismatch")]
    PositionMismatch(LegMismatch),
    /// A step of an entry failed (the cycle goes on with the next symbol).
    #[serde(rename = "entry.failed")]
    EntryFailed(EntryFailed),
    /// An exit rule holds for a held spread.
    #[serde(rename = "exit.triggered")]
    ExitTriggered(ExitTriggered),
    /// A step of an exit failed.
    #[serde(rename = "exit.failed")]
    ExitFailed(ExitFailed),
    /// A spread was closed: its realised P&L and R.
    #[serde(rename = "trade.closed")]
    TradeClosed(TradeClosed),
    /// The journal and the gateway were brought to agree at start.
    #[serde(rename = "recovery.completed")]
    RecoveryCompleted(RecoveryCompleted),
    /// The journal cannot be relied on for new entries (low space, a
    /// failed write): they are refused; exits and working orders go on.
    #[serde(rename = "journal.degraded")]
    JournalDegraded(JournalDegraded),
    /// The journal takes writes again, with room: new entries allowed.
    #[serde(rename = "journal.recovered")]
    JournalRecovered(JournalRecovered),
    /// The trading window opened.
    #[serde(rename = "session.activated")]
    SessionActivated(SessionSwitched),
    /// The trading window closed.
    #[serde(rename = "session.deactivated")]
    SessionDeactivated(SessionSwitched),
    /// An operator's config apply.
    #[serde(rename = "config.applied")]
    ConfigApplied(ConfigApplied),
    /// A backup restored through the apply path.
    #[serde(rename = "config.rolled_back")]
    ConfigRolledBack(ConfigApplied),
    /// An operator's apply or rollback was refused (invalid values, an
    /// edit of a stale version, a save that failed); nothing changed.
    #[serde(rename = "config.apply_refused")]
    ConfigApplyRefused(ConfigApplyRefused),
    /// The file changed on disk and the new version is in force.
    #[serde(rename = "config.reloaded")]
    ConfigReloaded(ConfigReloaded),
    /// The file changed on disk and was refused; the running config stays.
    #[serde(rename = "config.reload_failed")]
    ConfigReloadFailed(ConfigReloadFailed),
    /// The broker reconnected to apply new `[ibkr]` values.
    #[serde(rename = "gateway.reconfigured")]
    GatewayReconfigured(GatewayReconfigured),
    /// The link to the gateway was lost.
    #[serde(rename = "gateway.lost")]
    GatewayLost(GatewayLost),
    /// The gateway answers again (or for the first time).
    #[serde(rename = "gateway.ready")]
    GatewayReady(GatewayReady),
    /// An operator paused the engine.
    #[serde(rename = "control.paused")]
    ControlPaused(ControlPaused),
    /// An operator resumed the engine.
    #[serde(rename = "control.resumed")]
    ControlResumed(ControlResumed),
    /// The kill switch was engaged or released.
    #[serde(rename = "control.kill_switch")]
    KillSwitch(KillSwitchSet),
    /// A write to the admin API was answered: who made it, from where, and
    /// what it was answered (the audit trail of every change).
    #[serde(rename = "api.write")]
    ApiWrite(ApiWrite),
}

impl EngineEvent {
    /// The tag, as the journal and the API name the kind.
    pub fn kind(&self) -> &'static str {
        use EngineEvent as E;
        match self {
            E::EngineStarted(_) => "engine.started",
            E::SignalNone(_) => "signal.none",
            E::SignalFired(_) => "signal.fired",
            E::DecisionRefused(_) => "decision.refused",
            E::DecisionAbandoned(_) => "decision.abandoned",
            E::BreakerTripped(_) => "breaker.tripped",
            E::BreakerReset(_) => "breaker.reset",
            E::ScanCompleted(_) => "scan.completed",
            E::ScanWatched(_) => "scan.watched",
            E::ManualEntry(_) => "manual.entry",
            E::ManualClose(_) => "manual.close",
            E::ManualRefused(_) => "manual.refused",
            E::OrderPreviewed(_) => "order.previewed",
            E::DecisionEntry(_) => "decision.entry",
            E::OrderPlaced(_) => "order.placed",
            E::OrderWalked(_) => "order.walked",
            E::OrderFilled(_) => "order.filled",
            E::OrderCancelRequested(_) => "order.cancel_requested",
            E::OrderEnded(_) => "order.ended",
            E::OrderFailed(_) => "order.failed",
            E::PositionOpened(_) => "position.opened",
            E::PositionMismatch(_) => "position.mismatch",
            E::EntryFailed(_) => "entry.failed",
            E::ExitTriggered(_) => "exit.triggered",
            E::ExitFailed(_) => "exit.failed",
            E::TradeClosed(_) => "trade.closed",
            E::RecoveryCompleted(_) => "recovery.completed",
            E::JournalDegraded(_) => "journal.degraded",
            E::JournalRecovered(_) => "journal.recovered",
            E::SessionActivated(_) => "session.activated",
            E::SessionDeactivated(_) => "session.deactivated",
            E::ConfigApplied(_) => "config.applied",
            E::ConfigRolledBack(_) => "config.rolled_back",
            E::ConfigApplyRefused(_) => "config.apply_refused",
            E::ConfigReloaded(_) => "config.reloaded",
            E::ConfigReloadFailed(_) => "config.reload_failed",
            E::GatewayReconfigured(_) => "gateway.reconfigured",
            E::GatewayLost(_) => "gateway.lost",
            E::GatewayReady(_) => "gateway.ready",
            E::ControlPaused(_) => "control.paused",
            E::ControlResumed(_) => "control.resumed",
            E::KillSwitch(_) => "control.kill_switch",
            E::ApiWrite(_) => "api.write",
        }
    }

    /// The content alone, as JSON (what the journal keeps as `data`).
    pub fn data(&self) -> Json {
        match serde_json::to_value(self) {
            Ok(Json::Object(mut o)) => o.remove("data").unwrap_or(Json::Null),
            _ => Json::Null,
        }
    }
}

/// One answered write to the admin API.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ApiWrite {
    /// `POST`, `PUT`, ...
    pub method: String,
    /// The request's path (without its query).
    pub path: String,
    /// The HTTP status it was answered.
    pub status: u16,
    /// The name of the token used.
    pub token: String,
    /// `admin` or `viewer`.
    pub role: String,
    /// The client's IP address, when the request came over a socket.
    pub client: Option<String>,
    /// `role:name@address` (with `/operator` when `X-Operator` was sent):
    /// the same words the config history records as who acted.
    pub who: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EngineStarted {
    /// The config file's content version.
    pub config_version: String,
    pub config_generation: u64,
    /// The configuration in force, as its JSON value (what a report shows
    /// of the version; it holds no secret: tokens live in their own files).
    pub config: Json,
}

/// The conditions of one strategy that failed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FailedStrategy {
    pub strategy: Strategy,
    pub failed: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SignalNone {
    pub symbol: String,
    pub evaluations: Vec<FailedStrategy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SignalFired {
    pub symbol: String,
    pub signal: Evaluation,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DecisionRefused {
    pub symbol: String,
    pub refusal: Refusal,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DecisionAbandoned {
    /// The decision cycle's number.
    pub cycle: u64,
    /// The symbol being considered, if any.
    pub symbol: Option<String>,
    /// The stage it stopped before: `gate`, `chain`, `scan`, `size`,
    /// `preview`, `order`, `exit`.
    pub before: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BreakerSwitched {
    pub symbol: String,
    pub iv: f64,
}

/// One scanned spread, in short.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanHit {
    pub kind: SpreadKind,
    /// `YYYYMMDD`.
    pub expiry: u32,
    pub long: f64,
    pub short: f64,
    pub price: f64,
    pub score: f64,
}

/// A candidate the last two filters removed.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct NearMiss {
    pub kind: SpreadKind,
    pub expiry: u32,
    pub long: f64,
    pub short: f64,
    pub price: f64,
    pub pop: f64,
    pub score: f64,
    /// `min_pop` or `min_score`.
    pub removed_by: String,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanCompleted {
    pub symbol: String,
    pub kinds: Vec<SpreadKind>,
    pub results: usize,
    pub candidates: u64,
    pub quote_requests: usize,
    pub naive_requests: usize,
    /// The chain's acquisition and its scan, wall time.
    pub duration_ms: f64,
    /// The scanner's own time (ranking the pairs, no waiting for quotes),
    /// wall time.
    pub compute_ms: f64,
    pub best: Option<ScanHit>,
    pub top: Vec<ScanHit>,
    /// Per kind: candidates, what each filter removed, passed, kept.
    pub funnel: FunnelView,
    pub top_rejected: Vec<NearMiss>,
}

/// A scan of the scanner watch (`[scanner] watch`): every configured kind,
/// whether a signal fires or not.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanWatched {
    #[serde(flatten)]
    pub scan: ScanCompleted,
    /// The strategy firing on the underlying now, if one is.
    pub signal: Option<Strategy>,
}

/// An operator's entry by hand, handed to the order manager.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManualEntry {
    /// The token's role (and `X-Operator` name) that asked for it.
    pub who: String,
    pub symbol: String,
    pub order_ref: String,
    pub kind: SpreadKind,
    /// `YYYYMMDD`.
    pub expiry: u32,
    pub long: Decimal,
    pub short: Decimal,
    pub quantity: u32,
    pub mid: Decimal,
    pub natural: Decimal,
    /// The planned walk's prices; the last is the order's bound.
    pub walk: Vec<Decimal>,
    pub walk_interval_s: f64,
    pub order_timeout_s: f64,
}

/// An operator's close of a held spread by hand.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManualClose {
    pub who: String,
    pub symbol: String,
    /// The spread (its entry order's reference).
    pub spread_ref: String,
    /// The closing order.
    pub order_ref: String,
    pub quantity: u32,
    pub mid: Decimal,
    pub natural: Decimal,
    pub walk: Vec<Decimal>,
}

/// An operator's entry by hand that the risk gate refused: every rule.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ManualRefused {
    pub who: String,
    pub symbol: String,
    pub refusals: Vec<RuleRefusal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderPreviewed {
    pub symbol: String,
    pub order_ref: String,
    /// Initial margin change the gateway reported.
    pub margin: Decimal,
    pub quantity: u32,
    pub commission: Option<Decimal>,
}

/// A leg's quote as a decision saw it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LegQuote {
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DecisionQuotes {
    pub long: Option<LegQuote>,
    pub short: Option<LegQuote>,
}

/// What the risk gate saw, beside its limits.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GateView {
    pub open_positions: usize,
    pub max_positions: i64,
    pub open_on_underlying: usize,
    pub max_positions_per_underlying: i64,
    pub daily_pnl: Decimal,
    pub max_daily_loss: f64,
    pub iv: f64,
    pub max_iv: f64,
    pub order_value: Decimal,
    pub max_order_value: f64,
    pub margin: Option<Decimal>,
    pub buying_power: Decimal,
    pub min_buying_power: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DecisionEntry {
    pub symbol: String,
    pub order_ref: String,
    pub quantity: u32,
    pub kind: SpreadKind,
    /// `YYYYMMDD`.
    pub expiry: u32,
    pub long: Decimal,
    pub short: Decimal,
    pub mid: Decimal,
    pub natural: Decimal,
    pub quotes: DecisionQuotes,
    /// The planned walk's prices; the last is the order's bound.
    pub walk: Vec<Decimal>,
    pub risk: GateView,
    /// The config generation the decision was made under.
    pub config_generation: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderPlaced {
    pub symbol: String,
    pub order_ref: String,
    pub purpose: OrderPurpose,
    pub order_id: i64,
    pub price: NetPrice,
    pub quantity: u32,
    /// From the signal the order acts on to the order reaching the broker
    /// layer, on the engine's clock (entries; exits have no signal).
    pub signal_to_order_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderWalked {
    pub symbol: String,
    pub order_ref: String,
    pub step: usize,
    pub price: NetPrice,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderFilled {
    pub symbol: String,
    pub order_ref: String,
    pub purpose: OrderPurpose,
    /// Spreads in this fill.
    pub quantity: Decimal,
    /// Net per share of this fill.
    pub price: Decimal,
    /// Spreads filled so far.
    pub filled: Decimal,
    pub ordered: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderCancelRequested {
    pub who: String,
    pub order_ref: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderEnded {
    pub symbol: String,
    pub order_ref: String,
    pub purpose: OrderPurpose,
    #[serde(flatten)]
    pub end: OrderEnd,
    pub filled: Decimal,
    pub quantity: u32,
    pub steps: usize,
    /// From placement to the end, on the engine's clock.
    pub execution_ms: i64,
    pub commissions: Decimal,
    /// Net per share of the fills, when any.
    pub average_net: Option<Decimal>,
    /// The combo mid when the order was decided.
    pub mid: Decimal,
    /// From the last quote the decision needed to the order handed to the
    /// broker layer (the synced journal write included), in real time.
    pub decision_latency_us: u64,
    /// The journal write before placement, in real time.
    pub journal_us: u64,
    /// How far the fills' average is from `mid`, against the order (paid
    /// above it or received below it), as a fraction of the spread's width;
    /// absent when nothing filled.
    pub slippage_width_ratio: Option<f64>,
    /// From the signal the order acts on to its last fill, on the engine's
    /// clock (entries that filled).
    pub signal_to_fill_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderFailed {
    pub symbol: String,
    pub order_ref: String,
    pub purpose: OrderPurpose,
    pub error: String,
}

/// One leg's fills of an order.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LegFilled {
    pub con_id: i64,
    pub quantity: Decimal,
    pub average: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PositionOpened {
    pub symbol: String,
    pub order_ref: String,
    pub quantity: u32,
    pub net: Decimal,
    pub commissions: Decimal,
    pub combo_fills: Decimal,
    pub combo_notional: Decimal,
    pub legs: Vec<LegFilled>,
    pub slippage_vs_mid: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EntryFailed {
    pub symbol: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ExitTriggered {
    pub order_ref: String,
    pub symbol: String,
    pub reason: ExitReason,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ExitFailed {
    pub order_ref: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TradeClosed {
    /// The spread's entry order reference.
    pub order_ref: String,
    pub symbol: String,
    /// The exit rule's name (or `manual`).
    pub reason: String,
    pub realised: Decimal,
    pub risk: Decimal,
    pub r_multiple: f64,
    pub commissions: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RecoveryCompleted {
    pub report: RecoveryReport,
    /// Spreads taken up again.
    pub held: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JournalDegraded {
    /// Why: `low_space` or `write_failed`, with its numbers.
    pub degraded: Degraded,
    /// Free space of the data directory's filesystem, when known.
    pub free_bytes: Option<u64>,
    /// Bytes still held in the reserve (released when a write fails).
    pub reserve_bytes: u64,
    /// Journal writes failed so far.
    pub write_errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JournalRecovered {
    /// How long new entries were refused (real time).
    pub degraded_for_s: f64,
    pub free_bytes: Option<u64>,
    pub write_errors: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SessionSwitched {
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfigApplied {
    pub who: String,
    pub changes: Vec<KeyChange>,
    pub backup_id: Option<String>,
    pub version: String,
    pub interruption_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfigApplyRefused {
    pub who: String,
    /// `apply` or `rollback`.
    pub action: String,
    /// Why, in one word: `invalid` (a value out of its range, with every
    /// error in `errors`), `stale` (the file changed since the edit was
    /// read), `no_such_backup`, or `store` (the file could not be saved).
    pub reason: String,
    /// The refusal as the API answers it.
    pub message: String,
    /// Each validation error (key path, value, allowed range, line), for
    /// `invalid`; empty otherwise.
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfigReloaded {
    pub version: String,
    pub changes: Vec<KeyChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfigReloadFailed {
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GatewayReconfigured {
    /// The `[ibkr]` keys that made the broker reconnect.
    pub keys: Vec<String>,
    pub address: String,
    /// From the reconnect's start to the link being ready, when it was.
    pub ready_after_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GatewayLost {
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GatewayReady {
    pub address: String,
    pub server_version: Option<i32>,
    /// Connections made so far (1 at the first).
    pub connects: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ControlPaused {
    pub who: String,
    /// Cycles in flight do not hold a pause back: always about zero.
    pub waited_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ControlResumed {
    pub who: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KillSwitchSet {
    pub who: String,
    pub engaged: bool,
    /// Working entry orders cancelled at once.
    pub cancelled: Vec<String>,
}

/// A date as `YYYYMMDD`, as the scanner writes expiries.
pub fn yyyymmdd(date: NaiveDate) -> u32 {
    use chrono::Datelike as _;
    date.year() as u32 * 10_000 + date.month() * 100 + date.day()
}
