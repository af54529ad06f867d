//! What the trader shows the operator between events: the latest scan of
//! each underlying (every ranked row and the filter funnel), the held
//! spreads at their last marks with their stop and target levels.
//!
//! (Working orders are the order manager's to show.)
//!
//! The trader writes these as it works; the admin API reads them. Reads
//! take a short lock and clone an `Arc`, so a reader never waits for a
//! decision cycle and a cycle never waits for a reader.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

/// One ranked spread of a scan, per share, as the scanner printed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanRowView {
    pub rank: usize,
    pub underlying: String,
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub dte: i64,
    pub long_strike: f64,
    pub short_strike: f64,
    pub width: f64,
    pub price: f64,
    pub natural: f64,
    pub max_profit: f64,
    pub max_loss: f64,
    pub breakeven: f64,
    pub pop: f64,
    pub ev: f64,
    pub score: f64,
}

/// The latest scan of one underlying.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanView {
    pub underlying: String,
    pub at: DateTime<Utc>,
    pub kinds: Vec<&'static str>,
    pub quote_requests: usize,
    pub candidates: u64,
    /// Per kind: candidates, removed by each filter (by name), passed, kept.
    pub funnel: Json,
    pub results: Vec<ScanRowView>,
    /// The best candidates removed by `min_pop` or `min_score`, each with
    /// the threshold it missed.
    pub top_rejected: Vec<Json>,
}

/// A held spread at its last mark. Prices are per share; P&L in account
/// currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionView {
    pub entry_ref: String,
    pub underlying: String,
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub dte: i64,
    pub long_strike: Decimal,
    pub short_strike: Decimal,
    pub quantity: u32,
    /// Opened for a credit (else a debit).
    pub credit: bool,
    pub entry_price: Option<Decimal>,
    pub opened_at: DateTime<Utc>,
    /// The underlying when the spread was opened.
    pub entry_underlying: f64,
    /// The net per share closing would fetch or cost, at the legs' mids.
    pub mark: Option<Decimal>,
    pub marked_at: Option<DateTime<Utc>>,
    pub underlying_last: Option<f64>,
    pub unrealised_pnl: Option<Decimal>,
    /// Entry commissions so far.
    pub realised_pnl: Decimal,
    /// The underlying price at which the ATR stop closes it.
    pub stop_underlying: f64,
    /// The mark at which the profit target closes it.
    pub target_price: Option<Decimal>,
    /// Open P&L as % of the max profit, at the mark.
    pub profit_pct: Option<f64>,
}

/// Every held spread and the day's P&L.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PositionsView {
    pub positions: Vec<PositionView>,
    pub realised_today: Decimal,
    pub unrealised: Decimal,
    /// When the trader last wrote this.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Shared between the trader (writes) and the admin API (reads).
#[derive(Debug, Default)]
pub struct TradingViews {
    scans: RwLock<BTreeMap<String, Arc<ScanView>>>,
    positions: RwLock<Arc<PositionsView>>,
}

impl TradingViews {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_scan(&self, scan: ScanView) {
        let mut scans = self.scans.write().unwrap_or_else(|e| e.into_inner());
        scans.insert(scan.underlying.clone(), Arc::new(scan));
    }

    /// The latest scan of each underlying, by underlying.
    pub fn latest_scans(&self) -> Vec<Arc<ScanView>> {
        let scans = self.scans.read().unwrap_or_else(|e| e.into_inner());
        scans.values().cloned().collect()
    }

    pub fn set_positions(&self, view: PositionsView) {
        *self.positions.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(view);
    }

    pub fn positions(&self) -> Arc<PositionsView> {
        self.positions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_scan_of_each_underlying_replaces_the_last() {
        let views = TradingViews::new();
        let scan = |u: &str, n: u64| ScanView {
            underlying: u.into(),
            at: DateTime::<Utc>::from_timestamp(n as i64, 0).unwrap(),
            kinds: vec!["bull_call"],
            quote_requests: 1,
            candidates: n,
            funnel: Json::Null,
            results: vec![],
            top_rejected: vec![],
        };
        views.record_scan(scan("QQQ", 1));
        views.record_scan(scan("IWM", 2));
        views.record_scan(scan("QQQ", 3));
        let latest = views.latest_scans();
        let got: Vec<_> = latest
            .iter()
            .map(|s| (s.underlying.as_str(), s.candidates))
            .collect();
        assert_eq!(got, vec![("IWM", 2), ("QQQ", 3)]);
    }
}
