//! What one entry decision saw and decided, stage by stage, as the
//! operator's "why" view reads it: the signal's conditions (each with its
//! value, threshold and config key), the gate's verdict (every rule that
//! refused, with its numbers and key), the scan's funnel, best candidates
//! and near misses, and the outcome.
//!
//! The trader fills one [`DecisionRecord`] per cycle and symbol as the
//! stages run and keeps the last [`DecisionLog::CAPACITY`] in memory; the
//! journal keeps the events the stages publish, as before.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use vspread_core::SpreadKind;

use crate::events::ScanCompleted;
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

/// The last decisions, newest last, bounded.
#[derive(Debug, Default)]
pub struct DecisionLog {
    records: Mutex<VecDeque<Arc<DecisionRecord>>>,
}

impl DecisionLog {
    /// Decisions kept (a few days of a universe of ten, every five minutes).
    pub const CAPACITY: usize = 5000;

    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, record: DecisionRecord) {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if records.len() == Self::CAPACITY {
            records.pop_front();
        }
        records.push_back(Arc::new(record));
    }

    /// The newest `limit` decisions, on `symbol` if given, newest first.
    pub fn recent(&self, symbol: Option<&str>, limit: usize) -> Vec<Arc<DecisionRecord>> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records
            .iter()
            .rev()
            .filter(|r| symbol.is_none_or(|s| r.symbol == s))
            .take(limit)
            .cloned()
            .collect()
    }

    /// The decision with `id`, if still kept.
    pub fn get(&self, id: &str) -> Option<Arc<DecisionRecord>> {
        let records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.iter().rev().find(|r| r.id == id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

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
    fn keeps_the_newest_and_filters_by_symbol() {
        let log = DecisionLog::new();
        for cycle in 1..=(DecisionLog::CAPACITY as u64 + 2) {
            log.push(record(cycle, if cycle % 2 == 0 { "QQQ" } else { "SPY" }));
        }
        let all = log.recent(None, usize::MAX);
        assert_eq!(all.len(), DecisionLog::CAPACITY);
        assert_eq!(
            all[0].cycle,
            DecisionLog::CAPACITY as u64 + 2,
            "newest first"
        );
        let qqq = log.recent(Some("QQQ"), 3);
        assert_eq!(
            qqq.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["c5002-QQQ", "c5000-QQQ", "c4998-QQQ"]
        );
        assert!(log.get("c5001-SPY").is_some());
        assert!(log.get("c1-SPY").is_none(), "dropped from the ring");
        let json = serde_json::to_value(&*all[0]).unwrap();
        assert_eq!(json["outcome"]["result"], "no_signal");
    }
}
