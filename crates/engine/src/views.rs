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
use schemars::JsonSchema;
use serde::Serialize;
use vspread_core::{OrderPurpose, Right};

use crate::decision::scan::FunnelView;
use crate::events::NearMiss;
use crate::signals::Strategy;

/// One ranked spread of a scan, per share, as the scanner printed it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanRowView {
    /// 1 is the best.
    pub rank: usize,
    pub underlying: String,
    /// `bull_call`, `bear_call`, `bear_put` or `bull_put`.
    pub kind: &'static str,
    pub expiry: NaiveDate,
    pub dte: i64,
    pub long_strike: f64,
    pub short_strike: f64,
    pub width: f64,
    /// Net at the legs' mids (paid for a debit kind, received for a credit).
    pub price: f64,
    /// Net crossing both legs' quotes.
    pub natural: f64,
    pub max_profit: f64,
    pub max_loss: f64,
    pub breakeven: f64,
    /// Probability of profit under the market's implied (lognormal,
    /// driftless) distribution: `docs/scanner.md`.
    pub pop: f64,
    /// `pop * max_profit - (1 - pop) * max_loss`: under the implied
    /// distribution near zero or negative by construction (the edge is the
    /// signal's direction, which the distribution does not know).
    pub ev: f64,
    /// `ev / max_loss`: what the scanner ranks by.
    pub score: f64,
    /// The decision the trader took on this scan (`GET /decisions`), for a
    /// trader's scan.
    pub decision_id: Option<String>,
    /// The entry order the decision placed on this spread, if it did.
    pub order_ref: Option<String>,
}

/// Who ran a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScanSource {
    /// A decision cycle, for a signal: the kinds of its direction.
    Trader,
    /// The scanner watch (`[scanner] watch`): every configured kind.
    Watch,
}

/// What a decision made of a trader's scan.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanDecision {
    /// The decision's id (`GET /decisions`).
    pub id: String,
    /// `entered`, `refused`, `no_spread`, `abandoned` or `failed`.
    pub outcome: &'static str,
    /// The entry order placed, if one was.
    pub order_ref: Option<String>,
}

/// The latest scan of one underlying.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScanView {
    pub underlying: String,
    /// When the scan ran, on the engine's clock.
    pub at: DateTime<Utc>,
    pub source: ScanSource,
    pub kinds: Vec<&'static str>,
    pub quote_requests: usize,
    pub candidates: u64,
    pub funnel: FunnelView,
    pub results: Vec<ScanRowView>,
    /// The best candidates removed by `min_pop` or `min_score`, each with
    /// the threshold it missed.
    pub top_rejected: Vec<NearMiss>,
    /// The strategy firing on the underlying when it was scanned.
    pub signal: Option<Strategy>,
    /// What the trader decided on it (a trader's scan, once decided).
    pub decision: Option<ScanDecision>,
}

/// A leg of a held spread as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct PositionLegView {
    /// `long` (bought) or `short` (sold).
    pub role: LegRole,
    pub con_id: i64,
    pub local_symbol: String,
    pub right: Right,
    pub strike: Decimal,
    pub expiry: NaiveDate,
    /// The leg's last quote (its pinned line), when it had one.
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    /// The gateway's model values for the leg, per share of one option.
    pub greeks: Option<LegGreeks>,
}

/// Which side of a spread a leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegRole {
    Long,
    Short,
}

/// One option's model values, as the gateway computed them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, JsonSchema)]
pub struct LegGreeks {
    /// Annualised implied volatility (0.25 = 25%).
    pub iv: Option<f64>,
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    /// Per calendar day.
    pub theta: Option<f64>,
    /// Per point (0.01) of implied volatility.
    pub vega: Option<f64>,
}

impl From<vspread_core::Greeks> for LegGreeks {
    fn from(g: vspread_core::Greeks) -> Self {
        LegGreeks {
            iv: g.implied_vol,
            delta: g.delta,
            gamma: g.gamma,
            theta: g.theta,
            vega: g.vega,
        }
    }
}

/// A spread's greeks: the long leg's less the short leg's, per spread
/// (per share, as quoted), and for the whole position (times the
/// quantity and the multiplier: delta in shares, theta in money a day).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct NetGreeks {
    pub delta: f64,
    pub gamma: f64,
    pub theta: f64,
    pub vega: f64,
    pub position_delta: f64,
    pub position_gamma: f64,
    pub position_theta: f64,
    pub position_vega: f64,
}

impl NetGreeks {
    /// The net of two legs' greeks for `quantity` spreads of `multiplier`;
    /// `None` unless both legs have all four.
    pub fn of(long: &LegGreeks, short: &LegGreeks, quantity: u32, multiplier: u32) -> Option<Self> {
        let net = |l: Option<f64>, s: Option<f64>| Some(l? - s?);
        let delta = net(long.delta, short.delta)?;
        let gamma = net(long.gamma, short.gamma)?;
        let theta = net(long.theta, short.theta)?;
        let vega = net(long.vega, short.vega)?;
        let scale = f64::from(quantity) * f64::from(multiplier);
        Some(NetGreeks {
            delta,
            gamma,
            theta,
            vega,
            position_delta: delta * scale,
            position_gamma: gamma * scale,
            position_theta: theta * scale,
            position_vega: vega * scale,
        })
    }
}

/// A held spread at its last mark. Prices are per share; P&L in account
/// currency.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
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
    /// `entry` (the bot's) or `manual` (placed by hand).
    pub opened_by: OrderPurpose,
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
    /// The most the position can make at expiry from its entry price, in
    /// money (all spreads, before commissions).
    pub max_profit: Option<Decimal>,
    /// The most it can lose at expiry, in money.
    pub max_loss: Option<Decimal>,
    /// The underlying's prices at expiry at which it neither makes nor
    /// loses (one for a vertical), from the entry price.
    pub breakevens: Vec<Decimal>,
    /// Probability of ending above (bullish) or below (bearish) the
    /// breakeven, as the scanner defines it, at the last mark's
    /// underlying and the legs' implied volatilities.
    pub pop: Option<f64>,
    /// The legs' greeks netted, at the last mark.
    pub greeks: Option<NetGreeks>,
    /// The bought leg, then the sold one.
    pub legs: Vec<PositionLegView>,
    /// A closing order working for it now, if any.
    pub closing_order: Option<String>,
}

/// Every held spread and the day's P&L.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
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

    /// Keeps `scan` as its underlying's latest. A watch scan does not
    /// replace a trader's scan that is newer (a cycle ran meanwhile).
    pub fn record_scan(&self, scan: ScanView) {
        let mut scans = self.scans.write().unwrap_or_else(|e| e.into_inner());
        let newer = scans
            .get(&scan.underlying)
            .is_some_and(|kept| kept.at > scan.at);
        if !newer {
            scans.insert(scan.underlying.clone(), Arc::new(scan));
        }
    }

    /// Records what the trader decided on the latest scan of `underlying`
    /// (if it is still the scan made at `at`): the decision on the scan,
    /// its id on every row, and the order on the row it entered.
    pub fn record_decision(
        &self,
        underlying: &str,
        at: DateTime<Utc>,
        decision: ScanDecision,
        entered_rank: Option<usize>,
    ) {
        let mut scans = self.scans.write().unwrap_or_else(|e| e.into_inner());
        let Some(kept) = scans.get_mut(underlying) else {
            return;
        };
        if kept.at != at || kept.source != ScanSource::Trader {
            return;
        }
        let scan = Arc::make_mut(kept);
        for row in &mut scan.results {
            row.decision_id = Some(decision.id.clone());
            if Some(row.rank) == entered_rank {
                row.order_ref.clone_from(&decision.order_ref);
            }
        }
        scan.decision = Some(decision);
    }

    /// The latest scan of `underlying`, if any.
    pub fn latest_scan(&self, underlying: &str) -> Option<Arc<ScanView>> {
        let scans = self.scans.read().unwrap_or_else(|e| e.into_inner());
        scans.get(underlying).cloned()
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
            source: ScanSource::Trader,
            kinds: vec!["bull_call"],
            quote_requests: 1,
            candidates: n,
            funnel: FunnelView::default(),
            results: vec![],
            top_rejected: vec![],
            signal: None,
            decision: None,
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
        // An older watch scan does not replace the trader's newer one.
        views.record_scan(ScanView {
            source: ScanSource::Watch,
            ..scan("QQQ", 2)
        });
        assert_eq!(views.latest_scan("QQQ").unwrap().candidates, 3);
        views.record_decision(
            "QQQ",
            DateTime::<Utc>::from_timestamp(3, 0).unwrap(),
            ScanDecision {
                id: "c1-QQQ".into(),
                outcome: "no_spread",
                order_ref: None,
            },
            None,
        );
        assert_eq!(
            views
                .latest_scan("QQQ")
                .unwrap()
                .decision
                .as_ref()
                .unwrap()
                .id,
            "c1-QQQ"
        );
    }
}
