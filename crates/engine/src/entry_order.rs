//! From a scanned spread to the combo order that opens it.
//!
//! The scanner ranks in f64; an order needs the legs' contracts and exact
//! prices. [`QuotedSpread::from_row`] finds the row's two legs in the
//! acquired chain (their contracts and the quotes the row was built from)
//! and works out the combo's mid and natural net prices in exact decimals
//! from those same quotes, so the price an order starts at is the price
//! the scanner saw, to the cent.

use rust_decimal::Decimal;
use vspread_analytics::scanner::SpreadRow;
use vspread_core::SpreadKind;
use vspread_core::broker::{
    NetPrice, OpenClose, OrderRequest, OrderTarget, Quote, SpreadLeg, TimeInForce, VerticalSpread,
};

use crate::chain_acquisition::{AcquiredChain, AcquiredLeg};

/// A scanned spread with its legs resolved and quoted.
#[derive(Debug, Clone, PartialEq)]
pub struct QuotedSpread {
    pub spread: VerticalSpread,
    pub long: AcquiredLeg,
    pub short: AcquiredLeg,
}

fn leg(l: &AcquiredLeg) -> SpreadLeg {
    SpreadLeg {
        con_id: l.contract.con_id,
        strike: l.option.strike,
        right: l.option.right,
        expiry: l.option.expiry,
    }
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
    /// another chain).
    pub fn from_row(row: &SpreadRow, chain: &AcquiredChain) -> Option<Self> {
        let right = row.kind.right();
        let long = chain.leg(row.expiry, row.long_strike, right)?.clone();
        let short = chain.leg(row.expiry, row.short_strike, right)?.clone();
        let currency = long.contract.currency.clone();
        Some(Self {
            spread: VerticalSpread {
                underlying: row.underlying.clone(),
                kind: row.kind,
                long: leg(&long),
                short: leg(&short),
                currency,
            },
            long,
            short,
        })
    }

    /// Per-share mid net price: for a debit kind the long leg's mid less
    /// the short leg's, for a credit kind the reverse. `None` when a side
    /// is missing or the result is not positive.
    pub fn mid(&self) -> Option<NetPrice> {
        opening_prices(self.spread.kind, &self.long.quote, &self.short.quote).map(|(mid, _)| mid)
    }

    /// Per-share natural net price (crossing both legs' spreads): a debit
    /// pays the long ask and receives the short bid; a credit receives the
    /// short bid and pays the long ask.
    pub fn natural(&self) -> Option<NetPrice> {
        opening_prices(self.spread.kind, &self.long.quote, &self.short.quote)
            .map(|(_, natural)| natural)
    }

    /// The opening order for `quantity` spreads at `price`, under
    /// `order_ref` (which must name the decision that made it).
    pub fn opening_order(&self, order_ref: &str, quantity: u32, price: NetPrice) -> OrderRequest {
        OrderRequest {
            order_ref: order_ref.to_string(),
            target: OrderTarget::Vertical {
                spread: self.spread.clone(),
                intent: OpenClose::Open,
                price,
            },
            quantity,
            tif: TimeInForce::Day,
        }
    }
}
