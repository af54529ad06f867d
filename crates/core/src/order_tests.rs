use super::*;
use crate::SpreadKind;
use crate::contract::OptionContract;
use crate::money::Tick;
use chrono::NaiveDate;
use proptest::prelude::*;

fn p(s: &str) -> Price {
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

fn order_ref(purpose: OrderPurpose) -> OrderRef {
    OrderRef::for_decision("2026-11-23T15:00Z/AAPL/bull_call/100-105", purpose, 0).unwrap()
}

#[test]
fn order_refs_are_deterministic_short_and_readable_back() {
    let a = OrderRef::for_decision("decision-17", OrderPurpose::Entry, 0).unwrap();
    let b = OrderRef::for_decision("decision-17", OrderPurpose::Entry, 0).unwrap();
    assert_eq!(a, b);
    // FNV-1a 64 of "decision-17", computed independently (Python).
    assert_eq!(
        a.as_str(),
        format!("vs-{:016x}-e0", 0xecc2_51f8_0be4_37c2_u64)
    );
    assert_ne!(
        a,
        OrderRef::for_decision("decision-18", OrderPurpose::Entry, 0).unwrap()
    );
    let exit = OrderRef::for_decision("decision-17", OrderPurpose::Exit, 12).unwrap();
    assert_eq!((exit.purpose(), exit.attempt()), (OrderPurpose::Exit, 12));
    assert_eq!((a.purpose(), a.attempt()), (OrderPurpose::Entry, 0));
    let longest =
        OrderRef::for_decision(&"x".repeat(10_000), OrderPurpose::Exit, u32::MAX).unwrap();
    assert!(longest.as_str().len() <= OrderRef::MAX_LEN, "{longest}");
    assert_eq!(OrderRef::parse(longest.as_str()).unwrap(), longest);
    assert_eq!(
        OrderRef::for_decision("", OrderPurpose::Entry, 0),
        Err(OrderError::EmptyDecision)
    );
}

#[test]
fn foreign_refs_are_refused() {
    for text in [
        "",
        "manual order",
        "vs-0123456789abcdef",
        "vs-0123456789abcdeg-e0",
        "vs-0123456789ABCDEF-e0",
        "vs-0123456789abcdef-q0",
        "vs-0123456789abcdef-e",
        "vs-0123456789abcdef-e01",
        "vs-0123456789abcdef-e99999999999",
        "vs-0123456789abcde-e0",
    ] {
        assert_eq!(
            OrderRef::parse(text),
            Err(OrderError::ForeignRef(text.into())),
            "{text}"
        );
    }
    let json = serde_json::to_string(&order_ref(OrderPurpose::Entry)).unwrap();
    assert_eq!(
        serde_json::from_str::<OrderRef>(&json).unwrap(),
        order_ref(OrderPurpose::Entry)
    );
    assert!(serde_json::from_str::<OrderRef>("\"manual\"").is_err());
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn vertical(
    kind: SpreadKind,
    purpose: OrderPurpose,
    quantity: u32,
    amount: &str,
) -> Result<OrderRequest, OrderError> {
    let s = spread(kind);
    let price = NetPrice::for_spread(&s, purpose, d(amount));
    OrderRequest::vertical(order_ref(purpose).as_str(), s, purpose, quantity, price)
}

#[test]
fn side_follows_kind_and_purpose() {
    let side = |kind, purpose| vertical(kind, purpose, 1, "1").unwrap().side();
    assert_eq!(side(SpreadKind::BullCall, OrderPurpose::Entry), Side::Buy);
    assert_eq!(side(SpreadKind::BullCall, OrderPurpose::Exit), Side::Sell);
    assert_eq!(side(SpreadKind::BullPut, OrderPurpose::Entry), Side::Sell);
    assert_eq!(side(SpreadKind::BullPut, OrderPurpose::Exit), Side::Buy);
    let s = spread(SpreadKind::BullCall);
    assert_eq!(
        NetPrice::for_spread(&s, OrderPurpose::Entry, d("1")),
        NetPrice::Debit(d("1"))
    );
    assert_eq!(
        NetPrice::for_spread(&s, OrderPurpose::Exit, d("1")),
        NetPrice::Credit(d("1"))
    );
}

#[test]
fn a_manual_entry_opens_like_an_entry_and_says_so_in_its_ref() {
    for kind in SpreadKind::ALL {
        let entry = vertical(kind, OrderPurpose::Entry, 1, "1").unwrap();
        let manual = vertical(kind, OrderPurpose::Manual, 1, "1").unwrap();
        assert_eq!(manual.side(), entry.side(), "{kind:?}");
    }
    let r = OrderRef::for_decision("manual/1", OrderPurpose::Manual, 0).unwrap();
    assert!(r.as_str().ends_with("-m0"), "{r}");
    assert_eq!(r.purpose(), OrderPurpose::Manual);
    assert!(OrderPurpose::Manual.opens() && OrderPurpose::Entry.opens());
    assert!(!OrderPurpose::Exit.opens());
    for p in OrderPurpose::ALL {
        assert_eq!(OrderPurpose::from_name(p.name()), Some(p));
    }
}

#[test]
fn limits_round_in_the_orders_favour() {
    let rounded = |kind, purpose| {
        let side = vertical(kind, purpose, 1, "1").unwrap().side();
        p("2.137").round_for(side, Tick::NICKEL)
    };
    // Paying: round down. Receiving: round up.
    assert_eq!(rounded(SpreadKind::BullCall, OrderPurpose::Entry), p("2.1"));
    assert_eq!(
        rounded(SpreadKind::BearCall, OrderPurpose::Entry),
        p("2.15")
    );
    assert_eq!(rounded(SpreadKind::BullCall, OrderPurpose::Exit), p("2.15"));
    assert_eq!(rounded(SpreadKind::BearCall, OrderPurpose::Exit), p("2.1"));
}

#[test]
fn vertical_orders_are_checked() {
    assert_eq!(
        vertical(SpreadKind::BullCall, OrderPurpose::Entry, 0, "1"),
        Err(OrderError::ZeroQuantity)
    );
    for bad in ["0", "5", "5.05"] {
        let err = vertical(SpreadKind::BullCall, OrderPurpose::Entry, 1, bad).unwrap_err();
        assert!(
            matches!(err, OrderError::LimitOutOfRange { .. }),
            "{bad}: {err}"
        );
    }
    for ok in ["0", "5", "2.5"] {
        assert!(
            vertical(SpreadKind::BullCall, OrderPurpose::Exit, 1, ok).is_ok(),
            "{ok}"
        );
    }
    // A debit spread's entry pays: a credit price is the wrong side.
    let s = spread(SpreadKind::BullCall);
    let wrong = OrderRequest::vertical(
        order_ref(OrderPurpose::Entry).as_str(),
        s,
        OrderPurpose::Entry,
        1,
        NetPrice::Credit(d("1")),
    );
    assert!(
        matches!(wrong, Err(OrderError::WrongSide { .. })),
        "{wrong:?}"
    );
    let order = vertical(SpreadKind::BullCall, OrderPurpose::Entry, 1, "2.10").unwrap();
    let walked = order.with_price(NetPrice::Debit(d("2.15"))).unwrap();
    assert!(matches!(
        walked.target,
        OrderTarget::Vertical { price: NetPrice::Debit(a), .. } if a == d("2.15")
    ));
    assert_eq!((walked.quantity, walked.tif), (1, TimeInForce::Day));
    assert!(order.with_price(NetPrice::Debit(d("5"))).is_err());
    assert_eq!(
        TimeInForce::parse("gtc"),
        Some(TimeInForce::GoodTillCancelled)
    );
    assert_eq!(TimeInForce::parse(""), Some(TimeInForce::Day));
    assert_eq!(TimeInForce::parse("IOC"), None);
}

#[test]
fn states_only_move_forward() {
    use OrderState::*;
    let mut s = Intended;
    for next in [
        Submitted,
        Working,
        PartiallyFilled,
        Working,
        Submitted,
        Filled,
    ] {
        s = s.advance(next).unwrap();
    }
    assert_eq!(s, Filled);
    assert_eq!(Filled.advance(Filled), Ok(Filled));
    assert_eq!(
        Filled.advance(Cancelled),
        Err(IllegalTransition {
            from: Filled,
            to: Cancelled
        })
    );
    assert_eq!(
        CancelRequested.advance(PartiallyFilled),
        Ok(CancelRequested)
    );
    assert_eq!(CancelRequested.advance(Filled), Ok(Filled));
    assert_eq!(Intended.advance(Rejected), Ok(Rejected));
    assert!(Rejected.is_terminal() && !CancelRequested.is_terminal());
}

#[test]
fn gateway_statuses_map_onto_states() {
    use OrderState as S;
    use OrderStatus as G;
    assert_eq!(S::from_broker(G::PendingSubmit, 0), S::Submitted);
    assert_eq!(S::from_broker(G::PreSubmitted, 0), S::Working);
    assert_eq!(S::from_broker(G::Submitted, 2), S::PartiallyFilled);
    assert_eq!(S::from_broker(G::PendingCancel, 1), S::CancelRequested);
    assert_eq!(S::from_broker(G::Cancelled, 1), S::Cancelled);
    assert_eq!(S::from_broker(G::Filled, 3), S::Filled);
    assert_eq!(S::from_broker(G::Inactive, 0), S::Rejected);
}

proptest! {
    #[test]
    fn any_decision_gives_a_valid_bounded_ref(
        decision in "\\PC{1,200}", attempt in any::<u32>(), which in 0usize..3
    ) {
        let purpose = OrderPurpose::ALL[which];
        let r = OrderRef::for_decision(&decision, purpose, attempt).unwrap();
        prop_assert!(r.as_str().len() <= OrderRef::MAX_LEN);
        prop_assert_eq!(OrderRef::parse(r.as_str()).unwrap(), r.clone());
        prop_assert_eq!((r.purpose(), r.attempt()), (purpose, attempt));
    }
}
