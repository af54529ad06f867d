//! The simulator's clock: simulated time as a function of real time, with a
//! speed factor, plus the market-hours question every part asks.
//!
//! `sim = sim_origin + (real − real_origin) × speed`. At speed 1 the
//! simulator follows the wall clock (offset to its start time); at 60 a real
//! minute is a simulated hour, so a week of DTE decay passes in under three
//! real hours. The clock itself is pure: callers pass the real instant
//! (from `vspread_core`'s clock seam or `Utc::now()` at the edge), which keeps
//! it testable without sleeping.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::market::calendar::in_regular_session;
use crate::market::process::next_session_open;

/// Error for a speed factor that is not a finite positive number.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("speed factor must be a finite number above 0, got {0}")]
pub struct InvalidSpeed(pub f64);

/// Maps real time to simulated time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimClock {
    real_origin: DateTime<Utc>,
    sim_origin: DateTime<Utc>,
    speed: f64,
}

impl SimClock {
    /// A clock reading `sim_origin` at real instant `real_origin`, running
    /// `speed` times as fast as real time.
    pub fn new(
        sim_origin: DateTime<Utc>,
        real_origin: DateTime<Utc>,
        speed: f64,
    ) -> Result<Self, InvalidSpeed> {
        if !speed.is_finite() || speed <= 0.0 {
            return Err(InvalidSpeed(speed));
        }
        Ok(SimClock {
            real_origin,
            sim_origin,
            speed,
        })
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Simulated time at real instant `real_now` (never before the origin).
    pub fn sim_time(&self, real_now: DateTime<Utc>) -> DateTime<Utc> {
        let real_elapsed = (real_now - self.real_origin)
            .num_microseconds()
            .unwrap_or(i64::MAX)
            .max(0);
        let sim_elapsed = (real_elapsed as f64 * self.speed).min(i64::MAX as f64 / 2.0) as i64;
        self.sim_origin + Duration::microseconds(sim_elapsed)
    }

    /// Real time that passes while `sim` of simulated time does.
    pub fn real_duration(&self, sim: Duration) -> std::time::Duration {
        let micros = sim.num_microseconds().unwrap_or(0).max(0) as f64 / self.speed;
        std::time::Duration::from_micros(micros as u64)
    }

    /// Re-anchors the clock so it reads `sim_now` at `real_now` (e.g. after
    /// restoring a saved market time), keeping the speed.
    pub fn resume_at(&mut self, sim_now: DateTime<Utc>, real_now: DateTime<Utc>) {
        self.sim_origin = sim_now;
        self.real_origin = real_now;
    }
}

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
    use chrono::TimeZone;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
    }

    #[test]
    fn speed_scales_elapsed_time() {
        let clock = SimClock::new(t(14, 30), t(0, 0), 60.0).unwrap();
        assert_eq!(clock.sim_time(t(0, 0)), t(14, 30));
        assert_eq!(clock.sim_time(t(0, 1)), t(15, 30));
        assert_eq!(
            clock.sim_time(t(0, 0) - Duration::hours(1)),
            t(14, 30),
            "never before the origin"
        );
        assert_eq!(
            clock.real_duration(Duration::hours(1)),
            std::time::Duration::from_secs(60)
        );
    }

    #[test]
    fn rejects_bad_speeds() {
        assert!(SimClock::new(t(0, 0), t(0, 0), 0.0).is_err());
        assert!(SimClock::new(t(0, 0), t(0, 0), f64::NAN).is_err());
        assert_eq!(
            SimClock::new(t(0, 0), t(0, 0), -2.0)
                .unwrap_err()
                .to_string(),
            "speed factor must be a finite number above 0, got -2"
        );
    }

    #[test]
    fn resume_keeps_speed() {
        let mut clock = SimClock::new(t(14, 30), t(0, 0), 10.0).unwrap();
        clock.resume_at(t(16, 0), t(5, 0));
        assert_eq!(clock.sim_time(t(5, 1)), t(16, 10));
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
}
