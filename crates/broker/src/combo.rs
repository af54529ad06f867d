//! A vertical spread as IB's combo (BAG) order, following the combo rules
//! (`docs/wire-protocol.md`, "Combos and limit prices"), checked before
//! anything is sent.
//!
//! The combo is always defined as opened: the long leg BUY, the short leg
//! SELL, ratio 1 each, SMART. Its price is Σ(bought legs) − Σ(sold legs):
//!
//! | intent | order | price given | limit sent |
//! |---|---|---|---|
//! | open  | BUY  | debit d (debit kinds)  | +d |
//! | open  | BUY  | credit c (credit kinds) | −c |
//! | close | SELL | credit c (debit kinds: receive) | +c |
//! | close | SELL | debit d (credit kinds: pay) | −d |
//!
//! A BUY fills at or below its limit and a SELL at or above, so a −c limit
//! on a credit open means "receive at least c".

use rust_decimal::Decimal;
use vspread_core::{NetPrice, OrderPurpose, Side, VerticalSpread};

/// One leg of a BAG contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagLeg {
    pub con_id: i64,
    pub ratio: u32,
    pub action: Side,
    pub exchange: &'static str,
}

/// A checked BAG order: contract and the signed limit price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagOrder {
    pub symbol: String,
    pub currency: String,
    pub exchange: &'static str,
    pub legs: [BagLeg; 2],
    pub action: Side,
    pub limit: Decimal,
}

/// Why a vertical cannot be sent as a combo. The spread's shape (one
/// series, the kind's right, strikes in the kind's order) is guaranteed by
/// [`VerticalSpread`] itself; what is left to check is what the gateway
/// needs and the price.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComboError {
    #[error("the {leg} leg has no conId: resolve it with the gateway first")]
    MissingConId { leg: &'static str },
    #[error("legs must be two different contracts (both conId {0})")]
    SameLeg(i64),
    #[error("leg conIds must be positive (got {0})")]
    BadConId(i64),
    #[error("{what} price must be positive, got {price}")]
    NonPositivePrice { what: &'static str, price: Decimal },
    #[error("{price_kind} price does not fit {intent} a {kind} (expected a {expected})")]
    PriceSide {
        price_kind: &'static str,
        intent: &'static str,
        kind: &'static str,
        expected: &'static str,
    },
    #[error("a {kind} {width} wide cannot trade at {price} (more than its width)")]
    PriceAboveWidth {
        kind: &'static str,
        width: Decimal,
        price: Decimal,
    },
}

/// Checks the spread and builds its BAG order.
pub fn bag_order(
    spread: &VerticalSpread,
    purpose: OrderPurpose,
    price: NetPrice,
) -> Result<BagOrder, ComboError> {
    let kind = spread.kind();
    let con_id = |leg: &'static str, c: &vspread_core::OptionContract| {
        let id = c.con_id().ok_or(ComboError::MissingConId { leg })?.0;
        if id <= 0 {
            return Err(ComboError::BadConId(id));
        }
        Ok(id)
    };
    let (long, short) = (
        con_id("long", spread.long())?,
        con_id("short", spread.short())?,
    );
    if long == short {
        return Err(ComboError::SameLeg(long));
    }
    let (price_kind, amount) = match price {
        NetPrice::Debit(d) => ("debit", d),
        NetPrice::Credit(c) => ("credit", c),
    };
    // Closing a worthless spread at zero is fine; opening at zero is not.
    let zero_ok = !purpose.opens();
    if amount < Decimal::ZERO || (amount.is_zero() && !zero_ok) {
        return Err(ComboError::NonPositivePrice {
            what: price_kind,
            price: amount,
        });
    }
    let width = spread.width().value();
    if amount > width {
        return Err(ComboError::PriceAboveWidth {
            kind: kind.name(),
            width,
            price: amount,
        });
    }
    // Opening a debit kind pays; closing it receives. Credit kinds the reverse.
    let pays = kind.is_debit() == purpose.opens();
    let expected = if pays { "debit" } else { "credit" };
    if expected != price_kind {
        return Err(ComboError::PriceSide {
            price_kind,
            intent: if purpose.opens() {
                "opening"
            } else {
                "closing"
            },
            kind: kind.name(),
            expected,
        });
    }
    let (action, limit) = match (purpose.opens(), price) {
        (true, NetPrice::Debit(d)) => (Side::Buy, d),
        (true, NetPrice::Credit(c)) => (Side::Buy, -c),
        (false, NetPrice::Credit(c)) => (Side::Sell, c),
        (false, NetPrice::Debit(d)) => (Side::Sell, -d),
    };
    let leg = |con_id, action| BagLeg {
        con_id,
        ratio: 1,
        action,
        exchange: "SMART",
    };
    Ok(BagOrder {
        symbol: spread.underlying().to_string(),
        currency: spread.long().currency().to_string(),
        exchange: "SMART",
        legs: [leg(long, Side::Buy), leg(short, Side::Sell)],
        action,
        limit,
    })
}

/// The net price a signed BAG limit stands for, for a given order action
/// (the inverse of [`bag_order`]'s price mapping).
pub fn net_price_of(action: Side, limit: Decimal) -> NetPrice {
    match (action, limit >= Decimal::ZERO) {
        (Side::Buy, true) => NetPrice::Debit(limit),
        (Side::Buy, false) => NetPrice::Credit(-limit),
        (Side::Sell, true) => NetPrice::Credit(limit),
        (Side::Sell, false) => NetPrice::Debit(-limit),
    }
}

/// The signed limit for a new net price of an existing combo order.
pub fn signed_limit(action: Side, price: NetPrice) -> Decimal {
    match (action, price) {
        (Side::Buy, NetPrice::Debit(d)) => d,
        (Side::Buy, NetPrice::Credit(c)) => -c,
        (Side::Sell, NetPrice::Credit(c)) => c,
        (Side::Sell, NetPrice::Debit(d)) => -d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use vspread_core::{ConId, OptionContract, Right, SpreadKind};

    fn dec(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    fn leg(con_id: Option<i64>, strike: &str, right: Right) -> OptionContract {
        let b = OptionContract::builder()
            .underlying("SPY")
            .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
            .strike(strike.parse().unwrap())
            .right(right);
        match con_id {
            Some(id) => b.con_id(ConId(id)),
            None => b,
        }
        .build()
        .unwrap()
    }

    fn spread_with(
        kind: SpreadKind,
        long: (Option<i64>, &str),
        short: (Option<i64>, &str),
    ) -> VerticalSpread {
        VerticalSpread::from_legs(
            kind,
            leg(long.0, long.1, kind.right()),
            leg(short.0, short.1, kind.right()),
        )
        .unwrap()
    }

    fn spread(kind: SpreadKind, long: &str, short: &str) -> VerticalSpread {
        spread_with(kind, (Some(11), long), (Some(12), short))
    }

    #[test]
    fn debit_open_is_a_buy_at_a_positive_limit() {
        let s = spread(SpreadKind::BullCall, "600", "605");
        let bag = bag_order(&s, OrderPurpose::Entry, NetPrice::Debit(dec("2.15"))).unwrap();
        assert_eq!(bag.action, Side::Buy);
        assert_eq!(bag.limit, dec("2.15"));
        assert_eq!(bag.symbol, "SPY");
        assert_eq!(bag.currency, "USD");
        assert_eq!(bag.exchange, "SMART");
        assert_eq!(bag.legs[0].con_id, 11);
        assert_eq!(bag.legs[0].action, Side::Buy);
        assert_eq!(bag.legs[1].con_id, 12);
        assert_eq!(bag.legs[1].action, Side::Sell);
        assert!(
            bag.legs
                .iter()
                .all(|l| l.ratio == 1 && l.exchange == "SMART")
        );
    }

    #[test]
    fn credit_open_is_a_buy_at_a_negative_limit() {
        // Bull put: buy the lower put, sell the higher one, receive a credit.
        let s = spread(SpreadKind::BullPut, "590", "595");
        let bag = bag_order(&s, OrderPurpose::Entry, NetPrice::Credit(dec("1.40"))).unwrap();
        assert_eq!(bag.action, Side::Buy);
        assert_eq!(bag.limit, dec("-1.40"));
        assert_eq!(
            net_price_of(bag.action, bag.limit),
            NetPrice::Credit(dec("1.40"))
        );
    }

    #[test]
    fn closes_are_sells_with_the_sign_of_the_cash_flow() {
        let debit = spread(SpreadKind::BearPut, "605", "600");
        let bag = bag_order(&debit, OrderPurpose::Exit, NetPrice::Credit(dec("3.00"))).unwrap();
        assert_eq!((bag.action, bag.limit), (Side::Sell, dec("3.00")));
        let credit = spread(SpreadKind::BearCall, "610", "605");
        let bag = bag_order(&credit, OrderPurpose::Exit, NetPrice::Debit(dec("0.35"))).unwrap();
        assert_eq!((bag.action, bag.limit), (Side::Sell, dec("-0.35")));
        assert_eq!(
            signed_limit(Side::Sell, NetPrice::Debit(dec("0.30"))),
            dec("-0.30")
        );
        // Closing a worthless spread at zero is allowed.
        assert!(bag_order(&debit, OrderPurpose::Exit, NetPrice::Credit(Decimal::ZERO)).is_ok());
    }

    #[test]
    fn wrong_prices_and_unresolved_legs_are_refused_before_sending() {
        let s = spread(SpreadKind::BullCall, "600", "605");
        assert!(matches!(
            bag_order(&s, OrderPurpose::Entry, NetPrice::Credit(dec("1"))),
            Err(ComboError::PriceSide { .. })
        ));
        assert!(matches!(
            bag_order(&s, OrderPurpose::Entry, NetPrice::Debit(dec("5.01"))),
            Err(ComboError::PriceAboveWidth { .. })
        ));
        assert!(matches!(
            bag_order(&s, OrderPurpose::Entry, NetPrice::Debit(Decimal::ZERO)),
            Err(ComboError::NonPositivePrice { .. })
        ));
        let same = spread_with(SpreadKind::BullCall, (Some(11), "600"), (Some(11), "605"));
        assert_eq!(
            bag_order(&same, OrderPurpose::Entry, NetPrice::Debit(dec("1"))),
            Err(ComboError::SameLeg(11))
        );
        let unresolved = spread_with(SpreadKind::BullCall, (Some(11), "600"), (None, "605"));
        assert_eq!(
            bag_order(&unresolved, OrderPurpose::Entry, NetPrice::Debit(dec("1"))),
            Err(ComboError::MissingConId { leg: "short" })
        );
        let negative = spread_with(SpreadKind::BullCall, (Some(-3), "600"), (Some(12), "605"));
        assert_eq!(
            bag_order(&negative, OrderPurpose::Entry, NetPrice::Debit(dec("1"))),
            Err(ComboError::BadConId(-3))
        );
    }
}
