use super::*;
use crate::SpreadKind;
use crate::contract::OptionContract;
use crate::spread::VerticalSpread;
use chrono::{NaiveDate, TimeZone as _};

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn spread(kind: SpreadKind) -> VerticalSpread {
    let leg = |k: &str| {
        OptionContract::builder()
            .underlying("AAPL")
            .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
            .strike(p(k))
            .right(kind.right())
            .build()
            .unwrap()
    };
    VerticalSpread::from_strikes(kind, leg("100"), leg("105")).unwrap()
}

fn order(kind: SpreadKind, purpose: OrderPurpose, quantity: u32) -> SpreadOrder {
    SpreadOrder::builder(
        OrderRef::for_decision("d1", purpose, 0).unwrap(),
        spread(kind),
    )
    .purpose(purpose)
    .quantity(quantity)
    .limit(p("2"))
    .build()
    .unwrap()
}

fn exec(o: &SpreadOrder, id: &str, leg: LegRole, quantity: u32, price: &str) -> LegFill {
    LegFill {
        exec_id: id.into(),
        order_ref: o.order_ref().clone(),
        leg,
        side: leg.side(o.purpose()),
        quantity,
        price: p(price),
        time: Utc
            .with_ymd_and_hms(2026, 11, 23, 15, 0, id.len() as u32)
            .unwrap(),
    }
}

#[test]
fn partial_fills_become_whole_spreads_at_the_net() {
    let o = order(SpreadKind::BullCall, OrderPurpose::Entry, 3);
    let mut f = ComboFills::new(&o);
    assert!(
        f.apply_execution(&exec(&o, "a1", LegRole::Long, 2, "3.10"))
            .unwrap()
    );
    assert_eq!((f.filled(), f.average_net()), (0, None));
    assert!(
        f.apply_execution(&exec(&o, "a2", LegRole::Short, 1, "1.00"))
            .unwrap()
    );
    assert_eq!(f.filled(), 1);
    assert!(!f.is_balanced());
    assert_eq!(f.average_net(), Some(p("2.10")));
    assert!(
        f.apply_execution(&exec(&o, "b2", LegRole::Short, 1, "1.00"))
            .unwrap()
    );
    assert!(
        f.apply_execution(&exec(&o, "c1", LegRole::Long, 1, "3.25"))
            .unwrap()
    );
    assert!(
        f.apply_execution(&exec(&o, "c2", LegRole::Short, 1, "1.05"))
            .unwrap()
    );
    // A resent execution counts once.
    assert!(
        !f.apply_execution(&exec(&o, "c2", LegRole::Short, 1, "1.05"))
            .unwrap()
    );
    assert!(f.is_complete() && f.is_balanced());
    // (3.10·2 + 3.25 − 1.00·2 − 1.05) / 3 = 6.40 / 3.
    assert_eq!(
        f.average_net(),
        Some(Price::new(
            p("6.40").value() / rust_decimal::Decimal::from(3)
        ))
    );
    for id in ["a1", "a2", "b2", "c1", "c2"] {
        f.apply_commission(id, m("0.65"));
    }
    f.apply_commission("c2", m("0.70"));
    assert_eq!(f.commissions(), m("3.30"));
}

#[test]
fn credit_spreads_net_is_what_was_received() {
    let o = order(SpreadKind::BearCall, OrderPurpose::Entry, 1);
    let mut f = ComboFills::new(&o);
    // Long leg is the 105 call, short the 100 call.
    f.apply_execution(&exec(&o, "l", LegRole::Long, 1, "1.05"))
        .unwrap();
    f.apply_execution(&exec(&o, "s", LegRole::Short, 1, "3.10"))
        .unwrap();
    assert_eq!(f.average_net(), Some(p("2.05")));
}

#[test]
fn drain_hands_out_each_spread_and_commission_once() {
    let o = order(SpreadKind::BullCall, OrderPurpose::Entry, 3);
    let mut f = ComboFills::new(&o);
    assert_eq!(f.drain(), None);
    f.apply_execution(&exec(&o, "a1", LegRole::Long, 1, "3.10"))
        .unwrap();
    f.apply_execution(&exec(&o, "a2", LegRole::Short, 1, "1.00"))
        .unwrap();
    f.apply_commission("a1", m("0.65"));
    let first = f.drain().unwrap();
    assert_eq!(
        (first.quantity, first.net, first.commissions),
        (1, p("2.10"), m("0.65"))
    );
    assert_eq!(f.drain(), None);
    f.apply_commission("a2", m("0.65"));
    let late = f.drain().unwrap();
    assert_eq!(
        (late.quantity, late.net, late.commissions),
        (0, Price::ZERO, m("0.65"))
    );
    f.apply_execution(&exec(&o, "b1", LegRole::Long, 2, "3.20"))
        .unwrap();
    f.apply_execution(&exec(&o, "b2", LegRole::Short, 2, "1.00"))
        .unwrap();
    let rest = f.drain().unwrap();
    assert_eq!((rest.quantity, rest.net), (2, p("2.20")));
    assert_eq!(rest.purpose, OrderPurpose::Entry);
    assert_eq!(&rest.order_ref, o.order_ref());
}

#[test]
fn executions_that_do_not_fit_are_refused() {
    let o = order(SpreadKind::BullCall, OrderPurpose::Exit, 1);
    let mut f = ComboFills::new(&o);
    let mut wrong_side = exec(&o, "x", LegRole::Long, 1, "3");
    wrong_side.side = Side::Buy;
    assert!(matches!(
        f.apply_execution(&wrong_side),
        Err(FillError::WrongSide {
            expected: Side::Sell,
            found: Side::Buy,
            ..
        })
    ));
    let mut other = exec(&o, "y", LegRole::Long, 1, "3");
    other.order_ref = OrderRef::for_decision("d2", OrderPurpose::Exit, 0).unwrap();
    assert!(matches!(
        f.apply_execution(&other),
        Err(FillError::OtherOrder { .. })
    ));
    assert!(matches!(
        f.apply_execution(&exec(&o, "z", LegRole::Long, 0, "3")),
        Err(FillError::ZeroQuantity { .. })
    ));
    assert!(matches!(
        f.apply_execution(&exec(&o, "n", LegRole::Long, 1, "-0.01")),
        Err(FillError::NegativePrice { .. })
    ));
    f.apply_execution(&exec(&o, "ok", LegRole::Long, 1, "3"))
        .unwrap();
    let err = f
        .apply_execution(&exec(&o, "over", LegRole::Long, 1, "3"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "execution over fills the Long leg to 2, beyond the order's 1"
    );
    // Refused executions left nothing behind.
    assert_eq!(f.filled(), 0);
    assert!(
        f.apply_execution(&exec(&o, "x", LegRole::Short, 1, "1"))
            .unwrap()
    );
    assert_eq!(f.filled(), 1);
}
