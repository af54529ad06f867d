use super::*;
use chrono::TimeZone as _;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn order_ref() -> String {
    OrderRef::for_decision("d1", OrderPurpose::Entry, 0)
        .unwrap()
        .to_string()
}

fn exec(id: &str, con_id: i64, qty: &str, price: &str, combo: bool) -> OrderEvent {
    OrderEvent::Execution(Execution {
        exec_id: id.into(),
        order_id: BrokerOrderId(3),
        order_ref: order_ref(),
        con_id: ConId(con_id),
        side: Side::Buy,
        quantity: d(qty),
        price: d(price),
        cumulative_quantity: Decimal::ZERO,
        average_price: Decimal::ZERO,
        time: String::new(),
        combo,
    })
}

fn commission(id: &str, order_ref: &str, amount: &str) -> OrderEvent {
    OrderEvent::Commission {
        exec_id: id.into(),
        order_ref: order_ref.into(),
        commission: d(amount),
        currency: "USD".into(),
    }
}

#[test]
fn partial_fills_aggregate_per_leg_and_for_the_combo() {
    let mut f = OrderFills::new(order_ref());
    for e in [
        exec("a1", 11, "1", "3.10", false),
        exec("a2", 12, "1", "1.00", false),
        exec("a0", 0, "1", "2.10", true),
        exec("b1", 11, "2", "3.20", false),
        exec("b2", 12, "2", "1.05", false),
        exec("b0", 0, "2", "2.15", true),
        // Replayed after a reconnect: counted once.
        exec("b0", 0, "2", "2.15", true),
    ] {
        assert!(f.apply(&e));
    }
    assert!(!f.apply(&commission("x", "another-order", "1")));
    f.apply(&commission("a1", &order_ref(), "1.30"));
    f.apply(&OrderEvent::Status {
        order_id: BrokerOrderId(3),
        order_ref: order_ref(),
        status: OrderStatus::Filled,
        filled: d("3"),
        remaining: d("0"),
        average_fill_price: Some(d("2.1333")),
    });
    assert_eq!(f.executed_quantity(), d("3"));
    assert_eq!(f.legs[&ConId(11)].quantity, d("3"));
    assert_eq!(
        f.legs[&ConId(11)].average_price(),
        Some(d("3.1666666666666666666666666667"))
    );
    assert_eq!(f.order.notional, d("6.40"));
    assert_eq!(f.commissions, d("1.30"));
    assert!(f.is_done());
}

#[test]
fn a_spread_fill_is_the_combo_net_with_every_commission() {
    let time = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let mut f = OrderFills::new(order_ref());
    assert_eq!(
        f.spread_fill(OrderPurpose::Entry, time),
        None,
        "nothing filled"
    );
    for e in [
        exec("a0", 0, "1", "2.10", true),
        exec("b0", 0, "2", "2.16", true),
        commission("a0", &order_ref(), "1.30"),
        commission("b0", &order_ref(), "2.60"),
    ] {
        f.apply(&e);
    }
    let fill = f.spread_fill(OrderPurpose::Entry, time).unwrap();
    assert_eq!(fill.quantity, 3);
    // (2.10 + 2 x 2.16) / 3.
    assert_eq!(fill.net, Price::new(d("2.14")));
    assert_eq!(fill.commissions, Money::new(d("3.90")));
    assert_eq!(fill.order_ref.as_str(), order_ref());
}

#[test]
fn a_rejection_ends_the_order() {
    let mut f = OrderFills::new(order_ref());
    f.apply(&OrderEvent::Rejected {
        order_id: BrokerOrderId(3),
        order_ref: order_ref(),
        code: 201,
        reason: "no".into(),
    });
    assert!(f.is_done());
    assert_eq!(f.status, Some(OrderStatus::Inactive));
}

#[test]
fn a_rejection_after_the_last_fill_does_not_undo_it() {
    // A walk step's modification crossed the fill: the gateway refuses it
    // (103) after reporting the order filled.
    let mut f = OrderFills::new(order_ref());
    f.apply(&exec("e1", 0, "2", "2.10", true));
    f.apply(&OrderEvent::Status {
        order_id: BrokerOrderId(3),
        order_ref: order_ref(),
        status: OrderStatus::Filled,
        filled: d("2"),
        remaining: Decimal::ZERO,
        average_fill_price: Some(d("2.10")),
    });
    f.apply(&OrderEvent::Rejected {
        order_id: BrokerOrderId(3),
        order_ref: order_ref(),
        code: 103,
        reason: "Duplicate order id".into(),
    });
    assert_eq!(f.status, Some(OrderStatus::Filled));
    assert_eq!(f.executed_quantity(), d("2"));
}
