//! From a scanned spread to the contracts and prices that trade it.
//!
//! The scanner ranks in f64; an order needs the legs' contracts and exact
//! prices. [`QuotedSpread::from_row`] finds the row's two legs in the
//! acquired chain by the identity the row carries (the line each leg was
//! pushed with, never a float comparison of strikes), with the quotes the
//! row was built from, and works out the combo's mid and natural net prices
//! in exact decimals from those same quotes, so the price an order starts
//! at is the price the scanner saw, to the cent.

use rust_decimal::Decimal;
use vspread_analytics::scanner::SpreadRow;
use vspread_core::{NetPrice, Quote, SpreadKind, Tick, VerticalSpread};

use crate::chain_acquisition::{AcquiredChain, AcquiredLeg};

/// A scanned spread with its legs resolved and quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotedSpread {
    pub spread: VerticalSpread,
    pub long: AcquiredLeg,
    pub short: AcquiredLeg,
}

/// A non-negative amount as the net price of the kind's side.
fn net(debit: bool, amount: Decimal) -> NetPrice {
    if debit {
        NetPrice::Debit(amount)
    } else {
        NetPrice::Credit(amount)
    }
}

/// The mid and natural net prices of opening a `kind` spread at the legs'
/// quotes `long` and `short`; `None` when a side is missing or either
/// price is not positive.
pub fn opening_prices(
    kind: SpreadKind,
    long: &Quote,
    short: &Quote,
) -> Option<(NetPrice, NetPrice)> {
    let (l, s) = (long.mid()?, short.mid()?);
    let debit = kind.is_debit();
    let mid = if debit { l - s } else { s - l };
    let natural = if debit {
        long.ask? - short.bid?
    } else {
        short.bid? - long.ask?
    };
    (mid > Decimal::ZERO && natural > Decimal::ZERO).then(|| (net(debit, mid), net(debit, natural)))
}

impl QuotedSpread {
    /// The row's legs from `chain`; `None` if either is missing (a row of
    /// another chain) or they do not make the row's kind of vertical.
    pub fn from_row(row: &SpreadRow, chain: &AcquiredChain) -> Option<Self> {
        let long = chain.leg_at(row.long_line)?.clone();
        let short = chain.leg_at(row.short_line)?.clone();
        let spread = VerticalSpread::from_legs(
            row.kind,
            long.contract.option()?.clone(),
            short.contract.option()?.clone(),
        )
        .ok()?;
        Some(Self {
            spread,
            long,
            short,
        })
    }

    /// Mid and natural net prices at the quotes the scan used.
    pub fn scanned_prices(&self) -> Option<(NetPrice, NetPrice)> {
        opening_prices(self.spread.kind(), &self.long.quote, &self.short.quote)
    }

    /// The coarser of the legs' ticks: every combo price sits on it.
    pub fn tick(&self) -> Tick {
        Tick::new(
            self.long
                .contract
                .min_tick
                .max(self.short.contract.min_tick),
        )
        .unwrap_or(Tick::PENNY)
    }
}
