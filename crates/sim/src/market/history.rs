//! Daily bars: the seeded history that exists before the simulation starts,
//! and the bar type shared with the live process.
//!
//! History is generated per symbol for [`HISTORY_DAYS`] trading days ending
//! at the last session before the start. A market-wide regime path (the same
//! Markov chain the live process uses, one transition per day) sets each
//! day's volatility; daily log-returns are drawn forward and the closes are
//! then anchored so that **the last close equals the start price**: the live
//! market continues exactly where the history ends. Opens gap from the prior
//! close by a quarter of the day's variance, highs and lows extend beyond the
//! open/close by a half-normal excursion, and volume is the symbol's average
//! scaled by lognormal noise and by the size of the move.

use chrono::NaiveDate;

use super::calendar::prev_trading_day;
use super::instrument::UnderlyingSpec;
use super::process::Regime;
use super::rng::{Rng, hash_unit, str_code};

/// Trading days of history generated before the start (more than a year, so
/// a `1 Y` request and a 200-day indicator both have data).
pub const HISTORY_DAYS: usize = 400;

pub use vspread_core::DailyBar;

/// Full-day share volume of symbol `index` on `date` (deterministic).
pub fn day_volume(seed: u64, spec: &UnderlyingSpec, date: NaiveDate, move_in_sigmas: f64) -> u64 {
    let u = hash_unit(&[seed, str_code(spec.symbol), date_code(date), 0x766f6c]);
    let noise = (0.35 * inverse_normal_approx(u)).exp();
    (spec.avg_volume * noise * (0.7 + 0.3 * move_in_sigmas.abs())).round() as u64
}

/// Stable number for a date.
pub fn date_code(date: NaiveDate) -> u64 {
    date.to_string()
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)))
}

/// A coarse inverse normal CDF (logistic approximation), enough to shape
/// noise from a hashed uniform.
fn inverse_normal_approx(u: f64) -> f64 {
    (u / (1.0 - u)).ln() / 1.702
}

/// The market-wide regime of each of the `days` history days, oldest first.
pub fn regime_path(seed: u64, days: usize) -> Vec<Regime> {
    let mut rng = Rng::new(seed, 0x7265_6769_6d65);
    let mut regime = Regime::Normal;
    // Burn in so the path does not always start in Normal.
    for _ in 0..60 {
        regime = regime.next_day(rng.uniform());
    }
    (0..days)
        .map(|_| {
            regime = regime.next_day(rng.uniform());
            regime
        })
        .collect()
}

/// History of one symbol: `regimes.len()` bars ending at `last_day`, the last
/// close equal to `start_price`.
pub fn generate(
    seed: u64,
    spec: &UnderlyingSpec,
    start_price: f64,
    last_day: NaiveDate,
    regimes: &[Regime],
) -> Vec<DailyBar> {
    let n = regimes.len();
    let mut rng = Rng::new(seed, str_code(spec.symbol) ^ 0x6869_7374);
    let mut dates = Vec::with_capacity(n);
    let mut d = last_day;
    for _ in 0..n {
        dates.push(d);
        d = prev_trading_day(d);
    }
    dates.reverse();

    struct Day {
        gap: f64,
        body: f64,
        up: f64,
        down: f64,
        sigma: f64,
    }
    let days: Vec<Day> = regimes
        .iter()
        .map(|r| {
            let sigma = spec.vol * r.vol_mult() / 252f64.sqrt();
            Day {
                gap: 0.5 * sigma * rng.normal(),
                body: 0.866 * sigma * rng.normal(),
                up: 0.4 * sigma * rng.normal().abs(),
                down: 0.4 * sigma * rng.normal().abs(),
                sigma,
            }
        })
        .collect();
    // Anchor: close_n-1 = start_price; close_i = close_{i+1} / exp(r_{i+1}).
    let mut closes = vec![0.0; n];
    closes[n - 1] = start_price;
    for i in (0..n - 1).rev() {
        let r = days[i + 1].gap + days[i + 1].body;
        closes[i] = closes[i + 1] / r.exp();
    }
    (0..n)
        .map(|i| {
            let day = &days[i];
            let close = closes[i];
            let open = close / day.body.exp();
            let high = open.max(close) * day.up.exp();
            let low = open.min(close) / day.down.exp();
            let moved = (day.gap + day.body) / day.sigma;
            DailyBar {
                date: dates[i],
                open: round_cents(open),
                high: round_cents(high),
                low: round_cents(low),
                close: if i == n - 1 {
                    close
                } else {
                    round_cents(close)
                },
                volume: day_volume(seed, spec, dates[i], moved),
            }
        })
        .collect()
}

/// Rounds to whole cents.
pub fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::calendar::is_trading_day;
    use crate::market::instrument::{UNIVERSE, universe_index};

    #[test]
    fn history_is_anchored_continuous_and_on_trading_days() {
        let spec = &UNIVERSE[universe_index("TSLA").unwrap()];
        let last = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let regimes = regime_path(42, HISTORY_DAYS);
        let bars = generate(42, spec, 431.27, last, &regimes);
        assert_eq!(bars.len(), HISTORY_DAYS);
        assert_eq!(bars.last().unwrap().date, last);
        assert!((bars.last().unwrap().close - 431.27).abs() < 1e-9);
        assert!(bars.iter().all(|b| is_trading_day(b.date)));
        assert!(bars.windows(2).all(|w| w[0].date < w[1].date));
        for b in &bars {
            assert!(
                b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close),
                "{b:?}"
            );
            assert!(b.volume > 0);
        }
        // Continuity: day-to-day close moves stay within a plausible range.
        for w in bars.windows(2) {
            let r = (w[1].close / w[0].close).ln().abs();
            assert!(r < 0.35, "jump {r} at {}", w[1].date);
        }
    }

    #[test]
    fn regimes_visit_more_than_one_state() {
        let path = regime_path(7, HISTORY_DAYS);
        let distinct: std::collections::HashSet<_> = path.iter().collect();
        assert!(distinct.len() >= 2, "{distinct:?}");
    }
}
