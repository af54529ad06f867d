//! Failed authentications, limited per client address with a token
//! bucket: each failure takes a token, a token comes back every
//! [`REFILL`], and an address with none left is answered 429 (with
//! `Retry-After`) before its credentials are even looked at, so guessing
//! costs the guesser time whatever it sends. Successes take nothing.
//!
//! Loopback clients are not limited: a process on this machine can read
//! the token files anyway, and the UI's own tests sign in wrong on
//! purpose. (A reverse proxy on the same host makes every client look
//! like loopback: limit failures there, at the proxy.)
//!
//! Real (monotonic) time, not the engine's clock: this is about the
//! network, which does not run at the simulator's speed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an address may make in a burst.
pub const BURST: f64 = 10.0;
/// One failure is forgiven this often (10 a minute, sustained).
pub const REFILL: Duration = Duration::from_secs(6);
/// Addresses remembered at most; beyond it, the forgiven ones are dropped.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every address that failed lately.
#[derive(Debug)]
pub struct FailureLimiter {
    burst: f64,
    refill: Duration,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        Self::new(BURST, REFILL)
    }
}

impl FailureLimiter {
    pub fn new(burst: f64, refill: Duration) -> Self {
        Self {
            burst,
            refill,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> Bucket {
        let gained = now.duration_since(bucket.at).as_secs_f64() / self.refill.as_secs_f64();
        Bucket {
            tokens: (bucket.tokens + gained).min(self.burst),
            at: now,
        }
    }

    /// `Some(wait)` while `ip` has no failure left: how long until it has one.
    pub fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = self.refilled(*buckets.get(&ip)?, now);
        buckets.insert(ip, bucket);
        (bucket.tokens < 1.0).then(|| self.refill.mul_f64(1.0 - bucket.tokens))
    }

    /// Records a failure of `ip`.
    pub fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&ip) {
            let burst = self.burst;
            buckets.retain(|_, b| self.refilled(*b, now).tokens < burst);
            if buckets.len() >= MAX_ADDRESSES {
                // Still full of addresses failing right now: forget the
                // lot rather than grow without bound.
                buckets.clear();
            }
        }
        let bucket = buckets.get(&ip).map_or(
            Bucket {
                tokens: self.burst,
                at: now,
            },
            |b| self.refilled(*b, now),
        );
        buckets.insert(
            ip,
            Bucket {
                tokens: (bucket.tokens - 1.0).max(0.0),
                at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_failures_blocks_until_one_is_forgiven() {
        let limiter = FailureLimiter::new(3.0, Duration::from_millis(200));
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.blocked(ip), None);
            limiter.failed(ip);
        }
        let wait = limiter.blocked(ip).expect("blocked after the burst");
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(limiter.blocked(other), None, "per address");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(limiter.blocked(ip), None, "one forgiven after REFILL");
        limiter.failed(ip);
        assert!(limiter.blocked(ip).is_some());
    }
}
