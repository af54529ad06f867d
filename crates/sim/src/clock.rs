//! Simulated time for the market: which instants are market time.
//!
//! The clock itself is `vspread_core::clock`: the server reads an
//! `AcceleratedClock` (speed factor, `--speed`), a `ManualClock` in tests,
//! and hands the instant to the market (`Market::advance_to(now)`) and the
//! venue. This module answers the market-hours questions about such an
//! instant: open or not, and when it next opens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::market::calendar::in_regular_session;
use crate::market::process::next_session_open;

/// When the market trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketHours {
    /// Trade around the clock (`--always-open`).
    pub always_open: bool,
}

impl MarketHours {
    /// Whether the market is open at simulated time `now`: always, or
    /// 09:30-16:00 America/New_York on weekdays (US holidays not modelled).
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.always_open || in_regular_session(now)
    }

    /// The next instant at or after `now` at which the market is open.
    pub fn next_open(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_open(now) {
            now
        } else {
            next_session_open(now)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use vspread_core::clock::{Clock, ManualClock};

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn hours_follow_the_session_unless_always_open() {
        let regular = MarketHours { always_open: false };
        assert!(!regular.is_open(t(14, 29)));
        assert!(regular.is_open(t(14, 30)));
        assert_eq!(
            regular.next_open(t(22, 0)),
            Utc.with_ymd_and_hms(2026, 11, 24, 14, 30, 0).unwrap()
        );
        let always = MarketHours { always_open: true };
        assert!(always.is_open(t(3, 0)));
        assert_eq!(always.next_open(t(3, 0)), t(3, 0));
    }

    #[test]
    fn a_core_clock_drives_the_hours() {
        let clock = ManualClock::new(t(14, 0));
        let hours = MarketHours { always_open: false };
        assert!(!hours.is_open(clock.now()));
        clock.advance(Duration::minutes(30));
        assert!(hours.is_open(clock.now()));
        clock.advance(Duration::hours(7));
        assert!(!hours.is_open(clock.now()), "after 16:00 New York");
    }
}
