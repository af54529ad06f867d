//! The resting-order fill model: how often a limit order that is not
//! marketable fills, as a hazard rate per simulated minute.
//!
//! A resting order's **aggressiveness** `a` says where its limit sits
//! between the far side (`a = 0`: a buyer bidding the combo's bid) and the
//! natural (`a = 1`: paying the combo's ask); the mid is `a = ½`. The base
//! rate rises exponentially with `a`, through three anchors:
//!
//! ```text
//! λ(a) = λ_mid · (λ_mid / λ_far)^((a − ½) / ½)       for 0 ≤ a ≤ ½
//! λ(a) = λ_mid · (λ_natural / λ_mid)^((a − ½) / ½)   for ½ ≤ a < 1
//! λ(a) = 0                                           for a < 0
//! ```
//!
//! so `λ(0) = λ_far`, `λ(½) = λ_mid`, `λ(1⁻) = λ_natural` (at `a ≥ 1` the
//! order is marketable and fills at once, outside this model). An intensity
//! that is exponential in the distance from the mid is the standard form of
//! limit-order fill models (Avellaneda and Stoikov, 2008); here the slope
//! differs on either side of the mid.
//!
//! Two factors slow the rate down:
//! - **width**: with `w` the legs' bid-ask summed as a share of their mids
//!   (`Σ ratio·(ask − bid) / Σ ratio·mid`), `S(w) = 1 / (1 + w / w_half)`:
//!   the rate halves where the legs' quoted spreads add up to `w_half` of
//!   their prices;
//! - **liquidity**: with `V` the underlying's daily dollar volume (price ×
//!   average share volume), `L(V) = clamp(√(V / V_liquid), L_min, 1)`.
//!
//! `λ = λ(a) · S(w) · L(V)`. Time runs on a grid of simulated seconds: in
//! each second a resting order fills with probability `1 − e^(−λ/60)`,
//! decided by a hash of the seed, the order's permId and the second, so a
//! run replays exactly and the draws do not depend on how often the venue
//! is ticked.

use serde::{Deserialize, Serialize};

use crate::market::rng::hash;

/// The longest stretch of simulated time one venue tick draws resting
/// fills for: a venue ticked less often than this (tests jumping hours
/// ahead) counts only the last hour before each tick.
pub const MAX_RESTING_WINDOW_S: i64 = 3600;

/// The fill model's parameters (`vspread sim --fill-…`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FillModel {
    /// Fills per minute of an order resting at the far side (`a = 0`).
    pub rate_far: f64,
    /// Fills per minute of an order resting at the mid (`a = ½`).
    pub rate_mid: f64,
    /// Fills per minute of an order resting just inside the natural.
    pub rate_natural: f64,
    /// Legs' summed bid-ask, as a share of their mids, at which the rate
    /// halves.
    pub width_half: f64,
    /// Daily dollar volume of the underlying from which a name counts as
    /// fully liquid (factor 1).
    pub liquid_dollar_volume: f64,
    /// The liquidity factor of the least liquid name.
    pub min_liquidity: f64,
}

impl Default for FillModel {
    /// The defaults, chosen as the crate README explains: a mean wait of
    /// 2 minutes at the mid of a liquid, tightly quoted combo, 10 seconds
    /// just inside the natural, 50 minutes at the far side.
    fn default() -> Self {
        FillModel {
            rate_far: 0.02,
            rate_mid: 0.5,
            rate_natural: 6.0,
            width_half: 0.20,
            liquid_dollar_volume: 5e9,
            min_liquidity: 0.25,
        }
    }
}

/// A fill model parameter out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("fill model: {parameter} = {value} {why}")]
pub struct BadFillModel {
    pub parameter: &'static str,
    pub value: f64,
    pub why: &'static str,
}

/// What a resting order's rate depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateInputs {
    /// 0 at the far side, ½ at the mid, 1 at the natural.
    pub aggressiveness: f64,
    /// Legs' summed bid-ask as a share of their summed mids.
    pub relative_width: f64,
    /// The underlying's daily dollar volume.
    pub dollar_volume: f64,
}

impl FillModel {
    /// Checks every parameter: rates positive, finite and rising from the
    /// far side to the natural; the width and volume scales positive; the
    /// liquidity floor in (0, 1].
    pub fn validate(&self) -> Result<(), BadFillModel> {
        let bad = |parameter, value, why| {
            Err(BadFillModel {
                parameter,
                value,
                why,
            })
        };
        for (parameter, value) in [
            ("rate_far", self.rate_far),
            ("rate_mid", self.rate_mid),
            ("rate_natural", self.rate_natural),
            ("width_half", self.width_half),
            ("liquid_dollar_volume", self.liquid_dollar_volume),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return bad(parameter, value, "must be a positive number");
            }
        }
        if self.rate_mid < self.rate_far {
            return bad(
                "rate_mid",
                self.rate_mid,
                "must not be below rate_far (the rate rises toward the natural)",
            );
        }
        if self.rate_natural < self.rate_mid {
            return bad(
                "rate_natural",
                self.rate_natural,
                "must not be below rate_mid (the rate rises toward the natural)",
            );
        }
        if !(self.min_liquidity > 0.0 && self.min_liquidity <= 1.0) {
            return bad("min_liquidity", self.min_liquidity, "must be in (0, 1]");
        }
        Ok(())
    }

    /// The base rate per minute at aggressiveness `a` (see the module docs):
    /// 0 beyond the far side, `rate_natural` from the natural on.
    pub fn base_rate(&self, a: f64) -> f64 {
        if a.is_nan() || a < 0.0 {
            return 0.0;
        }
        if a >= 1.0 {
            return self.rate_natural;
        }
        let x = (a - 0.5) / 0.5;
        if x <= 0.0 {
            self.rate_mid * (self.rate_mid / self.rate_far).powf(x)
        } else {
            self.rate_mid * (self.rate_natural / self.rate_mid).powf(x)
        }
    }

    /// `1 / (1 + w / width_half)`: 1 for a zero-width quote.
    pub fn width_factor(&self, relative_width: f64) -> f64 {
        if relative_width.is_nan() {
            return 0.0;
        }
        1.0 / (1.0 + relative_width.max(0.0) / self.width_half)
    }

    /// `clamp(√(V / liquid_dollar_volume), min_liquidity, 1)`.
    pub fn liquidity_factor(&self, dollar_volume: f64) -> f64 {
        let v = if dollar_volume.is_nan() {
            0.0
        } else {
            dollar_volume.max(0.0)
        };
        (v / self.liquid_dollar_volume)
            .sqrt()
            .clamp(self.min_liquidity, 1.0)
    }

    /// The rate per simulated minute: base × width factor × liquidity factor.
    pub fn rate(&self, inputs: RateInputs) -> f64 {
        self.base_rate(inputs.aggressiveness)
            * self.width_factor(inputs.relative_width)
            * self.liquidity_factor(inputs.dollar_volume)
    }
}

/// The chance of a fill within one simulated second at `rate` fills per
/// minute: `1 − e^(−rate/60)`.
pub fn per_second(rate_per_minute: f64) -> f64 {
    if rate_per_minute.is_nan() || rate_per_minute <= 0.0 {
        return 0.0;
    }
    -(-rate_per_minute / 60.0).exp_m1()
}

/// The first second `s` in `(after, until]` (epoch seconds) whose draw for
/// the order `perm_id` falls below `p`, if any: the seconds a resting order
/// with fill probability `p` per second waits. The draws depend only on the
/// seed, the order and the second.
pub fn first_fill_second(seed: u64, perm_id: i64, after: i64, until: i64, p: f64) -> Option<i64> {
    if p.is_nan() || p <= 0.0 {
        return None;
    }
    ((after.saturating_add(1))..=until).find(|&second| draw(seed, perm_id, second) < p)
}

/// The seeded uniform draw of one order and second, in (0, 1).
fn draw(seed: u64, perm_id: i64, second: i64) -> f64 {
    let h = hash(&[seed, perm_id as u64, second as u64, 0x7265_7374]);
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_the_anchor_at_the_far_side_the_mid_and_the_natural() {
        let m = FillModel::default();
        assert_eq!(m.base_rate(0.0), m.rate_far);
        assert!((m.base_rate(0.5) - m.rate_mid).abs() < 1e-12);
        assert!((m.base_rate(1.0 - 1e-12) - m.rate_natural).abs() < 1e-9);
        assert_eq!(m.base_rate(1.0), m.rate_natural);
        assert_eq!(m.base_rate(-0.01), 0.0, "beyond the far side: no fill");
        assert_eq!(m.base_rate(f64::NAN), 0.0);
        // Well above zero at the mid: a resting order there fills.
        assert!(m.base_rate(0.5) >= 0.25);
    }

    #[test]
    fn the_rate_rises_with_aggressiveness_and_is_geometric_on_each_side() {
        let m = FillModel::default();
        let mut last = 0.0;
        for k in 0..=100 {
            let r = m.base_rate(f64::from(k) / 100.0);
            assert!(r >= last, "not rising at a = {k}/100: {r} < {last}");
            last = r;
        }
        // Halfway between the mid and the natural: the geometric mean.
        let q = m.base_rate(0.75);
        assert!((q - (m.rate_mid * m.rate_natural).sqrt()).abs() < 1e-9);
        let f = m.base_rate(0.25);
        assert!((f - (m.rate_far * m.rate_mid).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn wide_quotes_and_thin_names_fill_more_slowly() {
        let m = FillModel::default();
        assert_eq!(m.width_factor(0.0), 1.0);
        assert!((m.width_factor(m.width_half) - 0.5).abs() < 1e-12);
        assert!(m.width_factor(0.5) < m.width_factor(0.05));
        assert_eq!(m.liquidity_factor(m.liquid_dollar_volume * 4.0), 1.0);
        assert!((m.liquidity_factor(m.liquid_dollar_volume / 4.0) - 0.5).abs() < 1e-12);
        assert_eq!(m.liquidity_factor(0.0), m.min_liquidity);
        let base = RateInputs {
            aggressiveness: 0.5,
            relative_width: 0.02,
            dollar_volume: 40e9,
        };
        let wide = RateInputs {
            relative_width: 0.4,
            ..base
        };
        let thin = RateInputs {
            dollar_volume: 1e9,
            ..base
        };
        assert!(m.rate(wide) < m.rate(base));
        assert!(m.rate(thin) < m.rate(base));
    }

    #[test]
    fn bad_parameters_are_named() {
        let ok = FillModel::default();
        assert_eq!(ok.validate(), Ok(()));
        let cases = [
            (
                FillModel {
                    rate_mid: 0.0,
                    ..ok
                },
                "rate_mid",
            ),
            (
                FillModel {
                    rate_far: 1.0,
                    rate_mid: 0.5,
                    ..ok
                },
                "rate_mid",
            ),
            (
                FillModel {
                    rate_natural: 0.1,
                    ..ok
                },
                "rate_natural",
            ),
            (
                FillModel {
                    width_half: f64::NAN,
                    ..ok
                },
                "width_half",
            ),
            (
                FillModel {
                    min_liquidity: 1.5,
                    ..ok
                },
                "min_liquidity",
            ),
        ];
        for (model, parameter) in cases {
            assert_eq!(model.validate().unwrap_err().parameter, parameter);
        }
    }

    #[test]
    fn per_second_probability_compounds_to_the_rate() {
        let p = per_second(0.5);
        // 60 seconds of it: the chance of no fill in a minute is e^-0.5.
        assert!(((1.0 - p).powi(60) - (-0.5f64).exp()).abs() < 1e-12);
        assert_eq!(per_second(0.0), 0.0);
        assert_eq!(per_second(-1.0), 0.0);
    }

    /// Waiting times of many seeded orders at a fixed rate follow the
    /// model's geometric law: the mean within four standard errors of
    /// `1/p`, and a Kolmogorov-Smirnov distance under the 0.1% critical
    /// value, at the far side, the mid and near the natural.
    #[test]
    fn seeded_waiting_times_follow_the_model() {
        let m = FillModel::default();
        let n = 4000usize;
        for (a, seed) in [(0.0, 11u64), (0.5, 12), (0.9, 13)] {
            let p = per_second(m.base_rate(a));
            let horizon = (40.0 / p) as i64;
            let mut waits: Vec<f64> = (0..n)
                .map(|k| {
                    first_fill_second(seed, 1_000_000_001 + k as i64, 0, horizon, p)
                        .expect("a fill within 40 mean waits") as f64
                })
                .collect();
            let mean = waits.iter().sum::<f64>() / n as f64;
            let expected = 1.0 / p;
            let se = (1.0 - p).sqrt() / p / (n as f64).sqrt();
            assert!(
                (mean - expected).abs() < 4.0 * se,
                "a = {a}: mean wait {mean:.1} s, model {expected:.1} s (se {se:.2})"
            );
            waits.sort_by(f64::total_cmp);
            // Both laws are step functions of whole seconds: compare them at
            // each observed wait and just before it.
            let cdf = |w: f64| 1.0 - (1.0 - p).powf(w);
            let mut d: f64 = 0.0;
            let mut i = 0;
            while i < n {
                let w = waits[i];
                let mut j = i;
                while j < n && waits[j] == w {
                    j += 1;
                }
                let before = i as f64 / n as f64;
                let upto = j as f64 / n as f64;
                d = d
                    .max((cdf(w - 1.0) - before).abs())
                    .max((cdf(w) - upto).abs());
                i = j;
            }
            let critical = 1.95 / (n as f64).sqrt();
            assert!(d < critical, "a = {a}: KS distance {d:.4} ≥ {critical:.4}");
        }
    }

    #[test]
    fn draws_replay_and_differ_between_orders() {
        let p = per_second(0.5);
        let a = first_fill_second(7, 1, 0, 100_000, p);
        assert_eq!(a, first_fill_second(7, 1, 0, 100_000, p));
        let others: Vec<_> = (2..12)
            .map(|perm| first_fill_second(7, perm, 0, 100_000, p))
            .collect();
        assert!(others.iter().any(|o| *o != a));
        assert_eq!(first_fill_second(7, 1, 10, 10, 1.0), None, "empty window");
        assert_eq!(first_fill_second(7, 1, 10, 11, 1.0), Some(11));
        assert_eq!(first_fill_second(7, 1, 0, 100, 0.0), None);
    }
}
