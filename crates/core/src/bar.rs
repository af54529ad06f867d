//! Daily price bars: what the signals read (RSI, ATR, high base) and what
//! the simulated gateway's market records and serves as history. One type
//! for both sides of the wire, so a bar means the same thing everywhere.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One daily OHLCV bar. Prices are f64: bars feed indicators, never an
/// order's limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DailyBar {
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Shares traded.
    pub volume: u64,
}

impl DailyBar {
    /// A bar opened at `price`, before any trade.
    pub fn opening(date: NaiveDate, price: f64) -> Self {
        DailyBar {
            date,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
        }
    }

    /// Records a trade at `price`.
    pub fn update(&mut self, price: f64) {
        self.high = self.high.max(price);
        self.low = self.low.min(price);
        self.close = price;
    }

    /// Typical price, `(high + low + close) / 3`: an estimate of the day's
    /// volume-weighted average.
    pub fn wap(&self) -> f64 {
        (self.high + self.low + self.close) / 3.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_follows_its_trades() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let mut bar = DailyBar::opening(day, 100.0);
        for p in [101.5, 98.0, 99.5] {
            bar.update(p);
        }
        assert_eq!(
            (bar.open, bar.high, bar.low, bar.close),
            (100.0, 101.5, 98.0, 99.5)
        );
        assert!((bar.wap() - (101.5 + 98.0 + 99.5) / 3.0).abs() < 1e-12);
    }
}
