//! Black-Scholes prices, greeks and implied volatility for European
//! options without dividends (the simulator prices its chains with these;
//! the engine prices candidate strikes before asking for quotes).
//!
//! Units: `t_years` in years, `vol` and `rate` annualised (0.25 = 25%).
//! Theta is per calendar day; vega per one volatility point (0.01).

use vspread_core::Right;

use crate::normal::{norm_cdf, norm_pdf};

/// Sensitivities of one option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Greeks {
    pub delta: f64,
    pub gamma: f64,
    /// Price change for a 1-point (0.01) rise in volatility.
    pub vega: f64,
    /// Price change per calendar day.
    pub theta: f64,
}

fn d1_d2(spot: f64, strike: f64, t: f64, vol: f64, rate: f64) -> (f64, f64) {
    let st = vol * t.sqrt();
    let d1 = ((spot / strike).ln() + (rate + 0.5 * vol * vol) * t) / st;
    (d1, d1 - st)
}

/// The option's price; at expiry (or zero vol) its intrinsic value.
pub fn price(right: Right, spot: f64, strike: f64, t_years: f64, vol: f64, rate: f64) -> f64 {
    let discount = (-rate * t_years.max(0.0)).exp();
    if t_years <= 0.0 || vol <= 0.0 {
        let forward_intrinsic = match right {
            Right::Call => spot - strike * discount,
            Right::Put => strike * discount - spot,
        };
        return forward_intrinsic.max(0.0);
    }
    let (d1, d2) = d1_d2(spot, strike, t_years, vol, rate);
    match right {
        Right::Call => spot * norm_cdf(d1) - strike * discount * norm_cdf(d2),
        Right::Put => strike * discount * norm_cdf(-d2) - spot * norm_cdf(-d1),
    }
}

/// Delta, gamma, vega and theta; at expiry delta is 0 or ±1 and the rest 0.
pub fn greeks(right: Right, spot: f64, strike: f64, t_years: f64, vol: f64, rate: f64) -> Greeks {
    if t_years <= 0.0 || vol <= 0.0 {
        let itm = match right {
            Right::Call => spot > strike,
            Right::Put => spot < strike,
        };
        let delta = match (right, itm) {
            (_, false) => 0.0,
            (Right::Call, true) => 1.0,
            (Right::Put, true) => -1.0,
        };
        return Greeks {
            delta,
            gamma: 0.0,
            vega: 0.0,
            theta: 0.0,
        };
    }
    let (d1, d2) = d1_d2(spot, strike, t_years, vol, rate);
    let sqrt_t = t_years.sqrt();
    let discount = (-rate * t_years).exp();
    let pdf = norm_pdf(d1);
    let gamma = pdf / (spot * vol * sqrt_t);
    let vega = spot * pdf * sqrt_t / 100.0;
    let decay = -spot * pdf * vol / (2.0 * sqrt_t);
    let (delta, theta_year) = match right {
        Right::Call => (
            norm_cdf(d1),
            decay - rate * strike * discount * norm_cdf(d2),
        ),
        Right::Put => (
            norm_cdf(d1) - 1.0,
            decay + rate * strike * discount * norm_cdf(-d2),
        ),
    };
    Greeks {
        delta,
        gamma,
        vega,
        theta: theta_year / 365.0,
    }
}

/// The volatility at which the model price equals `price`, by safeguarded
/// Newton iteration on a bracket; `None` when no volatility in (0.1%, 500%]
/// reproduces the price (below intrinsic, above the spot, or no time left).
pub fn implied_vol(
    right: Right,
    price_: f64,
    spot: f64,
    strike: f64,
    t_years: f64,
    rate: f64,
) -> Option<f64> {
    if !(price_.is_finite() && spot > 0.0 && strike > 0.0 && t_years > 0.0) {
        return None;
    }
    let (mut lo, mut hi) = (1e-3_f64, 5.0_f64);
    let f = |v: f64| price(right, spot, strike, t_years, v, rate) - price_;
    let (flo, fhi) = (f(lo), f(hi));
    if flo > 0.0 || fhi < 0.0 {
        return None;
    }
    let mut vol = 0.3_f64.clamp(lo, hi);
    for _ in 0..100 {
        let diff = f(vol);
        if diff.abs() < 1e-12 * price_.max(1e-8) {
            return Some(vol);
        }
        if diff > 0.0 {
            hi = vol;
        } else {
            lo = vol;
        }
        let vega = greeks(right, spot, strike, t_years, vol, rate).vega * 100.0;
        let newton = vol - diff / vega;
        vol = if vega > 1e-12 && newton > lo && newton < hi {
            newton
        } else {
            0.5 * (lo + hi)
        };
        if hi - lo < 1e-14 {
            return Some(vol);
        }
    }
    Some(vol)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn textbook_value() {
        // Hull's example: S=42, K=40, r=10%, sigma=20%, T=0.5.
        let c = price(Right::Call, 42.0, 40.0, 0.5, 0.2, 0.1);
        let p = price(Right::Put, 42.0, 40.0, 0.5, 0.2, 0.1);
        assert!((c - 4.759_422_392_871_532).abs() < 1e-9, "{c}");
        // Put from put-call parity with the call above: c - S + K e^{-rT}.
        assert!((p - 0.808_599_372_900_097_5).abs() < 1e-9, "{p}");
    }

    #[test]
    fn expiry_is_intrinsic() {
        assert_eq!(price(Right::Call, 105.0, 100.0, 0.0, 0.3, 0.0), 5.0);
        assert_eq!(price(Right::Put, 105.0, 100.0, 0.0, 0.3, 0.0), 0.0);
        assert_eq!(greeks(Right::Put, 95.0, 100.0, 0.0, 0.3, 0.0).delta, -1.0);
    }

    proptest! {
        #[test]
        fn put_call_parity(spot in 5.0..500.0f64, k in 0.5..1.5f64, t in 0.01..2.0f64, vol in 0.05..1.5f64, rate in 0.0..0.08f64) {
            let strike = spot * k;
            let c = price(Right::Call, spot, strike, t, vol, rate);
            let p = price(Right::Put, spot, strike, t, vol, rate);
            let parity = spot - strike * (-rate * t).exp();
            prop_assert!((c - p - parity).abs() < 1e-9 * spot.max(1.0));
            let gc = greeks(Right::Call, spot, strike, t, vol, rate);
            let gp = greeks(Right::Put, spot, strike, t, vol, rate);
            prop_assert!((gc.delta - gp.delta - 1.0).abs() < 1e-12);
            prop_assert!((gc.gamma - gp.gamma).abs() < 1e-12);
        }

        #[test]
        fn implied_vol_recovers_the_input(spot in 20.0..500.0f64, k in 0.7..1.3f64, t in 0.05..1.5f64, vol in 0.08..1.2f64) {
            let strike = spot * k;
            for right in [Right::Call, Right::Put] {
                let p = price(right, spot, strike, t, vol, 0.01);
                // Options with almost no vega (deep in or out of the money)
                // cannot be inverted to this precision.
                if greeks(right, spot, strike, t, vol, 0.01).vega < 1e-3 * spot { continue; }
                let iv = implied_vol(right, p, spot, strike, t, 0.01).expect("invertible");
                prop_assert!((iv - vol).abs() < 1e-6, "iv {} vs {}", iv, vol);
            }
        }
    }

    #[test]
    fn impossible_prices_have_no_implied_vol() {
        assert_eq!(
            implied_vol(Right::Call, 200.0, 100.0, 100.0, 0.5, 0.0),
            None
        );
        assert_eq!(implied_vol(Right::Call, 1.0, 100.0, 50.0, 0.5, 0.0), None);
        assert_eq!(
            implied_vol(Right::Put, f64::NAN, 100.0, 50.0, 0.5, 0.0),
            None
        );
    }
}
