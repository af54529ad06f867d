//! The clock seam: everything that asks "what time is it?" asks a [`Clock`],
//! so the simulator and tests can run time fast, slow, or by hand.
//!
//! Core knows nothing of tokio, so waiting is the caller's job: to sleep
//! until a simulated instant, convert the simulated span with
//! [`Clock::real_duration_for`] and sleep that long in real time.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// How long to wait in real time for `simulated` to pass on this clock.
    /// A manual clock never advances by itself: it answers the span as is.
    fn real_duration_for(&self, simulated: Duration) -> Duration {
        simulated
    }
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told: for tests of schedules, DTE and exits.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time (backwards too: tests may need it).
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Moves the time forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Simulated time running `speed` times as fast as real time from a start
/// instant: `now = start + real_elapsed × speed`. Monotone, because it is
/// built on `Instant`.
#[derive(Debug)]
pub struct AcceleratedClock {
    start: DateTime<Utc>,
    real_start: Instant,
    speed: f64,
}

/// Why a speed factor was refused.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("a clock speed must be a finite number above 0, got {0}")]
pub struct BadSpeed(pub f64);

impl AcceleratedClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> Result<Self, BadSpeed> {
        if !(speed.is_finite() && speed > 0.0) {
            return Err(BadSpeed(speed));
        }
        Ok(Self {
            start,
            real_start: Instant::now(),
            speed,
        })
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }
}

impl Clock for AcceleratedClock {
    fn now(&self) -> DateTime<Utc> {
        let real = self.real_start.elapsed().as_secs_f64();
        let simulated = chrono::Duration::microseconds((real * self.speed * 1e6) as i64);
        self.start + simulated
    }

    fn real_duration_for(&self, simulated: Duration) -> Duration {
        simulated.div_f64(self.speed)
    }
}

/// Calendar days from `now`'s UTC date to `expiry` (negative once past),
/// the DTE convention of the scanner and exits.
pub fn days_to_expiry(clock: &dyn Clock, expiry: NaiveDate) -> i64 {
    days_to_expiry_from(clock.now(), expiry)
}

fn days_to_expiry_from(now: DateTime<Utc>, expiry: NaiveDate) -> i64 {
    (expiry - now.date_naive()).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 13, 30, 0).unwrap()
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(t0());
        assert_eq!(c.now(), t0());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now(), t0());
        c.advance(chrono::Duration::minutes(390));
        assert_eq!(
            c.now(),
            Utc.with_ymd_and_hms(2026, 11, 23, 20, 0, 0).unwrap()
        );
        assert_eq!(
            c.real_duration_for(Duration::from_secs(60)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn accelerated_clock_runs_fast_and_monotone() {
        let c = AcceleratedClock::new(t0(), 3600.0).unwrap();
        let a = c.now();
        std::thread::sleep(Duration::from_millis(50));
        let b = c.now();
        let simulated = (b - a).num_milliseconds();
        // 50 ms real at 3600x is 180 s simulated (allow for scheduling).
        assert!((170_000..400_000).contains(&simulated), "{simulated} ms");
        assert_eq!(
            c.real_duration_for(Duration::from_secs(3600)),
            Duration::from_secs(1)
        );
        let mut last = c.now();
        for _ in 0..1000 {
            let now = c.now();
            assert!(now >= last);
            last = now;
        }
        assert!(AcceleratedClock::new(t0(), 0.0).is_err());
        assert!(AcceleratedClock::new(t0(), f64::NAN).is_err());
    }

    #[test]
    fn dte_counts_calendar_days() {
        let c = ManualClock::new(t0());
        let expiry = NaiveDate::from_ymd_opt(2026, 12, 18).unwrap();
        assert_eq!(days_to_expiry(&c, expiry), 25);
        c.set(Utc.with_ymd_and_hms(2026, 12, 18, 23, 0, 0).unwrap());
        assert_eq!(days_to_expiry(&c, expiry), 0);
        c.advance(chrono::Duration::hours(2));
        assert_eq!(days_to_expiry(&c, expiry), -1);
    }
}
