//! The one door between the market model and option pricing: Black-Scholes
//! prices, greeks and implied volatility, in the units TWS reports them
//! (vega per volatility point, theta per calendar day).
//!
//! The maths itself belongs to `vspread-analytics`; this module only adapts
//! its results to what `tickOptionComputation` carries.

use vspread_analytics::black_scholes;
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
    // Analytics already reports vega per vol point and theta per day.
    let g = black_scholes::greeks(right, s, k, t, vol, r);
    Valuation {
        price: black_scholes::price(right, s, k, t, vol, r),
        delta: g.delta,
        gamma: g.gamma,
        vega: g.vega,
        theta: g.theta,
    }
}

/// The volatility at which the option is worth `price`, if there is one.
pub fn implied_vol(right: Right, price: f64, s: f64, k: f64, t: f64, r: f64) -> Option<f64> {
    if t <= 0.0 || price <= 0.0 {
        return None;
    }
    black_scholes::implied_vol(right, price, s, k, t, r)
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
