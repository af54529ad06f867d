//! Exact money: prices that reach an order are `rust_decimal::Decimal`
//! values on the contract's tick grid. Pricing models work in f64; crossing
//! from f64 to an order price always goes through [`price_on_tick`], which
//! rounds to the tick in the direction that never worsens the trader's side.

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive as _;

/// Which way to round onto the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickRounding {
    /// Down: a buy limit never pays more than asked.
    Down,
    /// Up: a sell limit never receives less than asked.
    Up,
    /// To the nearest tick, ties away from zero.
    Nearest,
}

/// Why a value could not become a price.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    #[error("the tick size must be above 0, got {0}")]
    BadTick(Decimal),
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    #[error("{0} is too large to be a price")]
    OutOfRange(f64),
}

/// Rounds `value` onto multiples of `tick`.
pub fn round_to_tick(
    value: Decimal,
    tick: Decimal,
    rounding: TickRounding,
) -> Result<Decimal, PriceError> {
    if tick <= Decimal::ZERO {
        return Err(PriceError::BadTick(tick));
    }
    let steps = value / tick;
    let steps = match rounding {
        TickRounding::Down => steps.floor(),
        TickRounding::Up => steps.ceil(),
        TickRounding::Nearest => {
            steps.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        }
    };
    Ok((steps * tick).normalize())
}

/// An f64 from a model as an exact price on the tick grid.
pub fn price_on_tick(
    value: f64,
    tick: Decimal,
    rounding: TickRounding,
) -> Result<Decimal, PriceError> {
    if !value.is_finite() {
        return Err(PriceError::NotFinite(value));
    }
    let exact = Decimal::from_f64(value).ok_or(PriceError::OutOfRange(value))?;
    round_to_tick(exact, tick, rounding)
}

/// The option tick IB uses for most US equity options: 0.05 at or above
/// $3.00, 0.01 below (penny-pilot names trade in pennies below $3).
pub fn option_tick(price: Decimal) -> Decimal {
    if price >= Decimal::new(3, 0) {
        Decimal::new(5, 2)
    } else {
        Decimal::new(1, 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn rounds_in_the_traders_favour() {
        assert_eq!(
            round_to_tick(d("1.237"), d("0.05"), TickRounding::Down).unwrap(),
            d("1.2")
        );
        assert_eq!(
            round_to_tick(d("1.237"), d("0.05"), TickRounding::Up).unwrap(),
            d("1.25")
        );
        assert_eq!(
            round_to_tick(d("1.225"), d("0.05"), TickRounding::Nearest).unwrap(),
            d("1.25")
        );
        assert_eq!(
            round_to_tick(d("-0.42"), d("0.05"), TickRounding::Down).unwrap(),
            d("-0.45")
        );
        assert_eq!(
            price_on_tick(2.999, d("0.01"), TickRounding::Up).unwrap(),
            d("3")
        );
        assert!(round_to_tick(d("1"), d("0"), TickRounding::Up).is_err());
        assert!(price_on_tick(f64::NAN, d("0.01"), TickRounding::Up).is_err());
        assert_eq!(option_tick(d("2.99")), d("0.01"));
        assert_eq!(option_tick(d("3.00")), d("0.05"));
    }

    proptest! {
        #[test]
        fn results_are_on_the_grid_and_on_the_right_side(cents in -1_000_000i64..1_000_000, tick_cents in prop::sample::select(vec![1i64, 5, 10, 25])) {
            let value = Decimal::new(cents, 3);
            let tick = Decimal::new(tick_cents, 2);
            let down = round_to_tick(value, tick, TickRounding::Down).unwrap();
            let up = round_to_tick(value, tick, TickRounding::Up).unwrap();
            prop_assert!(down <= value && value <= up);
            prop_assert!(up - down <= tick);
            prop_assert_eq!((down / tick).fract(), Decimal::ZERO);
            prop_assert_eq!((up / tick).fract(), Decimal::ZERO);
        }
    }
}
