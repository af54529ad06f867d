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
use vspread_core::broker::{NetPrice, OpenClose, OrderAction, VerticalSpread};

/// One leg of a BAG contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagLeg {
    pub con_id: i64,
    pub ratio: u32,
    pub action: OrderAction,
    pub exchange: &'static str,
}

/// A checked BAG order: contract and the signed limit price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagOrder {
    pub symbol: String,
    pub currency: String,
    pub exchange: &'static str,
    pub legs: [BagLeg; 2],
    pub action: OrderAction,
    pub limit: Decimal,
}

/// Why a vertical cannot be sent as a combo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComboError {
    #[error("legs must be two different contracts (both conId {0})")]
    SameLeg(i64),
    #[error("leg conIds must be positive (got {0})")]
    BadConId(i64),
    #[error("legs must share the right of a {kind} ({long}/{short})")]
    RightMismatch {
        kind: &'static str,
        long: &'static str,
        short: &'static str,
    },
    #[error("legs must share one expiry ({long} vs {short})")]
    ExpiryMismatch { long: String, short: String },
    #[error("legs must have different strikes (both {0})")]
    SameStrike(Decimal),
    #[error(
        "a {kind} buys the {expected} strike: long {long} / short {short} is the other way round"
    )]
    StrikeOrder {
        kind: &'static str,
        expected: &'static str,
        long: Decimal,
        short: Decimal,
    },
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
    intent: OpenClose,
    price: NetPrice,
) -> Result<BagOrder, ComboError> {
    let kind = spread.kind;
    let (long, short) = (&spread.long, &spread.short);
    for c in [long.con_id.0, short.con_id.0] {
        if c <= 0 {
            return Err(ComboError::BadConId(c));
        }
    }
    if long.con_id == short.con_id {
        return Err(ComboError::SameLeg(long.con_id.0));
    }
    if long.right != kind.right() || short.right != kind.right() {
        return Err(ComboError::RightMismatch {
            kind: kind.name(),
            long: long.right.code(),
            short: short.right.code(),
        });
    }
    if long.expiry != short.expiry {
        return Err(ComboError::ExpiryMismatch {
            long: long.expiry.to_string(),
            short: short.expiry.to_string(),
        });
    }
    if long.strike == short.strike {
        return Err(ComboError::SameStrike(long.strike));
    }
    if kind.long_is_low_strike() != (long.strike < short.strike) {
        return Err(ComboError::StrikeOrder {
            kind: kind.name(),
            expected: if kind.long_is_low_strike() {
                "lower"
            } else {
                "higher"
            },
            long: long.strike,
            short: short.strike,
        });
    }
    let (price_kind, amount) = match price {
        NetPrice::Debit(d) => ("debit", d),
        NetPrice::Credit(c) => ("credit", c),
    };
    // Closing a worthless spread at zero is fine; opening at zero is not.
    let zero_ok = intent == OpenClose::Close;
    if amount < Decimal::ZERO || (amount.is_zero() && !zero_ok) {
        return Err(ComboError::NonPositivePrice {
            what: price_kind,
            price: amount,
        });
    }
    let width = (long.strike - short.strike).abs();
    if amount > width {
        return Err(ComboError::PriceAboveWidth {
            kind: kind.name(),
            width,
            price: amount,
        });
    }
    // Opening a debit kind pays; closing it receives. Credit kinds the reverse.
    let pays = kind.is_debit() == (intent == OpenClose::Open);
    let expected = if pays { "debit" } else { "credit" };
    if expected != price_kind {
        return Err(ComboError::PriceSide {
            price_kind,
            intent: match intent {
                OpenClose::Open => "opening",
                OpenClose::Close => "closing",
            },
            kind: kind.name(),
            expected,
        });
    }
    let (action, limit) = match (intent, price) {
        (OpenClose::Open, NetPrice::Debit(d)) => (OrderAction::Buy, d),
        (OpenClose::Open, NetPrice::Credit(c)) => (OrderAction::Buy, -c),
        (OpenClose::Close, NetPrice::Credit(c)) => (OrderAction::Sell, c),
        (OpenClose::Close, NetPrice::Debit(d)) => (OrderAction::Sell, -d),
    };
    Ok(BagOrder {
        symbol: spread.underlying.clone(),
        currency: spread.currency.clone(),
        exchange: "SMART",
        legs: [
            BagLeg {
                con_id: long.con_id.0,
                ratio: 1,
                action: OrderAction::Buy,
                exchange: "SMART",
            },
            BagLeg {
                con_id: short.con_id.0,
                ratio: 1,
                action: OrderAction::Sell,
                exchange: "SMART",
            },
        ],
        action,
        limit,
    })
}

/// The net price a signed BAG limit stands for, for a given order action
/// (the inverse of [`bag_order`]'s price mapping).
pub fn net_price_of(action: OrderAction, limit: Decimal) -> NetPrice {
    match (action, limit >= Decimal::ZERO) {
        (OrderAction::Buy, true) => NetPrice::Debit(limit),
        (OrderAction::Buy, false) => NetPrice::Credit(-limit),
        (OrderAction::Sell, true) => NetPrice::Credit(limit),
        (OrderAction::Sell, false) => NetPrice::Debit(-limit),
    }
}

/// The signed limit for a new net price of an existing combo order.
pub fn signed_limit(action: OrderAction, price: NetPrice) -> Decimal {
    match (action, price) {
        (OrderAction::Buy, NetPrice::Debit(d)) => d,
        (OrderAction::Buy, NetPrice::Credit(c)) => -c,
        (OrderAction::Sell, NetPrice::Credit(c)) => c,
        (OrderAction::Sell, NetPrice::Debit(d)) => -d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use vspread_core::broker::{ConId, SpreadLeg};
    use vspread_core::{Right, SpreadKind};

    fn dec(s: &str) -> Decimal {
        s.parse().expect("test decimal")
    }

    fn leg(con_id: i64, strike: &str, right: Right) -> SpreadLeg {
        SpreadLeg {
            con_id: ConId(con_id),
            strike: dec(strike),
            right,
            expiry: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
        }
    }

    fn spread(kind: SpreadKind, long: &str, short: &str) -> VerticalSpread {
        VerticalSpread {
            underlying: "SPY".into(),
            kind,
            long: leg(11, long, kind.right()),
            short: leg(12, short, kind.right()),
            currency: "USD".into(),
        }
    }

    #[test]
    fn debit_open_is_a_buy_at_a_positive_limit() {
        let s = spread(SpreadKind::BullCall, "600", "605");
        let bag = bag_order(&s, OpenClose::Open, NetPrice::Debit(dec("2.15"))).unwrap();
        assert_eq!(bag.action, OrderAction::Buy);
        assert_eq!(bag.limit, dec("2.15"));
        assert_eq!(bag.symbol, "SPY");
        assert_eq!(bag.exchange, "SMART");
        assert_eq!(bag.legs[0].con_id, 11);
        assert_eq!(bag.legs[0].action, OrderAction::Buy);
        assert_eq!(bag.legs[1].con_id, 12);
        assert_eq!(bag.legs[1].action, OrderAction::Sell);
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
        let bag = bag_order(&s, OpenClose::Open, NetPrice::Credit(dec("1.40"))).unwrap();
        assert_eq!(bag.action, OrderAction::Buy);
        assert_eq!(bag.limit, dec("-1.40"));
        assert_eq!(
            net_price_of(bag.action, bag.limit),
            NetPrice::Credit(dec("1.40"))
        );
    }

    #[test]
    fn closes_are_sells_with_the_sign_of_the_cash_flow() {
        let debit = spread(SpreadKind::BearPut, "605", "600");
        let bag = bag_order(&debit, OpenClose::Close, NetPrice::Credit(dec("3.00"))).unwrap();
        assert_eq!((bag.action, bag.limit), (OrderAction::Sell, dec("3.00")));
        let credit = spread(SpreadKind::BearCall, "610", "605");
        let bag = bag_order(&credit, OpenClose::Close, NetPrice::Debit(dec("0.35"))).unwrap();
        assert_eq!((bag.action, bag.limit), (OrderAction::Sell, dec("-0.35")));
        assert_eq!(
            signed_limit(OrderAction::Sell, NetPrice::Debit(dec("0.30"))),
            dec("-0.30")
        );
        // Closing a worthless spread at zero is allowed.
        assert!(bag_order(&debit, OpenClose::Close, NetPrice::Credit(Decimal::ZERO)).is_ok());
    }

    #[test]
    fn wrong_shapes_are_refused_before_sending() {
        let s = spread(SpreadKind::BullCall, "605", "600");
        assert!(matches!(
            bag_order(&s, OpenClose::Open, NetPrice::Debit(dec("1"))),
            Err(ComboError::StrikeOrder { .. })
        ));
        let s = spread(SpreadKind::BullCall, "600", "605");
        assert!(matches!(
            bag_order(&s, OpenClose::Open, NetPrice::Credit(dec("1"))),
            Err(ComboError::PriceSide { .. })
        ));
        assert!(matches!(
            bag_order(&s, OpenClose::Open, NetPrice::Debit(dec("5.01"))),
            Err(ComboError::PriceAboveWidth { .. })
        ));
        assert!(matches!(
            bag_order(&s, OpenClose::Open, NetPrice::Debit(Decimal::ZERO)),
            Err(ComboError::NonPositivePrice { .. })
        ));
        let mut same = s.clone();
        same.short.con_id = same.long.con_id;
        assert_eq!(
            bag_order(&same, OpenClose::Open, NetPrice::Debit(dec("1"))),
            Err(ComboError::SameLeg(11))
        );
        let mut mixed = s.clone();
        mixed.short.right = Right::Put;
        assert!(matches!(
            bag_order(&mixed, OpenClose::Open, NetPrice::Debit(dec("1"))),
            Err(ComboError::RightMismatch { .. })
        ));
        let mut expiry = s.clone();
        expiry.short.expiry = NaiveDate::from_ymd_opt(2026, 12, 11).unwrap();
        assert!(matches!(
            bag_order(&expiry, OpenClose::Open, NetPrice::Debit(dec("1"))),
            Err(ComboError::ExpiryMismatch { .. })
        ));
    }
}
