//! Option chains: which expiries and strikes are listed for an underlying on
//! a given day, and the `reqSecDefOptParams` view of them.
//!
//! - **Expiries**: every Friday for the next 8 weeks (weeklies) and the third
//!   Friday of each month out to 12 months (monthlies). Expired dates drop
//!   off as the simulated date moves.
//! - **Strikes**: a grid centred on the reference price (the previous
//!   session's close, so the grid does not shift intraday). The near
//!   increment depends on the price level: SPY/QQQ/IWM 1; otherwise 0.5 below
//!   $25, 1 below $100, 2.5 below $250, 5 below $1000, 10 above. Within ±10%
//!   of the reference the near increment is used; further out, up to the
//!   expiry's range, a coarser one (0.5→1, 1→2.5 (5 for the index ETFs),
//!   2.5→5, 5→10, 10→25). The range grows with expiry:
//!   `±clamp(4·atm_vol·√T, 12%, 60%)` of the reference.
//!
//! A strike outside today's grid stays a valid contract (its conId is
//! derived from its identity), so positions in it can still be valued.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};

use super::calendar::{listed_expiries, yyyymmdd};
use super::instrument::{OPTION_MULTIPLIER, UnderlyingSpec};

/// Weeks of weekly expiries listed.
pub const WEEKLY_WEEKS: u32 = 8;
/// Months of monthly expiries listed.
pub const MONTHLY_MONTHS: u32 = 12;

/// What `reqSecDefOptParams` returns for one underlying (one row: SMART).
#[derive(Debug, Clone, PartialEq)]
pub struct OptionParams {
    /// `SMART`.
    pub exchange: String,
    pub underlying_con_id: i32,
    /// The underlying symbol.
    pub trading_class: String,
    /// `"100"` (a string on the wire).
    pub multiplier: String,
    /// Listed expiries, `YYYYMMDD`, ascending.
    pub expirations: Vec<String>,
    /// Union of every listed expiry's strikes, ascending.
    pub strikes: Vec<f64>,
}

impl OptionParams {
    pub(crate) fn new(
        symbol: &str,
        underlying_con_id: i32,
        expiries: &[NaiveDate],
        strikes: Vec<Decimal>,
    ) -> Self {
        OptionParams {
            exchange: "SMART".to_string(),
            underlying_con_id,
            trading_class: symbol.to_string(),
            multiplier: OPTION_MULTIPLIER.to_string(),
            expirations: expiries.iter().map(|d| yyyymmdd(*d)).collect(),
            strikes: strikes.iter().filter_map(|k| k.to_f64()).collect(),
        }
    }
}

/// Expiries listed on `today`.
pub fn expiries(today: NaiveDate) -> Vec<NaiveDate> {
    listed_expiries(today, WEEKLY_WEEKS, MONTHLY_MONTHS)
}

/// The near-the-money strike increment for an underlying at `reference`.
pub fn near_increment(spec: &UnderlyingSpec, reference: f64) -> Decimal {
    if spec.penny_all {
        return Decimal::ONE;
    }
    match reference {
        p if p < 25.0 => Decimal::new(5, 1),
        p if p < 100.0 => Decimal::ONE,
        p if p < 250.0 => Decimal::new(25, 1),
        p if p < 1000.0 => Decimal::from(5),
        _ => Decimal::from(10),
    }
}

/// The increment used away from the money.
pub fn far_increment(spec: &UnderlyingSpec, near: Decimal) -> Decimal {
    if spec.penny_all {
        return Decimal::from(5);
    }
    match near.to_f64().unwrap_or(1.0) {
        n if n <= 0.5 => Decimal::ONE,
        n if n <= 1.0 => Decimal::new(25, 1),
        n if n <= 2.5 => Decimal::from(5),
        n if n <= 5.0 => Decimal::from(10),
        _ => Decimal::from(25),
    }
}

/// Strikes listed for an expiry `t` years out, with `atm_vol` its ATM
/// volatility and `reference` the underlying's reference price.
pub fn strikes(spec: &UnderlyingSpec, reference: f64, t: f64, atm_vol: f64) -> Vec<Decimal> {
    let near = near_increment(spec, reference);
    let far = far_increment(spec, near);
    let range = (4.0 * atm_vol * t.max(0.0).sqrt()).clamp(0.12, 0.60);
    let lo = reference * (1.0 - range);
    let hi = reference * (1.0 + range);
    let near_lo = reference * 0.90;
    let near_hi = reference * 1.10;
    let mut out = Vec::new();
    let mut k = ceil_to(lo.max(0.5), far);
    let top = Decimal::from_f64(hi).unwrap_or(Decimal::ZERO);
    let near_lo_d = Decimal::from_f64(near_lo).unwrap_or(Decimal::ZERO);
    let near_hi_d = Decimal::from_f64(near_hi).unwrap_or(Decimal::ZERO);
    while k <= top {
        out.push(k);
        let step = if k >= near_lo_d - near && k < near_hi_d {
            near
        } else {
            far
        };
        let next = k + step;
        // Re-align to the step's own grid when changing zones.
        k = if (next % step).is_zero() {
            next
        } else {
            ceil_to_dec(next, step)
        };
    }
    out.retain(|k| *k > Decimal::ZERO && *k <= Decimal::new(20475, 1));
    out.dedup();
    out
}

fn ceil_to(x: f64, inc: Decimal) -> Decimal {
    ceil_to_dec(Decimal::from_f64(x).unwrap_or(Decimal::ZERO), inc)
}

fn ceil_to_dec(x: Decimal, inc: Decimal) -> Decimal {
    (x / inc).ceil() * inc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::instrument::{UNIVERSE, universe_index};

    fn spec(sym: &str) -> &'static UnderlyingSpec {
        &UNIVERSE[universe_index(sym).unwrap()]
    }

    #[test]
    fn spy_grid_has_dollar_strikes_near_and_fives_far() {
        let ks = strikes(spec("SPY"), 670.3, 0.5, 0.16);
        assert!(ks.windows(2).all(|w| w[0] < w[1]));
        assert!(ks.contains(&Decimal::from(670)) && ks.contains(&Decimal::from(671)));
        let far: Vec<_> = ks.iter().filter(|k| **k < Decimal::from(560)).collect();
        assert!(!far.is_empty());
        assert!(
            far.iter().all(|k| (**k % Decimal::from(5)).is_zero()),
            "{far:?}"
        );
    }

    #[test]
    fn increments_depend_on_price_level() {
        assert_eq!(near_increment(spec("INTC"), 20.0), Decimal::new(5, 1));
        assert_eq!(near_increment(spec("KO"), 70.0), Decimal::ONE);
        assert_eq!(near_increment(spec("NVDA"), 185.0), Decimal::new(25, 1));
        assert_eq!(near_increment(spec("MSFT"), 510.0), Decimal::from(5));
        let ks = strikes(spec("NVDA"), 185.0, 0.05, 0.45);
        let atm: Vec<_> = ks
            .iter()
            .filter(|k| (**k - Decimal::from(185)).abs() < Decimal::from(10))
            .collect();
        assert!(
            atm.windows(2).all(|w| *w[1] - *w[0] == Decimal::new(25, 1)),
            "{atm:?}"
        );
    }

    #[test]
    fn longer_expiries_list_a_wider_range() {
        let short = strikes(spec("AAPL"), 265.0, 7.0 / 365.0, 0.25);
        let long = strikes(spec("AAPL"), 265.0, 1.0, 0.27);
        assert!(long.first() < short.first() && long.last() > short.last());
        assert!(short.len() >= 10, "{short:?}");
    }
}
