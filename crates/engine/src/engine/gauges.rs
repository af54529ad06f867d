//! What the operator's gauges read of the engine at one moment: where the
//! engine's clock stands against the trading schedule and the gateway's
//! daily restart, how long ago a scan last completed, the P&L the risk
//! gate counts, and how the journal's synced writes have fared. The
//! metrics scrape reads this (`Engine::gauges`); each figure is computed
//! when asked, from the engine's own state, so it cannot go stale between
//! events.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use vspread_core::journal::SyncTimings;

use super::Engine;
use crate::risk::in_restart_window;
use crate::schedule::window_open;

/// The engine's state as gauges see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Gauges {
    /// The engine's clock now.
    pub now: DateTime<Utc>,
    /// New entries are allowed now: `[trading_schedule]` on the engine's
    /// clock, or, with the schedule disabled, the session as the last
    /// cycle had it (open before any cycle).
    pub trading_window_open: bool,
    /// The gateway's daily restart is under way (`[ibkr]
    /// daily_restart_utc` for `daily_restart_minutes`).
    pub daily_restart_window: bool,
    /// When the last scan completed, if one has.
    pub last_scan_at: Option<DateTime<Utc>>,
    /// Seconds since the last completed scan, or since the engine was
    /// built when none has (so a scanner that never completes shows).
    pub since_last_scan_s: f64,
    /// The day's realised plus unrealised P&L, as the risk gate counts it.
    pub daily_pnl: Decimal,
    /// Realised P&L of every spread closed, after commissions.
    pub realised_total: Decimal,
    /// The journal's synced writes so far.
    pub journal_syncs: SyncTimings,
}

impl Engine {
    /// The gauges' figures now.
    pub fn gauges(&self) -> Gauges {
        let e = &self.0;
        let now = e.clock.now();
        let config = e.live.current().config.clone();
        let trading_window_open = window_open(&config.trading_schedule, now).unwrap_or_else(|| {
            self.0
                .history
                .last()
                .is_none_or(|cycle| cycle.session_active)
        });
        let last_scan_at = e.views.latest_scans().iter().map(|s| s.at).max();
        let since = last_scan_at.unwrap_or(e.built_on_clock);
        let positions = e.views.positions();
        Gauges {
            now,
            trading_window_open,
            daily_restart_window: in_restart_window(&config, now),
            last_scan_at,
            since_last_scan_s: ((now - since).num_milliseconds() as f64 / 1e3).max(0.0),
            daily_pnl: positions.realised_today + positions.unrealised,
            realised_total: e.trader.realised_total(),
            journal_syncs: e.journal.journal().sync_timings(),
        }
    }
}
