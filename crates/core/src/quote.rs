//! A contract's top of book as the gateway last reported it, with the
//! option model values (IV and greeks) when the gateway computed them.
//!
//! This is the one quote type of the workspace: the broker layer fills it
//! tick by tick, the engine prices limits from it, the scanner's chain rows
//! and the admin API's views are built from it. Prices are exact decimals,
//! because a limit price is computed from them; greeks are f64, because they
//! only feed analytics. Any field may be missing (no bid on a far
//! out-of-the-money option, no greeks before the model tick; IB's −1 "no
//! data" arrives as `None`), and a crossed book is representable: a quote
//! is what the market said, judged by the methods here rather than refused.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::contract::ConId;

/// Option model values the gateway computed (its model tick), when it did.
/// Each may be missing on its own: IB sends what it has.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Greeks {
    /// Annualised implied volatility (0.25 = 25%).
    pub implied_vol: Option<f64>,
    /// Calls in [0, 1], puts in [-1, 0].
    pub delta: Option<f64>,
    pub gamma: Option<f64>,
    /// Change in price per 1 point (0.01) of implied volatility.
    pub vega: Option<f64>,
    /// Change in price per calendar day.
    pub theta: Option<f64>,
    /// The underlying price the model used.
    pub underlying_price: Option<f64>,
}

/// The latest top of book of one contract.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Quote {
    pub con_id: ConId,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    /// Contracts (options) or shares (stocks) bid.
    pub bid_size: Option<Decimal>,
    pub ask_size: Option<Decimal>,
    pub volume: Option<Decimal>,
    /// An option's open interest (streaming lines only: IB sends it as
    /// generic tick 101, which snapshots cannot request).
    pub open_interest: Option<Decimal>,
    /// The previous session's close.
    pub close: Option<Decimal>,
    pub greeks: Option<Greeks>,
    /// When the last tick of this quote arrived, on the engine's clock.
    pub received_at: Option<DateTime<Utc>>,
}

impl Quote {
    /// A bid and an ask; the common case in tests and snapshots.
    pub fn two_sided(con_id: ConId, bid: Decimal, ask: Decimal) -> Self {
        Quote {
            con_id,
            bid: Some(bid),
            ask: Some(ask),
            ..Quote::default()
        }
    }

    /// `(bid + ask) / 2` when both sides are quoted (exact; may need
    /// rounding to the tick before it becomes a limit).
    pub fn mid(&self) -> Option<Decimal> {
        Some((self.bid? + self.ask?) / Decimal::TWO)
    }

    /// `ask - bid` when both sides are quoted.
    pub fn spread(&self) -> Option<Decimal> {
        Some(self.ask? - self.bid?)
    }

    /// `(ask - bid) / mid`, the scanner's leg-quality measure; `None` when a
    /// side is missing or the mid is not above zero.
    pub fn spread_pct(&self) -> Option<f64> {
        let mid = self.mid()?;
        if mid <= Decimal::ZERO {
            return None;
        }
        (self.spread()? / mid).to_f64()
    }

    /// Both sides quoted above zero and not crossed: a market one can price
    /// a limit order from.
    pub fn is_two_sided(&self) -> bool {
        matches!((self.bid, self.ask), (Some(b), Some(a)) if b > Decimal::ZERO && a >= b)
    }

    /// Bid above ask: a stale or broken book.
    pub fn is_crossed(&self) -> bool {
        matches!((self.bid, self.ask), (Some(b), Some(a)) if b > a)
    }

    /// Whether the last tick is at most `max_age` old by `clock` (a quote
    /// from the future, as after a clock jump back in tests, counts as
    /// fresh; a quote that never ticked is not).
    pub fn is_fresh(&self, clock: &dyn Clock, max_age: chrono::Duration) -> bool {
        self.is_fresh_at(clock.now(), max_age)
    }

    fn is_fresh_at(&self, now: DateTime<Utc>, max_age: chrono::Duration) -> bool {
        self.received_at.is_some_and(|t| now - t <= max_age)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone as _;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn t() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
    }

    #[test]
    fn mid_and_spread_from_both_sides() {
        let q = Quote::two_sided(ConId(1), d("2.10"), d("2.25"));
        assert_eq!(q.mid(), Some(d("2.175")));
        assert_eq!(q.spread(), Some(d("0.15")));
        let pct = q.spread_pct().unwrap();
        assert!((pct - 0.15 / 2.175).abs() < 1e-15, "{pct}");
        assert!(q.is_two_sided() && !q.is_crossed());
    }

    #[test]
    fn one_sided_crossed_and_zero_bid_books() {
        let no_bid = Quote {
            ask: Some(d("0.05")),
            ..Quote::default()
        };
        assert_eq!(
            (no_bid.mid(), no_bid.spread(), no_bid.spread_pct()),
            (None, None, None)
        );
        assert!(!no_bid.is_two_sided());
        let zero_bid = Quote::two_sided(ConId(1), d("0"), d("0.05"));
        assert!(!zero_bid.is_two_sided(), "a zero bid cannot be sold into");
        let zeros = Quote::two_sided(ConId(1), d("0"), d("0"));
        assert_eq!(zeros.spread_pct(), None);
        let crossed = Quote::two_sided(ConId(1), d("1.30"), d("1.20"));
        assert!(crossed.is_crossed() && !crossed.is_two_sided());
    }

    #[test]
    fn freshness_reads_the_clock() {
        let q = Quote {
            received_at: Some(t()),
            ..Quote::two_sided(ConId(1), d("1"), d("1.1"))
        };
        let clock = ManualClock::new(t());
        let max_age = chrono::Duration::seconds(5);
        assert!(q.is_fresh(&clock, max_age));
        clock.advance(chrono::Duration::seconds(5));
        assert!(q.is_fresh(&clock, max_age));
        clock.advance(chrono::Duration::milliseconds(1));
        assert!(!q.is_fresh(&clock, max_age));
        let never = Quote::two_sided(ConId(1), d("1"), d("1.1"));
        assert!(!never.is_fresh(&clock, max_age), "no tick, no freshness");
    }

    #[test]
    fn serde_round_trip_keeps_prices_exact() {
        let q = Quote {
            last: Some(d("2.2")),
            bid_size: Some(d("12")),
            greeks: Some(Greeks {
                implied_vol: Some(0.31),
                delta: Some(0.42),
                gamma: Some(0.05),
                theta: Some(-0.03),
                vega: Some(0.11),
                underlying_price: None,
            }),
            received_at: Some(t()),
            ..Quote::two_sided(ConId(7), d("2.10"), d("2.25"))
        };
        let json = serde_json::to_string(&q).unwrap();
        assert!(json.contains("\"bid\":\"2.10\""), "{json}");
        assert_eq!(serde_json::from_str::<Quote>(&json).unwrap(), q);
    }
}
