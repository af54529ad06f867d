//! The gateway's configured daily restart: when it comes, so the layer can
//! warn before it and treat the outage inside it as expected.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};

/// A daily window in UTC, e.g. 05:45 for 10 minutes (IB Gateway's auto-restart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartWindow {
    pub start_utc: NaiveTime,
    pub length: Duration,
}

impl RestartWindow {
    /// True while `now` is inside the window (which may span midnight).
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let start = self.last_start(now);
        let length = TimeDelta::from_std(self.length).unwrap_or(TimeDelta::MAX);
        now < start + length
    }

    /// Time until the next start (zero while inside the window).
    pub fn until_next(&self, now: DateTime<Utc>) -> Duration {
        if self.contains(now) {
            return Duration::ZERO;
        }
        let next = self.last_start(now) + TimeDelta::days(1);
        (next - now).to_std().unwrap_or(Duration::ZERO)
    }

    fn last_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive().and_time(self.start_utc).and_utc();
        if today <= now {
            today
        } else {
            today - TimeDelta::days(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap()
    }

    #[test]
    fn inside_and_before_the_window() {
        let w = RestartWindow {
            start_utc: NaiveTime::from_hms_opt(23, 55, 0).unwrap(),
            length: Duration::from_secs(15 * 60),
        };
        assert!(w.contains(at(23, 58)));
        assert!(w.contains(at(0, 5)));
        assert!(!w.contains(at(0, 10)));
        assert_eq!(w.until_next(at(23, 50)), Duration::from_secs(300));
        assert_eq!(w.until_next(at(0, 0)), Duration::ZERO);
        assert_eq!(
            w.until_next(at(0, 10)),
            Duration::from_secs((23 * 60 + 45) * 60)
        );
    }
}
