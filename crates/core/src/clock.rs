//! The clock seam: everything that asks "what time is it?" asks a [`Clock`],
//! so the simulator and tests can run time fast, slow, or by hand.
//!
//! Core knows nothing of tokio, so waiting is the caller's job: to sleep
//! until a simulated instant, convert with [`Clock::real_duration_until`] (or
//! a simulated span with [`Clock::real_duration_for`]) and sleep that long in
//! real time.
//!
//! ```
//! use std::time::Duration;
//! use chrono::{TimeZone, Utc};
//! use vspread_core::clock::{AcceleratedClock, Clock};
//!
//! let start = Utc.with_ymd_and_hms(2026, 11, 23, 14, 30, 0).unwrap();
//! let clock = AcceleratedClock::new(start, 60.0).unwrap();
//! // A one-minute scan interval passes in one real second at 60x.
//! assert_eq!(clock.real_duration_for(Duration::from_secs(60)), Duration::from_secs(1));
//! ```

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// How long to wait in real time for `simulated` to pass on this clock.
    /// A manual clock never advances by itself: it answers the span as is,
    /// so a test decides how far to move it.
    fn real_duration_for(&self, simulated: Duration) -> Duration {
        simulated
    }

    /// How long to wait in real time until this clock shows `target`; zero
    /// when it already has.
    fn real_duration_until(&self, target: DateTime<Utc>) -> Duration {
        let ahead = (target - self.now()).to_std().unwrap_or(Duration::ZERO);
        self.real_duration_for(ahead)
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded values are plain data, valid even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A clock that moves only when told: for tests of schedules, DTE and exits.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// Shows `start` until set or advanced.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Sets the time (backwards too: tests may need it).
    pub fn set(&self, to: DateTime<Utc>) {
        *lock(&self.now) = to;
    }

    /// Moves the time by `by` (a negative span moves it back).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = lock(&self.now);
        *now = now.checked_add_signed(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *lock(&self.now)
    }
}

/// Why an accelerated clock refused a setting.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ClockError {
    #[error("a clock speed must be a number from 0.001 to 1000000, got {0}")]
    BadSpeed(f64),
    #[error("an accelerated clock only moves forward: it shows {now}, asked for {to}")]
    Backwards {
        now: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// Where an accelerated clock's simulated time is measured from.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    simulated: DateTime<Utc>,
    real: Instant,
    speed: f64,
}

impl Anchor {
    fn now(&self) -> DateTime<Utc> {
        let real = self.real.elapsed().as_secs_f64();
        let simulated = Duration::try_from_secs_f64(real * self.speed).unwrap_or(Duration::MAX);
        chrono::Duration::from_std(simulated)
            .ok()
            .and_then(|d| self.simulated.checked_add_signed(d))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// Simulated time running `speed` times as fast as real time:
/// `now = anchor + real_elapsed × speed`. Monotone: it is built on
/// [`Instant`], and re-basing (a new speed, a jump) starts from the time
/// shown and only moves forward.
#[derive(Debug)]
pub struct AcceleratedClock {
    anchor: Mutex<Anchor>,
}

fn check_speed(speed: f64) -> Result<f64, ClockError> {
    if (0.001..=1_000_000.0).contains(&speed) {
        Ok(speed)
    } else {
        Err(ClockError::BadSpeed(speed))
    }
}

impl AcceleratedClock {
    /// Starts at `start`, running `speed` times real time (0.001 to 10^6).
    pub fn new(start: DateTime<Utc>, speed: f64) -> Result<Self, ClockError> {
        Ok(Self {
            anchor: Mutex::new(Anchor {
                simulated: start,
                real: Instant::now(),
                speed: check_speed(speed)?,
            }),
        })
    }

    pub fn speed(&self) -> f64 {
        lock(&self.anchor).speed
    }

    /// Changes the speed from the instant shown now on, without a jump.
    pub fn set_speed(&self, speed: f64) -> Result<(), ClockError> {
        let speed = check_speed(speed)?;
        let mut anchor = lock(&self.anchor);
        *anchor = Anchor {
            simulated: anchor.now(),
            real: Instant::now(),
            speed,
        };
        Ok(())
    }

    /// Jumps forward to `to` (e.g. skip a night to the next session open);
    /// refuses to go back, which would break every reader's ordering.
    pub fn jump_to(&self, to: DateTime<Utc>) -> Result<(), ClockError> {
        let mut anchor = lock(&self.anchor);
        let now = anchor.now();
        if to < now {
            return Err(ClockError::Backwards { now, to });
        }
        *anchor = Anchor {
            simulated: to,
            real: Instant::now(),
            speed: anchor.speed,
        };
        Ok(())
    }
}

impl Clock for AcceleratedClock {
    fn now(&self) -> DateTime<Utc> {
        lock(&self.anchor).now()
    }

    fn real_duration_for(&self, simulated: Duration) -> Duration {
        let speed = lock(&self.anchor).speed;
        Duration::try_from_secs_f64(simulated.as_secs_f64() / speed).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
