//! The trading-hours schedule: whether new entries are permitted now.
//!
//! The schedule switches the trading session at the edges of its UTC window
//! on the configured weekdays: active from `start_time_utc` (inclusive) to
//! `stop_time_utc` (exclusive). With `enabled = false` it never switches the
//! session, which then stays as it was. Exits are not governed by it: open
//! positions are managed whenever the market is open.

use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use serde::Serialize;
use vspread_core::config::{TradingScheduleConfig, Weekday};

/// Whether the window is open at `now`, or `None` when the schedule is
/// disabled and so has no say.
pub fn window_open(schedule: &TradingScheduleConfig, now: DateTime<Utc>) -> Option<bool> {
    if !schedule.enabled {
        return None;
    }
    let day = Weekday::from_chrono(now.weekday());
    let seconds = now.num_seconds_from_midnight();
    Some(
        schedule.days.contains(&day)
            && seconds >= schedule.start_time_utc.seconds()
            && seconds < schedule.stop_time_utc.seconds(),
    )
}

/// A switch of the session made by the schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionSwitch {
    Activated,
    Deactivated,
}

/// The trading session's state as the schedule drives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingSession {
    active: bool,
}

impl TradingSession {
    /// A session that starts `active` (as the schedule says at start-up, or
    /// as the operator left it when the schedule is disabled).
    pub fn new(active: bool) -> Self {
        Self { active }
    }

    /// A session whose state is what the schedule says at `now` (active when
    /// the schedule is disabled).
    pub fn starting_at(schedule: &TradingScheduleConfig, now: DateTime<Utc>) -> Self {
        Self::new(window_open(schedule, now).unwrap_or(true))
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Brings the session in line with the schedule at `now`; returns the
    /// switch made, if any. A disabled schedule never switches.
    pub fn tick(
        &mut self,
        schedule: &TradingScheduleConfig,
        now: DateTime<Utc>,
    ) -> Option<SessionSwitch> {
        let open = window_open(schedule, now)?;
        if open == self.active {
            return None;
        }
        self.active = open;
        Some(if open {
            SessionSwitch::Activated
        } else {
            SessionSwitch::Deactivated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn window_edges_are_start_inclusive_stop_exclusive() {
        let s = TradingScheduleConfig::default(); // 13:30-20:00 Mon-Fri
        // 2026-11-23 is a Monday.
        assert_eq!(window_open(&s, at(2026, 11, 23, 13, 29, 59)), Some(false));
        assert_eq!(window_open(&s, at(2026, 11, 23, 13, 30, 0)), Some(true));
        assert_eq!(window_open(&s, at(2026, 11, 23, 19, 59, 59)), Some(true));
        assert_eq!(window_open(&s, at(2026, 11, 23, 20, 0, 0)), Some(false));
        // Saturday is not a trading day.
        assert_eq!(window_open(&s, at(2026, 11, 28, 15, 0, 0)), Some(false));
    }

    #[test]
    fn the_session_switches_only_at_edges_and_only_when_enabled() {
        let s = TradingScheduleConfig::default();
        let mut session = TradingSession::starting_at(&s, at(2026, 11, 23, 19, 0, 0));
        assert!(session.is_active());
        assert_eq!(session.tick(&s, at(2026, 11, 23, 19, 59, 59)), None);
        assert_eq!(
            session.tick(&s, at(2026, 11, 23, 20, 0, 0)),
            Some(SessionSwitch::Deactivated)
        );
        assert_eq!(
            session.tick(&s, at(2026, 11, 24, 13, 30, 0)),
            Some(SessionSwitch::Activated)
        );

        let disabled = TradingScheduleConfig {
            enabled: false,
            ..s
        };
        let mut session = TradingSession::new(false);
        for h in 0..24 {
            assert_eq!(session.tick(&disabled, at(2026, 11, 24, h, 0, 0)), None);
        }
        assert!(!session.is_active());
    }
}
