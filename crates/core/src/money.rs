//! Exact money. Everything that can reach an order, a fill or the journal is
//! a [`Price`] (per unit: per share for options and combos) or a [`Money`]
//! amount (account currency), both exact `rust_decimal` values.
//!
//! Pricing models work in f64; the only way from an f64 to a price is
//! [`Price::from_f64`], which makes the caller say how to round onto the
//! contract's [`Tick`]. Rounding for an order goes through
//! [`Price::round_for`]: a buy rounds down and a sell rounds up, so rounding
//! never makes the trader pay more or receive less than the price asked for.
//!
//! Serde: both types serialize as strings (`"1.25"`), because JSON numbers
//! are read as binary floats by most clients and would lose exactness. They
//! deserialize from a string, an integer, or a float (read through its
//! shortest decimal text, so `1.1` becomes exactly `1.1`).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::order::Side;

/// Which way to round onto the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickRounding {
    /// Toward minus infinity: what a buyer wants.
    Down,
    /// Toward plus infinity: what a seller wants.
    Up,
    /// To the nearest tick, ties away from zero: for display and marks, never
    /// for a limit price.
    Nearest,
}

impl TickRounding {
    /// The rounding that never worsens `side`'s price: down for a buy, up
    /// for a sell.
    pub fn favouring(side: Side) -> Self {
        match side {
            Side::Buy => TickRounding::Down,
            Side::Sell => TickRounding::Up,
        }
    }
}

/// Why a value could not become a price, an amount or a tick.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MoneyError {
    #[error("a tick size must be above 0 and at most 1000, got {0}")]
    BadTick(Decimal),
    #[error("{0} is not a finite number")]
    NotFinite(f64),
    #[error("{value} is out of range (magnitude at most {limit})")]
    OutOfRange { value: String, limit: Decimal },
    #[error("`{0}` is not a decimal number")]
    NotDecimal(String),
}

/// Largest magnitude accepted from untrusted input (text, f64, serde):
/// far above any real price or account, far below where decimal arithmetic
/// (price × quantity × multiplier) could overflow.
const INPUT_LIMIT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x38D7E, 0, false, 0); // 10^15

fn checked_input(value: Decimal, shown: impl fmt::Display) -> Result<Decimal, MoneyError> {
    if value.abs() > INPUT_LIMIT {
        Err(MoneyError::OutOfRange {
            value: shown.to_string(),
            limit: INPUT_LIMIT,
        })
    } else {
        Ok(value)
    }
}

fn parse_decimal(text: &str) -> Result<Decimal, MoneyError> {
    let parsed = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .map_err(|_| MoneyError::NotDecimal(text.to_string()))?;
    checked_input(parsed, text)
}

fn decimal_from_f64(value: f64) -> Result<Decimal, MoneyError> {
    if !value.is_finite() {
        return Err(MoneyError::NotFinite(value));
    }
    if value.abs() > 1e15 {
        return Err(MoneyError::OutOfRange {
            value: value.to_string(),
            limit: INPUT_LIMIT,
        });
    }
    // In range and finite, so the conversion cannot fail.
    Decimal::from_f64(value).ok_or(MoneyError::NotFinite(value))
}

/// A minimum price increment: positive and at most 1000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tick(Decimal);

impl Tick {
    /// One cent: stocks, and options under $3 (or all penny-pilot options).
    pub const PENNY: Tick = Tick(Decimal::from_parts(1, 0, 0, false, 2));
    /// Five cents: most US equity options at $3 and above.
    pub const NICKEL: Tick = Tick(Decimal::from_parts(5, 0, 0, false, 2));

    /// A tick as the gateway reports it (`minTick`); refused unless in
    /// (0, 1000], so rounding can never divide by zero.
    pub fn new(size: Decimal) -> Result<Self, MoneyError> {
        if size <= Decimal::ZERO || size > Decimal::ONE_THOUSAND {
            return Err(MoneyError::BadTick(size));
        }
        Ok(Tick(size.normalize()))
    }

    pub fn size(self) -> Decimal {
        self.0
    }

    /// IB's usual tick for a US equity option quoted at `price`: $0.05 at or
    /// above $3.00, $0.01 below. Penny-pilot names trade in pennies
    /// throughout; use the contract's reported min tick when known.
    pub fn for_option_price(price: Price) -> Tick {
        if price.0.abs() >= Decimal::from(3) {
            Tick::NICKEL
        } else {
            Tick::PENNY
        }
    }
}

impl<'de> Deserialize<'de> for Tick {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = d.deserialize_any(DecimalVisitor)?;
        Tick::new(value).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Tick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Rounds `value` onto multiples of `tick`. Works through the remainder, so
/// it cannot overflow for any value an input path accepts.
fn round_decimal(value: Decimal, tick: Tick, rounding: TickRounding) -> Decimal {
    let t = tick.0;
    // `%` truncates toward zero: `rem` has the sign of `value`, |rem| < t.
    let rem = value.checked_rem(t).unwrap_or(Decimal::ZERO);
    let toward_zero = value - rem;
    let away = |v: Decimal| {
        if value.is_sign_negative() {
            v.checked_sub(t).unwrap_or(v)
        } else {
            v.checked_add(t).unwrap_or(v)
        }
    };
    let rounded = if rem.is_zero() {
        toward_zero
    } else {
        match rounding {
            TickRounding::Down if value.is_sign_negative() => away(toward_zero),
            TickRounding::Down => toward_zero,
            TickRounding::Up if value.is_sign_negative() => toward_zero,
            TickRounding::Up => away(toward_zero),
            TickRounding::Nearest => {
                if rem.abs() * Decimal::TWO >= t {
                    away(toward_zero)
                } else {
                    toward_zero
                }
            }
        }
    };
    rounded.normalize()
}

/// A price per unit (per share for options and combos), exact. May be
/// negative: IB expresses a credit combo as a negative limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Price(Decimal);

impl Price {
    pub const ZERO: Price = Price(Decimal::ZERO);

    /// Wraps a trusted decimal (a literal, a value already checked). Text
    /// and floats from outside come in through [`FromStr`] and
    /// [`Price::from_f64`], which bound the magnitude.
    pub const fn new(value: Decimal) -> Self {
        Price(value)
    }

    /// An f64 from a model, rounded onto `tick` as the caller says. Refuses
    /// NaN, infinities and magnitudes above 10^15.
    pub fn from_f64(value: f64, tick: Tick, rounding: TickRounding) -> Result<Self, MoneyError> {
        Ok(Price(round_decimal(
            decimal_from_f64(value)?,
            tick,
            rounding,
        )))
    }

    /// The exact decimal, for the wire encoder and the journal.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// The nearest multiple of `tick` in the direction asked for.
    pub fn round_to(self, tick: Tick, rounding: TickRounding) -> Price {
        Price(round_decimal(self.0, tick, rounding))
    }

    /// Rounds a limit for `side` so the trader never does worse than
    /// `self`: a buy never pays more, a sell never receives less.
    pub fn round_for(self, side: Side, tick: Tick) -> Price {
        self.round_to(tick, TickRounding::favouring(side))
    }

    /// Whether the price is a whole number of ticks (the gateway rejects a
    /// limit that is not).
    pub fn is_on_tick(self, tick: Tick) -> bool {
        self.0.checked_rem(tick.0).is_some_and(|r| r.is_zero())
    }

    /// Cash value of `quantity` contracts of `multiplier` units at this
    /// price (e.g. 2 options at 1.25 × 100 = 250).
    pub fn notional(self, quantity: u32, multiplier: u32) -> Money {
        Money(self.0 * Decimal::from(quantity) * Decimal::from(multiplier))
    }

    pub fn abs(self) -> Price {
        Price(self.0.abs())
    }

    pub fn is_positive(self) -> bool {
        self.0 > Decimal::ZERO
    }

    /// An f64 for analytics (never the way back to an order).
    pub fn to_f64(self) -> f64 {
        rust_decimal::prelude::ToPrimitive::to_f64(&self.0).unwrap_or(f64::NAN)
    }
}

/// An amount of account currency (P&L, commissions, notional), exact and
/// signed. Money carries no currency of its own: a vspread instance trades
/// one account in one currency (USD), and contracts carry their currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Wraps a trusted decimal; untrusted text goes through [`FromStr`].
    pub const fn new(value: Decimal) -> Self {
        Money(value)
    }

    /// An f64 amount (e.g. a what-if margin), rounded to the cent as asked.
    pub fn from_f64(value: f64, rounding: TickRounding) -> Result<Self, MoneyError> {
        Ok(Money(round_decimal(
            decimal_from_f64(value)?,
            Tick::PENNY,
            rounding,
        )))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// Rounded to whole cents, half away from zero: for display and
    /// reports; keep the exact value for sums.
    pub fn round_cents(self) -> Money {
        Money(round_decimal(self.0, Tick::PENNY, TickRounding::Nearest))
    }

    pub fn abs(self) -> Money {
        Money(self.0.abs())
    }

    pub fn is_negative(self) -> bool {
        self.0 < Decimal::ZERO
    }
}

macro_rules! decimal_newtype_impls {
    ($t:ident) => {
        impl Add for $t {
            type Output = $t;
            fn add(self, rhs: $t) -> $t {
                $t(self.0 + rhs.0)
            }
        }
        impl Sub for $t {
            type Output = $t;
            fn sub(self, rhs: $t) -> $t {
                $t(self.0 - rhs.0)
            }
        }
        impl AddAssign for $t {
            fn add_assign(&mut self, rhs: $t) {
                self.0 += rhs.0;
            }
        }
        impl SubAssign for $t {
            fn sub_assign(&mut self, rhs: $t) {
                self.0 -= rhs.0;
            }
        }
        impl Neg for $t {
            type Output = $t;
            fn neg(self) -> $t {
                $t(-self.0)
            }
        }
        impl Sum for $t {
            fn sum<I: Iterator<Item = $t>>(iter: I) -> $t {
                $t(iter.map(|v| v.0).sum())
            }
        }
        impl fmt::Display for $t {
            /// The exact value without trailing zeros (`1.2`, not `1.20`).
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.normalize(), f)
            }
        }
        impl FromStr for $t {
            type Err = MoneyError;
            /// Plain or scientific decimal text, magnitude at most 10^15.
            fn from_str(s: &str) -> Result<Self, MoneyError> {
                parse_decimal(s).map($t)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0.normalize())
            }
        }
        // Written as decimal text, like every exact amount in the API.
        impl schemars::JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "Decimal".into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                Decimal::json_schema(generator)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(DecimalVisitor).map($t)
            }
        }
    };
}

decimal_newtype_impls!(Price);
decimal_newtype_impls!(Money);

/// Reads a decimal from a string, an integer or a float.
struct DecimalVisitor;

impl serde::de::Visitor<'_> for DecimalVisitor {
    type Value = Decimal;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number as a string or a number")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Decimal, E> {
        parse_decimal(v).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Decimal, E> {
        checked_input(Decimal::from(v), v).map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Decimal, E> {
        checked_input(Decimal::from(v), v).map_err(E::custom)
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Decimal, E> {
        if !v.is_finite() {
            return Err(E::custom(MoneyError::NotFinite(v)));
        }
        // Shortest text that reads back as `v`: what a person wrote.
        parse_decimal(&v.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
#[path = "money_tests.rs"]
mod tests;
