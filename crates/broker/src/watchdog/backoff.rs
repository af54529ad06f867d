//! Capped exponential backoff with jitter between reconnect attempts.
//!
//! Attempt `n` (from 0) waits a random time in `[d/2, d]` where
//! `d = min(base × 2ⁿ, cap)`: never longer than the cap, so once the gateway
//! accepts again the next attempt comes within one cap; the jitter keeps
//! several clients from reconnecting in lockstep after a restart.

use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        }
    }
}

impl Backoff {
    /// The ceiling of attempt `attempt`'s delay.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The delay before attempt `attempt`, jittered with `rng`.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(rng.random_range(0..=spread))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceilings_double_then_cap() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let ceilings: Vec<u128> = (0..6).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn delays_are_jittered_within_half_and_full_ceiling() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut distinct = std::collections::HashSet::new();
        for attempt in 0..40 {
            let d = b.delay(attempt, &mut rng);
            let c = b.ceiling(attempt);
            assert!(d >= c / 2 && d <= c, "{attempt}: {d:?} vs {c:?}");
            distinct.insert(d);
        }
        assert!(distinct.len() > 30);
    }
}
