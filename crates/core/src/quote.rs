//! A contract's top of book at one instant, with the model values (IV and
//! greeks) when known.
//!
//! Prices are exact ([`Price`]), because a limit price is computed from
//! them; greeks are f64, because they only feed analytics. Any field may be
//! missing (no bid on a far out-of-the-money option, no greeks before the
//! model tick), and a crossed book is representable: a quote is what the
//! market said, judged by the methods here rather than refused.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive as _;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::money::Price;

/// Option model values for one contract.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Greeks {
    /// Annualised implied volatility (0.25 = 25%).
    pub implied_vol: f64,
    /// Calls in [0, 1], puts in [-1, 0].
    pub delta: f64,
    pub gamma: f64,
    /// Change in price per calendar day.
    pub theta: f64,
    /// Change in price per 1 point (0.01) of implied volatility.
    pub vega: f64,
}

/// Top of book of one contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub bid: Option<Price>,
    pub ask: Option<Price>,
    pub last: Option<Price>,
    /// Contracts (options) or shares (stocks) bid.
    pub bid_size: Option<u64>,
    pub ask_size: Option<u64>,
    /// When the market reported the latest of these values.
    pub time: DateTime<Utc>,
    pub greeks: Option<Greeks>,
}

impl Quote {
    /// An empty quote at `time`, to fill field by field.
    pub fn at(time: DateTime<Utc>) -> Self {
        Quote {
            bid: None,
            ask: None,
            last: None,
            bid_size: None,
            ask_size: None,
            time,
            greeks: None,
        }
    }

    /// A bid and an ask at `time`; the common case in tests and snapshots.
    pub fn two_sided(bid: Price, ask: Price, time: DateTime<Utc>) -> Self {
        Quote {
            bid: Some(bid),
            ask: Some(ask),
            ..Quote::at(time)
        }
    }

    /// Both sides quoted above zero and not crossed: a market one can price
    /// a limit order from.
    pub fn is_two_sided(&self) -> bool {
        matches!((self.bid, self.ask), (Some(b), Some(a)) if b.is_positive() && a >= b)
    }

    /// Bid above ask: a stale or broken book.
    pub fn is_crossed(&self) -> bool {
        matches!((self.bid, self.ask), (Some(b), Some(a)) if b > a)
    }

    /// `(bid + ask) / 2` when both sides are quoted (exact; may need
    /// rounding to the tick before it becomes a limit).
    pub fn mid(&self) -> Option<Price> {
        let (b, a) = (self.bid?, self.ask?);
        Some(Price::new(
            (b.value() + a.value()) / rust_decimal::Decimal::TWO,
        ))
    }

    /// `ask - bid` when both sides are quoted.
    pub fn spread(&self) -> Option<Price> {
        Some(self.ask? - self.bid?)
    }

    /// `(ask - bid) / mid`, the scanner's leg-quality measure; `None` when a
    /// side is missing or the mid is not above zero.
    pub fn spread_pct(&self) -> Option<f64> {
        let mid = self.mid()?;
        if !mid.is_positive() {
            return None;
        }
        (self.spread()?.value() / mid.value()).to_f64()
    }

    /// Whether the quote is at most `max_age` old by `clock` (a quote from
    /// the future, as after a clock jump back in tests, counts as fresh).
    pub fn is_fresh(&self, clock: &dyn Clock, max_age: chrono::Duration) -> bool {
        self.is_fresh_from(clock.now(), max_age)
    }

    fn is_fresh_from(&self, now: DateTime<Utc>, max_age: chrono::Duration) -> bool {
        now - self.time <= max_age
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone as _;

    fn p(s: &str) -> Price {
        s.parse().unwrap()
    }

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    #[test]
    fn mid_and_spread_from_both_sides() {
        let q = Quote::two_sided(p("2.10"), p("2.25"), t());
        assert_eq!(q.mid(), Some(p("2.175")));
        assert_eq!(q.spread(), Some(p("0.15")));
        let pct = q.spread_pct().unwrap();
        assert!((pct - 0.15 / 2.175).abs() < 1e-15, "{pct}");
        assert!(q.is_two_sided() && !q.is_crossed());
    }

    #[test]
    fn one_sided_crossed_and_zero_bid_books() {
        let no_bid = Quote {
            ask: Some(p("0.05")),
            ..Quote::at(t())
        };
        assert_eq!(
            (no_bid.mid(), no_bid.spread(), no_bid.spread_pct()),
            (None, None, None)
        );
        assert!(!no_bid.is_two_sided());
        let zero_bid = Quote::two_sided(p("0"), p("0.05"), t());
        assert!(!zero_bid.is_two_sided(), "a zero bid cannot be sold into");
        let zeros = Quote::two_sided(p("0"), p("0"), t());
        assert_eq!(zeros.spread_pct(), None);
        let crossed = Quote::two_sided(p("1.30"), p("1.20"), t());
        assert!(crossed.is_crossed() && !crossed.is_two_sided());
    }

    #[test]
    fn freshness_reads_the_clock() {
        let q = Quote::two_sided(p("1"), p("1.1"), t());
        let clock = ManualClock::new(t());
        let max_age = chrono::Duration::seconds(5);
        assert!(q.is_fresh(&clock, max_age));
        clock.advance(chrono::Duration::seconds(5));
        assert!(q.is_fresh(&clock, max_age));
        clock.advance(chrono::Duration::milliseconds(1));
        assert!(!q.is_fresh(&clock, max_age));
    }

    #[test]
    fn serde_round_trip_keeps_prices_exact() {
        let q = Quote {
            last: Some(p("2.2")),
            bid_size: Some(12),
            greeks: Some(Greeks {
                implied_vol: 0.31,
                delta: 0.42,
                gamma: 0.05,
                theta: -0.03,
                vega: 0.11,
            }),
            ..Quote::two_sided(p("2.10"), p("2.25"), t())
        };
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains("\"bid\":\"2.1\""), "{json}");
        assert_eq!(serde_json::from_str::<Quote>(&json).unwrap(), q);
    }
}
