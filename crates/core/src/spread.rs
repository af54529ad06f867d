//! A vertical spread as an instrument: one option bought and one sold, same
//! underlying, expiry and right, different strikes, in one of the four kinds
//! of the scanner spec.
//!
//! Construction checks what makes two options a vertical of a given kind, so
//! code holding a [`VerticalSpread`] never re-checks strike order. Prices
//! follow the spec's convention: a *net price* is the positive amount per
//! share paid (debit kinds) or received (credit kinds) to open; the per-share
//! formulas live in [`crate::spread_economics`], this type adds contract
//! multipliers and exact [`Money`].
//!
//! Quantity is not part of the spread: an order intent and a position each
//! say how many spreads they hold.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::contract::OptionContract;
use crate::money::{Money, Price};
use crate::quote::Quote;
use crate::spread_economics::{self, SpreadEconomics};
use crate::{Direction, Right, SpreadKind};

/// Why two options do not make the vertical asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpreadError {
    #[error("legs differ in {what}: {first} vs {second}")]
    DifferentSeries {
        what: &'static str,
        first: String,
        second: String,
    },
    #[error("a {kind} spread is built from {expected} options, the legs are {found}")]
    WrongRight {
        kind: SpreadKind,
        expected: Right,
        found: Right,
    },
    #[error("a {kind} spread buys the {long_side} strike: long {long}, short {short}")]
    StrikeOrder {
        kind: SpreadKind,
        long_side: &'static str,
        long: Price,
        short: Price,
    },
    #[error(transparent)]
    NetPrice(#[from] spread_economics::EconomicsError),
}

/// One vertical spread (per spread: one long and one short contract).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SpreadFields", into = "SpreadFields")]
pub struct VerticalSpread {
    kind: SpreadKind,
    long: OptionContract,
    short: OptionContract,
}

impl VerticalSpread {
    /// From the option bought and the option sold, checking they are the
    /// same series, of the kind's right, with strikes in the kind's order.
    pub fn from_legs(
        kind: SpreadKind,
        long: OptionContract,
        short: OptionContract,
    ) -> Result<Self, SpreadError> {
        check_series(&long, &short)?;
        if long.right() != kind.right() {
            return Err(SpreadError::WrongRight {
                kind,
                expected: kind.right(),
                found: long.right(),
            });
        }
        let ordered = if kind.long_is_low_strike() {
            long.strike() < short.strike()
        } else {
            long.strike() > short.strike()
        };
        if !ordered {
            return Err(SpreadError::StrikeOrder {
                kind,
                long_side: if kind.long_is_low_strike() {
                    "lower"
                } else {
                    "higher"
                },
                long: long.strike(),
                short: short.strike(),
            });
        }
        Ok(Self { kind, long, short })
    }

    /// From a scanner-style pair (the lower and the higher strike): the
    /// kind decides which is bought.
    pub fn from_strikes(
        kind: SpreadKind,
        low: OptionContract,
        high: OptionContract,
    ) -> Result<Self, SpreadError> {
        if kind.long_is_low_strike() {
            Self::from_legs(kind, low, high)
        } else {
            Self::from_legs(kind, high, low)
        }
    }

    pub fn kind(&self) -> SpreadKind {
        self.kind
    }
    /// The option bought.
    pub fn long(&self) -> &OptionContract {
        &self.long
    }
    /// The option sold.
    pub fn short(&self) -> &OptionContract {
        &self.short
    }
    pub fn underlying(&self) -> &str {
        self.long.underlying()
    }
    pub fn expiry(&self) -> NaiveDate {
        self.long.expiry()
    }
    pub fn right(&self) -> Right {
        self.kind.right()
    }
    pub fn direction(&self) -> Direction {
        self.kind.direction()
    }
    /// Debit spreads pay to open; credit spreads are paid.
    pub fn is_debit(&self) -> bool {
        self.kind.is_debit()
    }
    pub fn multiplier(&self) -> u32 {
        self.long.multiplier()
    }
    pub fn low_strike(&self) -> Price {
        self.long.strike().min(self.short.strike())
    }
    pub fn high_strike(&self) -> Price {
        self.long.strike().max(self.short.strike())
    }
    /// High strike minus low strike, per share.
    pub fn width(&self) -> Price {
        self.high_strike() - self.low_strike()
    }

    /// Per-share economics at a net price (paid for debit kinds, received
    /// for credit kinds); refused unless `0 < net < width`.
    pub fn economics(&self, net: Price) -> Result<SpreadEconomics, SpreadError> {
        Ok(SpreadEconomics::new(
            self.kind,
            self.low_strike().value(),
            self.high_strike().value(),
            net.value(),
        )?)
    }

    /// Most one spread can make, in money, when opened at `net`.
    pub fn max_profit(&self, net: Price) -> Result<Money, SpreadError> {
        let e = self.economics(net)?;
        Ok(Price::new(e.max_profit()).notional(1, self.multiplier()))
    }

    /// Most one spread can lose, in money, when opened at `net`.
    pub fn max_loss(&self, net: Price) -> Result<Money, SpreadError> {
        let e = self.economics(net)?;
        Ok(Price::new(e.max_loss()).notional(1, self.multiplier()))
    }

    /// The underlying price at which the spread breaks even at expiry.
    pub fn breakeven(&self, net: Price) -> Result<Price, SpreadError> {
        Ok(Price::new(self.economics(net)?.breakeven()))
    }

    /// The mid net price from the legs' quotes (spec: debit
    /// `mid_long - mid_short`, credit `mid_short - mid_long`); `None`
    /// unless both legs are two-sided.
    pub fn mid_net(&self, long: &Quote, short: &Quote) -> Option<Price> {
        Some(self.signed(Price::new(long.mid()? - short.mid()?)))
    }

    /// The net price at the other side's quotes, what crossing the market
    /// costs (spec: debit `ask_long - bid_short`, credit
    /// `bid_short - ask_long`).
    pub fn natural_net(&self, long: &Quote, short: &Quote) -> Option<Price> {
        if self.is_debit() {
            Some(Price::new(long.ask? - short.bid?))
        } else {
            Some(Price::new(short.bid? - long.ask?))
        }
    }

    /// `long - short` per share, expressed as this kind's net price.
    pub(crate) fn signed(&self, long_minus_short: Price) -> Price {
        if self.is_debit() {
            long_minus_short
        } else {
            -long_minus_short
        }
    }
}

fn check_series(a: &OptionContract, b: &OptionContract) -> Result<(), SpreadError> {
    let differ = |what, first: String, second: String| {
        Err(SpreadError::DifferentSeries {
            what,
            first,
            second,
        })
    };
    if a.underlying() != b.underlying() {
        return differ("underlying", a.underlying().into(), b.underlying().into());
    }
    if a.expiry() != b.expiry() {
        return differ("expiry", a.expiry().to_string(), b.expiry().to_string());
    }
    if a.right() != b.right() {
        return differ("right", a.right().to_string(), b.right().to_string());
    }
    if a.multiplier() != b.multiplier() {
        return differ(
            "multiplier",
            a.multiplier().to_string(),
            b.multiplier().to_string(),
        );
    }
    if a.currency() != b.currency() {
        return differ("currency", a.currency().into(), b.currency().into());
    }
    debug_assert!(a.same_series(b));
    Ok(())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpreadFields {
    kind: SpreadKind,
    long: OptionContract,
    short: OptionContract,
}

impl TryFrom<SpreadFields> for VerticalSpread {
    type Error = SpreadError;
    fn try_from(f: SpreadFields) -> Result<Self, SpreadError> {
        VerticalSpread::from_legs(f.kind, f.long, f.short)
    }
}

impl From<VerticalSpread> for SpreadFields {
    fn from(s: VerticalSpread) -> Self {
        SpreadFields {
            kind: s.kind,
            long: s.long,
            short: s.short,
        }
    }
}

#[cfg(test)]
#[path = "spread_tests.rs"]
mod tests;
