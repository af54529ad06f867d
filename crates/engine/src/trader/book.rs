//! The spreads the trader holds, each with what it was opened on, and the
//! conversions between the order's view of a spread (legs by conId, as the
//! broker sends it) and the position's (contracts with exact strikes).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::broker::{self, NetPrice, OrderFills};
use vspread_core::{
    Money, OptionContract, OrderPurpose, OrderRef, Price, SpreadFill, SpreadPosition,
    VerticalSpread,
};

use crate::exits::EntryContext;

/// One open (or just closed) spread and its history.
#[derive(Debug, Clone)]
pub struct HeldSpread {
    /// The decision that opened it (its entry order's reference).
    pub entry_ref: String,
    /// As the broker trades it.
    pub order_spread: broker::VerticalSpread,
    /// The legs' contracts, for quotes.
    pub long_contract: broker::ContractInfo,
    pub short_contract: broker::ContractInfo,
    pub position: SpreadPosition,
    pub entry: EntryContext,
    /// Entry net per share and spreads opened, for the trade's R.
    pub entry_net: Price,
    pub opened: u32,
    /// Exit orders sent so far (numbers their references).
    pub exit_attempts: u32,
}

/// The position's view of an order's spread.
pub fn position_spread(s: &broker::VerticalSpread) -> Option<VerticalSpread> {
    let contract = |leg: &broker::SpreadLeg| {
        OptionContract::builder()
            .underlying(s.underlying.clone())
            .expiry(leg.expiry)
            .strike(Price::new(leg.strike))
            .right(leg.right)
            .multiplier(100)
            .currency(s.currency.clone())
            .con_id(leg.con_id)
            .build()
            .ok()
    };
    VerticalSpread::from_legs(s.kind, contract(&s.long)?, contract(&s.short)?).ok()
}

fn amount(p: NetPrice) -> Decimal {
    match p {
        NetPrice::Debit(d) | NetPrice::Credit(d) => d,
    }
}

/// The spread-level fill of a driven order: spreads filled, the average
/// net per share (from the combo-level executions, whose price is the net
/// in the order's sign convention), and every commission.
pub fn spread_fill(
    fills: &OrderFills,
    purpose: OrderPurpose,
    order_ref: &str,
    time: chrono::DateTime<chrono::Utc>,
) -> Option<SpreadFill> {
    let quantity = fills.executed_quantity();
    let net = fills.order.average_price()?.abs();
    let quantity = quantity.trunc().to_u32()?;
    Some(SpreadFill {
        order_ref: OrderRef::parse(order_ref).ok()?,
        purpose,
        quantity,
        net: Price::new(net),
        commissions: Money::new(fills.commissions),
        time,
    })
}

/// A limit's amount per share, whichever side it is on.
pub fn net_amount(p: NetPrice) -> Decimal {
    amount(p)
}
