//! IB's rate limits, as plain counters over real (monotonic) time: the
//! 50-messages-per-second limit on each connection and the historical data
//! pacing rules. Pure and unit-tested; the server and the history handler
//! act on their answers.
//!
//! Message pacing follows TWS's "reject messages above max rate" setting:
//! a message beyond the limit within one second is refused with error 100
//! and not served; a client that keeps sending at twice the limit is
//! disconnected, as TWS "will eventually close the connection".

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// IB's message limit per second and connection.
pub const MESSAGES_PER_SECOND: usize = 50;

/// Error 100's text.
pub const RATE_EXCEEDED: &str = "Max rate of messages per second has been exceeded:max=50";

/// Error 162's text for a historical pacing violation.
pub const HISTORY_PACING_VIOLATION: &str =
    "Historical Market Data Service error message:Historical data request pacing violation";

/// What to do with one incoming message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// Within the limit: serve it.
    Serve,
    /// Over the limit: answer error 100, do not serve.
    Reject,
    /// Far over the limit: close the connection.
    Disconnect,
}

/// Counts one connection's messages over a sliding second.
#[derive(Debug, Clone)]
pub struct MessagePacer {
    limit: usize,
    recent: VecDeque<Instant>,
}

impl MessagePacer {
    pub fn new(limit: usize) -> MessagePacer {
        MessagePacer {
            limit,
            recent: VecDeque::new(),
        }
    }

    /// Messages within the last second, the one just checked included.
    pub fn in_window(&self) -> usize {
        self.recent.len()
    }

    /// Records a message arriving at `now` and says what to do with it.
    pub fn check(&mut self, now: Instant) -> Pace {
        while let Some(&t) = self.recent.front() {
            if now.duration_since(t) >= Duration::from_secs(1) {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back(now);
        let n = self.recent.len();
        if n <= self.limit {
            Pace::Serve
        } else if n <= 2 * self.limit {
            Pace::Reject
        } else {
            Pace::Disconnect
        }
    }
}

/// What the message pacing saw across every connection: the most messages
/// any connection sent within one sliding second, and how many it refused.
#[derive(Debug, Default)]
pub struct PacingStats {
    peak: std::sync::atomic::AtomicUsize,
    refused: std::sync::atomic::AtomicU64,
}

impl PacingStats {
    pub fn observe(&self, in_window: usize) {
        self.peak
            .fetch_max(in_window, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn refused_one(&self) {
        self.refused
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn peak(&self) -> usize {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// IB's historical data pacing (API guide, "historical data limitations"):
/// no identical request within 15 s, at most 5 requests for the same
/// contract within 2 s, at most 60 requests in 10 minutes.
#[derive(Debug, Default, Clone)]
pub struct HistoryPacer {
    /// (when, whole request, contract + what to show), oldest first.
    recent: VecDeque<(Instant, String, String)>,
}

impl HistoryPacer {
    /// Records a request if it is allowed; `false` is a pacing violation.
    pub fn allow(&mut self, now: Instant, request: &str, contract: &str) -> bool {
        while let Some((t, _, _)) = self.recent.front() {
            if now.duration_since(*t) >= Duration::from_secs(600) {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        let identical = self
            .recent
            .iter()
            .any(|(t, r, _)| r == request && now.duration_since(*t) < Duration::from_secs(15));
        let same_contract = self
            .recent
            .iter()
            .filter(|(t, _, c)| c == contract && now.duration_since(*t) < Duration::from_secs(2))
            .count();
        if identical || same_contract >= 5 || self.recent.len() >= 60 {
            return false;
        }
        self.recent
            .push_back((now, request.to_string(), contract.to_string()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifty_a_second_then_rejects_then_disconnect() {
        let t0 = Instant::now();
        let mut p = MessagePacer::new(MESSAGES_PER_SECOND);
        for i in 0..50 {
            assert_eq!(p.check(t0 + Duration::from_millis(i)), Pace::Serve, "{i}");
        }
        assert_eq!(p.check(t0 + Duration::from_millis(60)), Pace::Reject);
        // A second later the window has emptied.
        assert_eq!(p.check(t0 + Duration::from_millis(1100)), Pace::Serve);
        let mut q = MessagePacer::new(MESSAGES_PER_SECOND);
        let verdicts: Vec<Pace> = (0..101).map(|_| q.check(t0)).collect();
        assert_eq!(verdicts[49], Pace::Serve);
        assert_eq!(verdicts[50], Pace::Reject);
        assert_eq!(verdicts[99], Pace::Reject);
        assert_eq!(verdicts[100], Pace::Disconnect);
    }

    #[test]
    fn history_rules() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut p = HistoryPacer::default();
        assert!(p.allow(t0, "SPY 1M", "SPY"));
        assert!(!p.allow(t0 + s(1), "SPY 1M", "SPY"), "identical");
        assert!(p.allow(t0 + s(16), "SPY 1M", "SPY"), "after 15 s");
        // Five for one contract within 2 s, the sixth is refused.
        let mut q = HistoryPacer::default();
        for d in ["1", "2", "3", "4", "5"] {
            assert!(q.allow(t0, d, "QQQ"));
        }
        assert!(!q.allow(t0, "6", "QQQ"));
        assert!(q.allow(t0, "6", "IWM"), "other contracts unaffected");
        // Sixty in ten minutes.
        let mut r = HistoryPacer::default();
        for i in 0..60u64 {
            assert!(r.allow(t0 + s(3 * i), &i.to_string(), &i.to_string()));
        }
        assert!(!r.allow(t0 + s(200), "x", "x"));
        assert!(r.allow(t0 + s(601), "x", "x"), "the oldest aged out");
    }
}
