use super::*;
use crate::SpreadKind;
use crate::contract::OptionContract;
use crate::order::OrderRef;
use chrono::{NaiveDate, TimeZone as _};
use proptest::prelude::*;

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

fn fill(purpose: OrderPurpose, quantity: u32, net: &str, fees: &str, minute: u32) -> SpreadFill {
    SpreadFill {
        order_ref: OrderRef::for_decision("d", purpose, 0).unwrap(),
        purpose,
        quantity,
        net: p(net),
        commissions: m(fees),
        time: Utc.with_ymd_and_hms(2026, 11, 23, 15, minute, 0).unwrap(),
    }
}

#[test]
fn debit_spread_round_trip() {
    let mut pos = SpreadPosition::open(
        spread(SpreadKind::BullCall),
        &fill(OrderPurpose::Entry, 2, "2.10", "2.60", 0),
    )
    .unwrap();
    assert_eq!((pos.quantity(), pos.average_entry()), (2, Some(p("2.10"))));
    // Mark at 2.60: +0.50 × 2 × 100.
    assert_eq!(pos.unrealised_pnl(p("2.60")), m("100"));
    assert_eq!(pos.realised_pnl(), m("-2.60"));
    let realised = pos
        .apply(&fill(OrderPurpose::Exit, 1, "3.00", "1.30", 5))
        .unwrap();
    assert_eq!(realised, m("90"));
    assert_eq!(pos.realised_pnl(), m("86.10"));
    assert_eq!(pos.unrealised_pnl(p("3.00")), m("90"));
    assert!(pos.is_open() && pos.closed_at().is_none());
    pos.apply(&fill(OrderPurpose::Exit, 1, "1.60", "1.30", 9))
        .unwrap();
    assert!(!pos.is_open());
    assert_eq!(
        pos.closed_at(),
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 15, 9, 0).unwrap())
    );
    // 90 − 50 − 5.20 commissions.
    assert_eq!(pos.realised_pnl(), m("34.80"));
    assert_eq!(pos.unrealised_pnl(p("9")), Money::ZERO);
    assert_eq!(pos.average_entry(), None);
}

#[test]
fn credit_spread_gains_when_it_gets_cheaper() {
    let mut pos = SpreadPosition::open(
        spread(SpreadKind::BullPut),
        &fill(OrderPurpose::Entry, 1, "1.50", "1.30", 0),
    )
    .unwrap();
    assert_eq!(pos.unrealised_pnl(p("0.50")), m("100"));
    assert_eq!(
        pos.unrealised_pnl(p("5")),
        m("-350"),
        "max loss at the width"
    );
    pos.apply(&fill(OrderPurpose::Exit, 1, "0.40", "1.30", 3))
        .unwrap();
    assert_eq!(pos.realised_pnl(), m("107.40"));
}

#[test]
fn bad_fills_are_refused_and_leave_the_position_alone() {
    let s = spread(SpreadKind::BullCall);
    assert!(matches!(
        SpreadPosition::open(s.clone(), &fill(OrderPurpose::Exit, 1, "1", "0", 0)),
        Err(PositionError::OpensWithExit { .. })
    ));
    assert!(matches!(
        SpreadPosition::open(s.clone(), &fill(OrderPurpose::Entry, 0, "1", "0", 0)),
        Err(PositionError::EmptyEntry { .. })
    ));
    let mut pos = SpreadPosition::open(s, &fill(OrderPurpose::Entry, 1, "2", "1", 0)).unwrap();
    let before = pos.clone();
    let err = pos
        .apply(&fill(OrderPurpose::Exit, 2, "3", "1", 1))
        .unwrap_err();
    assert!(
        err.to_string().contains("exits 2 spreads, only 1 are open"),
        "{err}"
    );
    assert_eq!(pos, before);
    let err = pos
        .apply(&fill(OrderPurpose::Entry, u32::MAX, "2", "0", 1))
        .unwrap_err();
    assert!(matches!(err, PositionError::TooLarge { .. }));
    assert_eq!(pos, before);
}

#[test]
fn serde_round_trip() {
    let pos = SpreadPosition::open(
        spread(SpreadKind::BearPut),
        &fill(OrderPurpose::Entry, 3, "1.75", "3.90", 0),
    )
    .unwrap();
    let json = serde_json::to_string(&pos).unwrap();
    assert_eq!(serde_json::from_str::<SpreadPosition>(&json).unwrap(), pos);
}

proptest! {
    /// However a position is built up and taken down, it realises exactly
    /// Σ exit values − Σ entry costs (debit) minus commissions, and at every
    /// step realised + unrealised equals that total marked at the mark.
    #[test]
    fn realised_plus_unrealised_adds_up_exactly(
        debit in any::<bool>(),
        steps in prop::collection::vec((1u32..5, 1i64..500, 0i64..300), 1..8),
        mark_cents in 0i64..500,
    ) {
        let kind = if debit { SpreadKind::BullCall } else { SpreadKind::BullPut };
        let price = |c: i64| Price::new(rust_decimal::Decimal::new(c, 2));
        let mark = price(mark_cents);
        let mut pos: Option<SpreadPosition> = None;
        let (mut cash, mut fees) = (Money::ZERO, Money::ZERO);
        // Enter every step, then exit in the same sizes, checking the books.
        for (qty, net, fee) in steps.iter().copied() {
            let f = fill(OrderPurpose::Entry, qty, &price(net).to_string(), &price(fee).to_string(), 0);
            match pos.as_mut() {
                None => pos = Some(SpreadPosition::open(spread(kind), &f).unwrap()),
                Some(pos) => { pos.apply(&f).unwrap(); }
            }
            let flow = price(net).notional(qty, 100);
            cash += if debit { -flow } else { flow };
            fees += price(fee).notional(1, 1);
        }
        let mut pos = pos.unwrap();
        for (qty, net, fee) in steps.iter().rev().copied() {
            let open_value = mark.notional(pos.quantity(), 100);
            let total_now = cash + if debit { open_value } else { -open_value } - fees;
            prop_assert_eq!(pos.realised_pnl() + pos.unrealised_pnl(mark), total_now);
            let exit_net = price((net * 7) % 500);
            let f = fill(OrderPurpose::Exit, qty, &exit_net.to_string(), &price(fee).to_string(), 1);
            pos.apply(&f).unwrap();
            let flow = exit_net.notional(qty, 100);
            cash += if debit { flow } else { -flow };
            fees += price(fee).notional(1, 1);
        }
        prop_assert!(!pos.is_open());
        prop_assert_eq!(pos.realised_pnl(), cash - fees);
    }
}
