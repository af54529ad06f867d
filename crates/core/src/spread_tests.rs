use super::*;

use crate::contract::ConId;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn option(right: Right, strike: Price) -> OptionContract {
    OptionContract::builder()
        .underlying("AAPL")
        .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
        .strike(strike)
        .right(right)
        .build()
        .unwrap()
}

fn spread(kind: SpreadKind, low: &str, high: &str) -> VerticalSpread {
    let right = kind.right();
    VerticalSpread::from_strikes(kind, option(right, p(low)), option(right, p(high))).unwrap()
}

#[test]
fn each_kind_buys_the_strike_the_spec_says() {
    for (kind, long, short) in [
        (SpreadKind::BullCall, "100", "105"),
        (SpreadKind::BearCall, "105", "100"),
        (SpreadKind::BearPut, "105", "100"),
        (SpreadKind::BullPut, "100", "105"),
    ] {
        let s = spread(kind, "100", "105");
        assert_eq!(
            (s.long().strike(), s.short().strike()),
            (p(long), p(short)),
            "{kind}"
        );
        assert_eq!(
            (s.low_strike(), s.high_strike(), s.width()),
            (p("100"), p("105"), p("5"))
        );
        assert_eq!(s.right(), kind.right());
        assert_eq!(s.direction(), kind.direction());
    }
}

#[test]
fn construction_refuses_what_is_not_a_vertical() {
    let c = |k: &str| option(Right::Call, p(k));
    let err = VerticalSpread::from_legs(SpreadKind::BullCall, c("105"), c("100")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a bull_call spread buys the lower strike: long 105, short 100"
    );
    let err = VerticalSpread::from_legs(SpreadKind::BearCall, c("100"), c("105")).unwrap_err();
    assert!(matches!(
        err,
        SpreadError::StrikeOrder {
            long_side: "higher",
            ..
        }
    ));
    let err = VerticalSpread::from_legs(SpreadKind::BullCall, c("100"), c("100")).unwrap_err();
    assert!(matches!(err, SpreadError::StrikeOrder { .. }));
    let err = VerticalSpread::from_legs(SpreadKind::BullPut, c("100"), c("105")).unwrap_err();
    assert!(matches!(
        err,
        SpreadError::WrongRight {
            expected: Right::Put,
            ..
        }
    ));
    let err =
        VerticalSpread::from_legs(SpreadKind::BullCall, c("100"), option(Right::Put, p("105")))
            .unwrap_err();
    assert!(matches!(
        err,
        SpreadError::DifferentSeries { what: "right", .. }
    ));
    let other_expiry = OptionContract::builder()
        .underlying("AAPL")
        .expiry(NaiveDate::from_ymd_opt(2027, 1, 15).unwrap())
        .strike(p("105"))
        .right(Right::Call)
        .build()
        .unwrap();
    let err = VerticalSpread::from_legs(SpreadKind::BullCall, c("100"), other_expiry).unwrap_err();
    assert_eq!(
        err.to_string(),
        "legs differ in expiry: 2026-12-18 vs 2027-01-15"
    );
}

#[test]
fn money_per_contract_matches_the_spec_examples() {
    let bull_call = spread(SpreadKind::BullCall, "100", "105");
    assert_eq!(
        bull_call.max_profit(p("2.10")).unwrap(),
        "290".parse().unwrap()
    );
    assert_eq!(
        bull_call.max_loss(p("2.10")).unwrap(),
        "210".parse().unwrap()
    );
    assert_eq!(bull_call.breakeven(p("2.10")).unwrap(), p("102.10"));
    let bull_put = spread(SpreadKind::BullPut, "95", "100");
    assert_eq!(
        bull_put.max_profit(p("1.50")).unwrap(),
        "150".parse().unwrap()
    );
    assert_eq!(
        bull_put.max_loss(p("1.50")).unwrap(),
        "350".parse().unwrap()
    );
    assert_eq!(bull_put.breakeven(p("1.50")).unwrap(), p("98.50"));
    for bad in ["0", "5", "-1", "7"] {
        assert!(
            matches!(bull_call.max_profit(p(bad)), Err(SpreadError::NetPrice(_))),
            "{bad}"
        );
    }
}

#[test]
fn mid_and_natural_nets_follow_the_spec() {
    let q = |bid: &str, ask: &str| Quote::two_sided(ConId(1), p(bid).value(), p(ask).value());
    let (low, high) = (q("3.00", "3.20"), q("1.00", "1.10"));
    let debit = spread(SpreadKind::BullCall, "100", "105");
    assert_eq!(debit.mid_net(&low, &high), Some(p("2.05")));
    assert_eq!(debit.natural_net(&low, &high), Some(p("2.20")));
    let credit = spread(SpreadKind::BearCall, "100", "105");
    // Long leg is the 105 call (`high`), short the 100 call (`low`).
    assert_eq!(credit.mid_net(&high, &low), Some(p("2.05")));
    assert_eq!(credit.natural_net(&high, &low), Some(p("1.90")));
    assert_eq!(debit.mid_net(&Quote::default(), &high), None);
}

#[test]
fn serde_checks_the_legs_on_the_way_in() {
    let s = spread(SpreadKind::BearPut, "100", "105");
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<VerticalSpread>(&json).unwrap(), s);
    let swapped = json.replace("\"kind\":\"bear_put\"", "\"kind\":\"bull_put\"");
    let err = serde_json::from_str::<VerticalSpread>(&swapped).unwrap_err();
    assert!(
        err.to_string()
            .contains("bull_put spread buys the lower strike"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn profit_plus_loss_is_the_width_and_breakevens_follow_the_spec(
        k in 0usize..4,
        low_cents in 100i64..50_000,
        width_steps in 1i64..40,
        net_steps in 1i64..1000,
        step in prop::sample::select(vec![50i64, 100, 250, 500]),
    ) {
        let kind = SpreadKind::ALL[k];
        let low = Price::new(Decimal::new(low_cents, 2));
        let width = Price::new(Decimal::new(width_steps * step, 2));
        let s = VerticalSpread::from_strikes(
            kind,
            option(kind.right(), low),
            option(kind.right(), low + width),
        ).unwrap();
        prop_assert_eq!(s.width(), width);
        // A net strictly inside (0, width) on the cent grid.
        let net_cents = 1 + net_steps % (width_steps * step - 1).max(1);
        prop_assume!(net_cents < width_steps * step);
        let net = Price::new(Decimal::new(net_cents, 2));
        let profit = s.max_profit(net).unwrap();
        let loss = s.max_loss(net).unwrap();
        prop_assert_eq!(profit + loss, width.notional(1, 100));
        prop_assert!(!profit.is_negative() && !loss.is_negative());
        let expected_breakeven = match kind {
            SpreadKind::BullCall | SpreadKind::BearCall => s.low_strike() + net,
            SpreadKind::BearPut | SpreadKind::BullPut => s.high_strike() - net,
        };
        prop_assert_eq!(s.breakeven(net).unwrap(), expected_breakeven);
        let (max_loss_ps, max_profit_ps) = if kind.is_debit() { (net, width - net) } else { (width - net, net) };
        prop_assert_eq!(loss, max_loss_ps.notional(1, 100));
        prop_assert_eq!(profit, max_profit_ps.notional(1, 100));
    }
}
