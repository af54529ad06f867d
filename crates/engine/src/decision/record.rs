//! What one entry decision saw and decided, stage by stage, as the
//! operator's "why" view reads it: the signal's conditions (each with its
//! value, threshold and config key), the gate's verdict (every rule that
//! refused, with its numbers and key), the scan's funnel, best candidates
//! and near misses, and the outcome.
//!
//! The trader fills one [`DecisionRecord`] per cycle and symbol as the
//! stages run; the journal keeps every one (beside the events the stages
//! publish), memory only the newest per symbol.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use tracing::warn;
use vspread_core::SpreadKind;
use vspread_core::journal::JournalDecision;

use crate::events::{EventBus, ScanCompleted};
use crate::risk::RuleRefusal;
use crate::signals::{Evaluation, Strategy};

/// One cycle's decision on one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DecisionRecord {
    /// `c<cycle>-<symbol>`: what a scanned row links to.
    pub id: String,
    /// The decision cycle's number (from 1 in each process run).
    pub cycle: u64,
    /// When the cycle started, on the engine's clock.
    pub at: DateTime<Utc>,
    pub symbol: String,
    /// The config generation the cycle read.
    pub config_generation: u64,
    /// The strategies on the daily bars; none when the bars could not be
    /// had.
    pub signal: Option<SignalStep>,
    /// The risk gate; none when no signal fired.
    pub gate: Option<GateVerdict>,
    /// The scan of the chain; none when the decision stopped before it.
    pub scan: Option<ScanCompleted>,
    /// What was decided.
    pub outcome: DecisionOutcome,
}

/// The signal stage: every enabled strategy with each of its conditions.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SignalStep {
    /// One per enabled strategy, each condition with its value,
    /// threshold, bound, config key and whether it passed.
    pub evaluations: Vec<Evaluation>,
    /// The strategy that fired, if exactly one did.
    pub fired: Option<Strategy>,
}

/// The risk gate's verdict, beside the numbers it judged.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct GateVerdict {
    /// No rule refused.
    pub passed: bool,
    /// Every rule that refused, in the order the gate tries them (the bot
    /// stops at the first).
    pub refusals: Vec<RuleRefusal>,
    /// Spreads held plus working entries, and `trading.max_positions`.
    pub open_positions: usize,
    pub max_positions: i64,
    /// The same on this symbol, and `trading.max_positions_per_underlying`.
    pub open_on_underlying: usize,
    pub max_positions_per_underlying: i64,
    /// Realised plus unrealised P&L of the day, and `risk.max_daily_loss`.
    pub daily_pnl: Decimal,
    pub max_daily_loss: f64,
    pub kill_switch: bool,
}

/// What a decision came to.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// No strategy fired (see the signal's failed conditions).
    NoSignal,
    /// A rule refused (the gate, the IV breaker, the size or the
    /// what-if's buying power).
    Refused { refusal: RuleRefusal },
    /// The scan ranked no spread.
    NoSpread,
    /// An entry order was handed to the order manager.
    Entered {
        order_ref: String,
        kind: SpreadKind,
        quantity: u32,
        /// The first limit and the walk's bound, per share.
        limit: Decimal,
        bound: Decimal,
        /// The scan rank of the spread entered (1 is the best).
        rank: usize,
    },
    /// The engine was paused before the stage named.
    Abandoned { before: String },
    /// A step failed (the gateway, the journal); the error says which.
    Failed { error: String },
}

impl DecisionOutcome {
    /// The outcome's snake_case name.
    pub fn name(&self) -> &'static str {
        match self {
            DecisionOutcome::NoSignal => "no_signal",
            DecisionOutcome::Refused { .. } => "refused",
            DecisionOutcome::NoSpread => "no_spread",
            DecisionOutcome::Entered { .. } => "entered",
            DecisionOutcome::Abandoned { .. } => "abandoned",
            DecisionOutcome::Failed { .. } => "failed",
        }
    }
}

impl DecisionRecord {
    /// The id of cycle `cycle`'s decision on `symbol`.
    pub fn id_of(cycle: u64, symbol: &str) -> String {
        format!("c{cycle}-{symbol}")
    }
}

/// The newest decision on each symbol, in memory (what the scanner view
/// shows beside a symbol); every decision goes to the journal, where the
/// operator's history of them is read (`GET /decisions`). Holding the
/// history in memory instead made the process grow with it for days.
#[derive(Debug)]
pub struct DecisionLog {
    latest: Mutex<HashMap<String, Arc<DecisionRecord>>>,
    events: Arc<EventBus>,
}

impl DecisionLog {
    /// A log that journals through `events`' writer, in order with the
    /// events the decision's stages published.
    pub fn new(events: Arc<EventBus>) -> Self {
        Self {
            latest: Mutex::new(HashMap::new()),
            events,
        }
    }

    /// Keeps `record` as its symbol's newest and queues it for the journal.
    pub fn push(&self, record: DecisionRecord) {
        match serde_json::to_string(&record) {
            Ok(text) => self.events.journal_decision(JournalDecision {
                id: record.id.clone(),
                cycle: record.cycle,
                at: record.at,
                symbol: record.symbol.clone(),
                outcome: record.outcome.name().to_string(),
                record: text,
            }),
            Err(e) => warn!(id = %record.id, error = %e, "decision not journaled"),
        }
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(record.symbol.clone(), Arc::new(record));
    }

    /// The newest decision on `symbol` in this process run.
    pub fn latest(&self, symbol: &str) -> Option<Arc<DecisionRecord>> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(symbol)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use vspread_core::clock::ManualClock;
    use vspread_core::journal::{DecisionQuery, Journal};

    fn record(cycle: u64, symbol: &str) -> DecisionRecord {
        DecisionRecord {
            id: DecisionRecord::id_of(cycle, symbol),
            cycle,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
            symbol: symbol.into(),
            config_generation: 1,
            signal: None,
            gate: None,
            scan: None,
            outcome: DecisionOutcome::NoSignal,
        }
    }

    #[test]
    fn memory_keeps_the_newest_per_symbol_and_the_journal_keeps_every_one() {
        let dir = tempfile::tempdir().unwrap();
        let journal: Arc<dyn Journal> =
            Arc::new(vspread_journal::SqliteJournal::open_in(dir.path()).unwrap());
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
        ));
        let events = Arc::new(EventBus::new(100, clock));
        events.attach_journal(journal.clone()).unwrap();
        let log = DecisionLog::new(events.clone());
        for cycle in 1..=300 {
            log.push(record(cycle, if cycle % 2 == 0 { "QQQ" } else { "SPY" }));
        }
        assert_eq!(log.latest("QQQ").unwrap().id, "c300-QQQ");
        assert_eq!(log.latest("SPY").unwrap().id, "c299-SPY");
        assert!(log.latest("IWM").is_none());
        assert_eq!(log.latest.lock().unwrap().len(), 2, "one per symbol");

        assert!(events.flush_journal(std::time::Duration::from_secs(10)));
        let all = journal.decisions(&DecisionQuery::default()).unwrap();
        assert_eq!(all.len(), 300, "every decision journaled");
        let qqq = journal
            .decisions(&DecisionQuery {
                symbol: Some("QQQ".into()),
                limit: 3,
            })
            .unwrap();
        assert_eq!(
            qqq.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
            ["c300-QQQ", "c298-QQQ", "c296-QQQ"],
            "newest first"
        );
        assert_eq!(qqq[0].outcome, "no_signal");
        let json: serde_json::Value = serde_json::from_str(&qqq[0].record).unwrap();
        assert_eq!(json["outcome"]["result"], "no_signal");
        assert_eq!(json["cycle"], 300);
    }
}
