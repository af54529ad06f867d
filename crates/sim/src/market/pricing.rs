//! The one door between the market model and option pricing: Black-Scholes
//! prices, greeks and implied volatility, in the units TWS reports them
//! (vega per volatility point, theta per calendar day).
//!
//! The maths itself belongs to `vspread-analytics`; this module only adapts
//! its results to what `tickOptionComputation` carries.

use vspread_core::Right;

/// Black-Scholes value and sensitivities of one option.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Valuation {
    /// Theoretical price per share.
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    /// Price change for a one-point (0.01) rise in volatility.
    pub vega: f64,
    /// Price change over one calendar day (negative for long options).
    pub theta: f64,
}

/// Values an option: spot `s`, strike `k`, `t` years to expiry, continuously
/// compounded rate `r`, volatility `vol`. At or after expiry (`t <= 0`) the
/// value is intrinsic and the greeks those of the payoff.
pub fn value(right: Right, s: f64, k: f64, t: f64, r: f64, vol: f64) -> Valuation {
    if t <= 0.0 || vol <= 0.0 {
        let (price, delta) = match right {
            Right::Call => ((s - k).max(0.0), if s > k { 1.0 } else { 0.0 }),
            Right::Put => ((k - s).max(0.0), if s < k { -1.0 } else { 0.0 }),
        };
        return Valuation {
            price,
            delta,
            gamma: 0.0,
            vega: 0.0,
            theta: 0.0,
        };
    }
    let kind = analytics_right(right);
    let g = black_scholes::greeks(kind, s, k, t, r, vol);
    Valuation {
        price: black_scholes::price(kind, s, k, t, r, vol),
        delta: g.delta,
        gamma: g.gamma,
        vega: g.vega / 100.0,
        theta: g.theta / 365.0,
    }
}

/// The volatility at which the option is worth `price`, if there is one.
pub fn implied_vol(right: Right, price: f64, s: f64, k: f64, t: f64, r: f64) -> Option<f64> {
    if t <= 0.0 || price <= 0.0 {
        return None;
    }
    black_scholes::implied_vol(analytics_right(right), price, s, k, t, r)
}

fn analytics_right(right: Right) -> Right {
    right
}

use interim as black_scholes;

/// INTERIM, until `vspread_analytics::black_scholes` lands: the same three
/// functions with the same shapes, so the switch is the `use` line above.
mod interim {
    use vspread_core::Right;

    pub struct Greeks {
        pub delta: f64,
        pub gamma: f64,
        pub vega: f64,
        pub theta: f64,
    }

    fn norm_cdf(x: f64) -> f64 {
        0.5 * erfc(-x / std::f64::consts::SQRT_2)
    }

    fn norm_pdf(x: f64) -> f64 {
        (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }

    // W. J. Cody-style rational approximation via the complementary error
    // function (Numerical Recipes erfcc, |error| < 1.2e-7).
    fn erfc(x: f64) -> f64 {
        let z = x.abs();
        let t = 1.0 / (1.0 + 0.5 * z);
        let r = t
            * (-z * z - 1.265_512_23
                + t * (1.000_023_68
                    + t * (0.374_091_96
                        + t * (0.096_784_18
                            + t * (-0.186_288_06
                                + t * (0.278_868_07
                                    + t * (-1.135_203_98
                                        + t * (1.488_515_87
                                            + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
                .exp();
        if x >= 0.0 { r } else { 2.0 - r }
    }

    fn d1d2(s: f64, k: f64, t: f64, r: f64, vol: f64) -> (f64, f64) {
        let d1 = ((s / k).ln() + (r + 0.5 * vol * vol) * t) / (vol * t.sqrt());
        (d1, d1 - vol * t.sqrt())
    }

    pub fn price(right: Right, s: f64, k: f64, t: f64, r: f64, vol: f64) -> f64 {
        let (d1, d2) = d1d2(s, k, t, r, vol);
        let df = (-r * t).exp();
        match right {
            Right::Call => s * norm_cdf(d1) - k * df * norm_cdf(d2),
            Right::Put => k * df * norm_cdf(-d2) - s * norm_cdf(-d1),
        }
    }

    pub fn greeks(right: Right, s: f64, k: f64, t: f64, r: f64, vol: f64) -> Greeks {
        let (d1, d2) = d1d2(s, k, t, r, vol);
        let df = (-r * t).exp();
        let pdf = norm_pdf(d1);
        let gamma = pdf / (s * vol * t.sqrt());
        let vega = s * pdf * t.sqrt();
        let common = -s * pdf * vol / (2.0 * t.sqrt());
        let (delta, theta) = match right {
            Right::Call => (norm_cdf(d1), common - r * k * df * norm_cdf(d2)),
            Right::Put => (norm_cdf(d1) - 1.0, common + r * k * df * norm_cdf(-d2)),
        };
        Greeks {
            delta,
            gamma,
            vega,
            theta,
        }
    }

    pub fn implied_vol(right: Right, target: f64, s: f64, k: f64, t: f64, r: f64) -> Option<f64> {
        let (mut lo, mut hi) = (1e-4, 5.0);
        if target < price(right, s, k, t, r, lo) || target > price(right, s, k, t, r, hi) {
            return None;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if price(right, s, k, t, r, mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(0.5 * (lo + hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atm_call_has_textbook_value_and_units() {
        // S=K=100, T=1, r=0, vol=0.2: price 7.9656, delta 0.5398, vega 0.3970 per point.
        let v = value(Right::Call, 100.0, 100.0, 1.0, 0.0, 0.2);
        assert!((v.price - 7.9656).abs() < 1e-3, "{v:?}");
        assert!((v.delta - 0.5398).abs() < 1e-3);
        assert!((v.vega - 0.3970).abs() < 1e-3);
        assert!(v.theta < 0.0 && v.theta > -0.02);
        let iv = implied_vol(Right::Call, v.price, 100.0, 100.0, 1.0, 0.0).unwrap();
        assert!((iv - 0.2).abs() < 1e-6);
    }

    #[test]
    fn expired_options_are_worth_intrinsic() {
        let v = value(Right::Put, 90.0, 100.0, 0.0, 0.04, 0.3);
        assert_eq!(v.price, 10.0);
        assert_eq!(v.delta, -1.0);
    }
}
