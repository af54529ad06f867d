//! The implied-volatility surface: at-the-money level with a term structure,
//! and a skewed smile across strikes.
//!
//! - **Level**: `base = spec.vol × regime multiplier` (the multiplier follows
//!   the market regime smoothly, see `process`).
//! - **Term structure**: `atm(T) = L + (0.95·base − L)·e^(−T/0.25)` with the
//!   long-run level `L = 1.05·spec.vol`. In calm and normal regimes the short
//!   end sits below the long end (upward sloping); in a stressed regime the
//!   short end is above it (inverted), as in real markets after a shock.
//! - **Skew and smile**: with standardised moneyness
//!   `x = ln(K/F) / (atm·√T)` clamped to ±4,
//!   `iv = atm·(1 − skew·x + curvature·x²)`, floored at 40% of `atm`. Low
//!   strikes (OTM puts) are richer than high strikes (OTM calls); index ETFs
//!   carry a steeper skew than single stocks, and stress steepens it by 30%.
//!
//! Calls and puts of one strike share one volatility (no put-call parity
//! violations).

use super::instrument::UnderlyingSpec;
use super::process::Regime;

/// Inputs for one point of the surface.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfacePoint {
    /// Current regime volatility multiplier (smoothed).
    pub vol_mult: f64,
    pub regime: Regime,
    /// Years to expiry.
    pub t: f64,
    /// Forward price of the underlying.
    pub forward: f64,
    pub strike: f64,
}

/// At-the-money implied volatility for `t` years.
pub fn atm_vol(spec: &UnderlyingSpec, vol_mult: f64, t: f64) -> f64 {
    let base = spec.vol * vol_mult;
    let long_run = 1.05 * spec.vol;
    long_run + (0.95 * base - long_run) * (-t.max(0.0) / 0.25).exp()
}

/// Implied volatility at a point of the surface.
pub fn implied_vol(spec: &UnderlyingSpec, p: SurfacePoint) -> f64 {
    let atm = atm_vol(spec, p.vol_mult, p.t);
    let t = p.t.max(1.0 / 365.0);
    let x = ((p.strike / p.forward).ln() / (atm * t.sqrt())).clamp(-4.0, 4.0);
    let (mut skew, curvature) = if spec.etf {
        (0.11, 0.020)
    } else {
        (0.06, 0.030)
    };
    if p.regime == Regime::Stressed {
        skew *= 1.3;
    }
    (atm * (1.0 - skew * x + curvature * x * x)).max(0.4 * atm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::instrument::{UNIVERSE, universe_index};

    fn spy() -> &'static UnderlyingSpec {
        &UNIVERSE[universe_index("SPY").unwrap()]
    }

    fn point(regime: Regime, vol_mult: f64, t: f64, strike: f64) -> SurfacePoint {
        SurfacePoint {
            vol_mult,
            regime,
            t,
            forward: 100.0,
            strike,
        }
    }

    #[test]
    fn puts_are_richer_than_calls_and_wings_smile() {
        let s = spy();
        let p90 = implied_vol(s, point(Regime::Normal, 1.0, 0.1, 90.0));
        let atm = implied_vol(s, point(Regime::Normal, 1.0, 0.1, 100.0));
        let c110 = implied_vol(s, point(Regime::Normal, 1.0, 0.1, 110.0));
        assert!(p90 > atm && atm > c110, "{p90} {atm} {c110}");
        let far_call = implied_vol(s, point(Regime::Normal, 1.0, 0.1, 140.0));
        let mid_call = implied_vol(s, point(Regime::Normal, 1.0, 0.1, 115.0));
        assert!(
            far_call > mid_call * 0.9,
            "smile lifts far wing: {far_call} {mid_call}"
        );
    }

    #[test]
    fn term_structure_slopes_up_when_calm_and_inverts_under_stress() {
        let s = spy();
        assert!(atm_vol(s, 0.75, 0.05) < atm_vol(s, 0.75, 1.0));
        assert!(atm_vol(s, 1.0, 0.05) < atm_vol(s, 1.0, 1.0));
        assert!(atm_vol(s, 1.8, 0.05) > atm_vol(s, 1.8, 1.0));
    }
}
