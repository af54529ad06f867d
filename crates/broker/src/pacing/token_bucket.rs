//! The token bucket every outbound message passes through.
//!
//! Time is passed in as a [`Duration`] since an arbitrary origin, so the
//! arithmetic is tested without a clock. The bucket holds at most `burst`
//! tokens and refills at `rate` per second. With `burst = 1` grants are spaced
//! at least `1 / rate` apart, so no half-open one-second window ever holds
//! more than `rate` messages: the guarantee IB's 50 msg/s rule needs.

use std::time::Duration;

/// A token bucket in "virtual scheduling" form (GCRA): it remembers the time
/// at which the bucket would next be full instead of a token count.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    interval: Duration,
    burst_span: Duration,
    /// The theoretical arrival time of the next conforming message.
    next_free: Duration,
}

impl TokenBucket {
    /// A bucket granting `rate` tokens per second with room for `burst`
    /// tokens at once. Both are clamped to at least 1.
    pub fn new(rate: u32, burst: u32) -> Self {
        let rate = rate.max(1);
        let burst = burst.max(1);
        // Rounded up, so `rate` intervals never fit inside one second.
        let interval = Duration::from_nanos(1_000_000_000u64.div_ceil(u64::from(rate)));
        Self {
            interval,
            burst_span: interval * (burst - 1),
            next_free: Duration::ZERO,
        }
    }

    /// Changes the sustained rate (and keeps the burst), from the next
    /// token on: tokens already spoken for are not taken back.
    pub fn set_rate(&mut self, rate: u32) {
        let burst = (self.burst_span.as_nanos() / self.interval.as_nanos().max(1)) as u32 + 1;
        let rate = rate.max(1);
        self.interval = Duration::from_nanos(1_000_000_000u64.div_ceil(u64::from(rate)));
        self.burst_span = self.interval * (burst - 1);
    }

    /// The spacing between tokens at the sustained rate.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes one token at `now`, or says how long to wait for it.
    pub fn try_take(&mut self, now: Duration) -> Result<(), Duration> {
        let earliest = self.next_free.saturating_sub(self.burst_span);
        if now < earliest {
            return Err(earliest - now);
        }
        self.next_free = self.next_free.max(now) + self.interval;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_rate_spaces_the_next_tokens() {
        let mut b = TokenBucket::new(50, 1);
        assert_eq!(b.interval(), Duration::from_millis(20));
        b.set_rate(10);
        assert_eq!(b.interval(), Duration::from_millis(100));
        assert!(b.try_take(Duration::ZERO).is_ok());
        assert_eq!(b.try_take(Duration::ZERO), Err(Duration::from_millis(100)));
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn spacing_is_one_interval_with_burst_one() {
        let mut b = TokenBucket::new(50, 1);
        assert_eq!(b.interval(), ms(20));
        assert!(b.try_take(ms(0)).is_ok());
        assert_eq!(b.try_take(ms(5)), Err(ms(15)));
        assert!(b.try_take(ms(20)).is_ok());
        assert_eq!(b.try_take(ms(21)), Err(ms(19)));
    }

    #[test]
    fn burst_allows_that_many_at_once_then_the_rate() {
        let mut b = TokenBucket::new(10, 3);
        let t = ms(1000);
        assert!(b.try_take(t).is_ok());
        assert!(b.try_take(t).is_ok());
        assert!(b.try_take(t).is_ok());
        assert_eq!(b.try_take(t), Err(ms(100)));
        assert!(b.try_take(t + ms(100)).is_ok());
    }

    #[test]
    fn idle_time_does_not_accumulate_beyond_the_burst() {
        let mut b = TokenBucket::new(10, 2);
        assert!(b.try_take(ms(0)).is_ok());
        let later = ms(60_000);
        assert!(b.try_take(later).is_ok());
        assert!(b.try_take(later).is_ok());
        assert!(b.try_take(later).is_err());
    }

    /// Greedy takes over 3 s never put more than `rate` grants in any
    /// half-open one-second window.
    #[test]
    fn no_one_second_window_exceeds_the_rate() {
        let rate = 45;
        let mut b = TokenBucket::new(rate, 1);
        let mut grants = Vec::new();
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(3) {
            match b.try_take(now) {
                Ok(()) => grants.push(now),
                Err(wait) => now += wait,
            }
        }
        for (i, start) in grants.iter().enumerate() {
            let in_window = grants[i..]
                .iter()
                .take_while(|t| **t < *start + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= rate as usize,
                "window at {start:?}: {in_window}"
            );
        }
        assert!(grants.len() >= 3 * rate as usize - 1);
    }
}
