//! IB's historical-data pacing rules (`docs/wire-protocol.md`, "Limits"),
//! on top of the message rate: no identical request within 15 s; at most 5
//! requests for the same contract, exchange and data type within 2 s; at
//! most N requests (IB: 60, ours `[pacing] historical_requests_per_10min`)
//! in any 10 minutes, with BID_ASK requests counting twice.
//!
//! Pure bookkeeping over a `Duration` timeline; the caller sleeps.

use std::collections::VecDeque;
use std::time::Duration;

const IDENTICAL_GAP: Duration = Duration::from_secs(15);
const SAME_CONTRACT_WINDOW: Duration = Duration::from_secs(2);
const SAME_CONTRACT_MAX: usize = 5;
const ROLLING_WINDOW: Duration = Duration::from_secs(600);

/// What identifies a historical request for pacing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HistoricalKey {
    /// Contract, exchange and data type (`what_to_show`).
    pub contract: String,
    pub what_to_show: String,
    /// Everything else that makes two requests identical (end, duration, bar size).
    pub detail: String,
}

impl HistoricalKey {
    fn weight(&self) -> usize {
        if self.what_to_show.eq_ignore_ascii_case("BID_ASK") {
            2
        } else {
            1
        }
    }
}

#[derive(Debug, Clone)]
struct Sent {
    at: Duration,
    key: HistoricalKey,
}

/// The history of sent requests needed to apply the rules.
#[derive(Debug, Clone)]
pub struct HistoricalPacer {
    per_10_min: usize,
    sent: VecDeque<Sent>,
}

impl HistoricalPacer {
    pub fn new(per_10_min: u32) -> Self {
        Self {
            per_10_min: (per_10_min as usize).max(1),
            sent: VecDeque::new(),
        }
    }

    /// Changes the rolling limit (`[pacing] historical_requests_per_10min`).
    pub fn set_limit(&mut self, per_10_min: u32) {
        self.per_10_min = (per_10_min as usize).max(1);
    }

    /// Records the request and returns zero if it may go at `now`; otherwise
    /// returns how long to wait and records nothing.
    pub fn reserve(&mut self, key: &HistoricalKey, now: Duration) -> Duration {
        while let Some(front) = self.sent.front() {
            if now.saturating_sub(front.at) >= ROLLING_WINDOW {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        let mut wait = Duration::ZERO;
        if let Some(last) = self.sent.iter().rev().find(|s| s.key == *key) {
            wait = wait.max((last.at + IDENTICAL_GAP).saturating_sub(now));
        }
        let same_contract: Vec<Duration> = self
            .sent
            .iter()
            .filter(|s| {
                s.key.contract == key.contract
                    && s.key.what_to_show == key.what_to_show
                    && now.saturating_sub(s.at) < SAME_CONTRACT_WINDOW
            })
            .map(|s| s.at)
            .collect();
        if same_contract.len() >= SAME_CONTRACT_MAX {
            let oldest_needed = same_contract[same_contract.len() - SAME_CONTRACT_MAX];
            wait = wait.max((oldest_needed + SAME_CONTRACT_WINDOW).saturating_sub(now));
        }
        let used: usize = self.sent.iter().map(|s| s.key.weight()).sum();
        if used + key.weight() > self.per_10_min {
            // Wait until enough of the oldest fall out of the window.
            let mut freed = 0;
            for s in &self.sent {
                freed += s.key.weight();
                if used - freed + key.weight() <= self.per_10_min {
                    wait = wait.max((s.at + ROLLING_WINDOW).saturating_sub(now));
                    break;
                }
            }
        }
        if wait.is_zero() {
            self.sent.push_back(Sent {
                at: now,
                key: key.clone(),
            });
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(contract: &str, detail: &str) -> HistoricalKey {
        HistoricalKey {
            contract: contract.into(),
            what_to_show: "TRADES".into(),
            detail: detail.into(),
        }
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn identical_request_waits_fifteen_seconds() {
        let mut p = HistoricalPacer::new(60);
        assert_eq!(p.reserve(&key("AAPL", "1 M"), s(100)), Duration::ZERO);
        assert_eq!(p.reserve(&key("AAPL", "1 M"), s(104)), s(11));
        assert_eq!(p.reserve(&key("AAPL", "1 Y"), s(104)), Duration::ZERO);
        assert_eq!(p.reserve(&key("AAPL", "1 M"), s(115)), Duration::ZERO);
    }

    #[test]
    fn sixth_request_for_one_contract_within_two_seconds_waits() {
        let mut p = HistoricalPacer::new(60);
        let t = Duration::from_millis(1000);
        for i in 0..5 {
            let at = t + Duration::from_millis(100 * i);
            assert_eq!(p.reserve(&key("SPY", &i.to_string()), at), Duration::ZERO);
        }
        let at = t + Duration::from_millis(500);
        assert_eq!(p.reserve(&key("SPY", "x"), at), Duration::from_millis(1500));
        assert_eq!(p.reserve(&key("QQQ", "x"), at), Duration::ZERO);
        assert_eq!(
            p.reserve(&key("SPY", "x"), t + Duration::from_millis(2000)),
            Duration::ZERO
        );
    }

    #[test]
    fn rolling_ten_minute_budget_counts_bid_ask_twice() {
        let mut p = HistoricalPacer::new(4);
        assert_eq!(p.reserve(&key("A", "1"), s(0)), Duration::ZERO);
        let bid_ask = HistoricalKey {
            contract: "B".into(),
            what_to_show: "BID_ASK".into(),
            detail: "1".into(),
        };
        assert_eq!(p.reserve(&bid_ask, s(10)), Duration::ZERO);
        assert_eq!(p.reserve(&key("C", "1"), s(20)), Duration::ZERO);
        // 4 used: the next must wait until the first falls out at 600 s.
        assert_eq!(p.reserve(&key("D", "1"), s(30)), s(570));
        assert_eq!(p.reserve(&key("D", "1"), s(600)), Duration::ZERO);
    }
}
