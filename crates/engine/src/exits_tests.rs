use chrono::{TimeZone as _, Utc};
use vspread_core::{
    OptionContract, OrderPurpose, OrderRef, SpreadFill, SpreadKind, VerticalSpread,
};

use super::*;

fn p(s: &str) -> Price {
    s.parse().unwrap()
}

fn m(s: &str) -> Money {
    s.parse().unwrap()
}

fn expiry() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 18).unwrap()
}

/// AAPL 100/105 of `kind`, 2 spreads opened at `net`.
fn position(kind: SpreadKind, net: &str) -> SpreadPosition {
    let leg = |k: &str| {
        OptionContract::builder()
            .underlying("AAPL")
            .expiry(expiry())
            .strike(p(k))
            .right(kind.right())
            .build()
            .unwrap()
    };
    let spread = VerticalSpread::from_strikes(kind, leg("100"), leg("105")).unwrap();
    SpreadPosition::open(spread, &fill(OrderPurpose::Entry, 2, net, "2.60")).unwrap()
}

fn fill(purpose: OrderPurpose, quantity: u32, net: &str, fees: &str) -> SpreadFill {
    SpreadFill {
        order_ref: OrderRef::for_decision("d", purpose, 0).unwrap(),
        purpose,
        quantity,
        net: p(net),
        commissions: m(fees),
        time: Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
    }
}

fn entry() -> EntryContext {
    EntryContext {
        underlying: 102.0,
        atr: 2.0,
    }
}

fn market(underlying: f64, mark: Option<&str>, today: NaiveDate) -> Market {
    Market {
        underlying,
        mark: mark.map(p),
        today,
    }
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

fn config() -> ExitsConfig {
    // Stop 2 ATR, target 50% of max profit, exit at 7 DTE.
    ExitsConfig::default()
}

#[test]
fn the_atr_stop_is_against_the_position() {
    // Bullish, entry 102, ATR 2 x 2: stop at 98.
    let bull = position(SpreadKind::BullCall, "2.00");
    assert_eq!(stop_level(&config(), Direction::Bullish, &entry()), 98.0);
    assert_eq!(
        exit_reason(&config(), &bull, &entry(), &market(98.01, None, day(23))),
        None
    );
    assert_eq!(
        exit_reason(&config(), &bull, &entry(), &market(98.0, None, day(23))),
        Some(ExitReason::AtrStop {
            stop: 98.0,
            underlying: 98.0
        })
    );
    // Bearish: stop above, at 106; a fall is not a stop.
    let bear = position(SpreadKind::BearPut, "2.00");
    assert_eq!(
        exit_reason(&config(), &bear, &entry(), &market(90.0, None, day(23))),
        None
    );
    assert!(matches!(
        exit_reason(&config(), &bear, &entry(), &market(106.5, None, day(23))),
        Some(ExitReason::AtrStop { .. })
    ));
}

#[test]
fn the_profit_target_is_a_share_of_max_profit() {
    // Bull call opened at 2.00 on a 5-wide: max profit 3.00 a share. The
    // target (50%) is a mark of 3.50: +1.50 of 3.00.
    let pos = position(SpreadKind::BullCall, "2.00");
    // +1.49 of 3.00 = 49.67%.
    let reached = profit_pct(&pos, p("3.49")).unwrap();
    assert!((reached - 149.0 / 3.0).abs() < 1e-9, "{reached}");
    assert_eq!(
        exit_reason(
            &config(),
            &pos,
            &entry(),
            &market(103.0, Some("3.49"), day(23))
        ),
        None
    );
    assert_eq!(
        exit_reason(
            &config(),
            &pos,
            &entry(),
            &market(103.0, Some("3.50"), day(23))
        ),
        Some(ExitReason::ProfitTarget {
            reached_pct: 50.0,
            target_pct: 50.0
        })
    );
    // No mark, no target.
    assert_eq!(
        exit_reason(&config(), &pos, &entry(), &market(103.0, None, day(23))),
        None
    );
    // A credit spread: opened for 1.50 (max profit 1.50); closing for
    // 0.75 keeps half.
    let credit = position(SpreadKind::BullPut, "1.50");
    assert!(matches!(
        exit_reason(
            &config(),
            &credit,
            &entry(),
            &market(103.0, Some("0.75"), day(23))
        ),
        Some(ExitReason::ProfitTarget { .. })
    ));
    assert_eq!(
        exit_reason(
            &config(),
            &credit,
            &entry(),
            &market(103.0, Some("0.76"), day(23))
        ),
        None
    );
}

#[test]
fn seven_days_to_expiry_closes() {
    let pos = position(SpreadKind::BullCall, "2.00");
    // Expiry 2026-12-18: 8 days on the 10th, 7 on the 11th.
    let dec = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    assert_eq!(
        exit_reason(&config(), &pos, &entry(), &market(103.0, None, dec(10))),
        None
    );
    assert_eq!(
        exit_reason(&config(), &pos, &entry(), &market(103.0, None, dec(11))),
        Some(ExitReason::Dte {
            days_left: 7,
            exit_dte: 7
        })
    );
}

#[test]
fn an_in_the_money_short_leg_on_expiry_day_closes_first() {
    // Bull call 100/105: short the 105 call. On expiry day with AAPL at
    // 106 the short is in the money; also above the stop, past the DTE.
    let mut c = config();
    c.exit_dte = 0;
    let pos = position(SpreadKind::BullCall, "2.00");
    assert_eq!(
        exit_reason(&c, &pos, &entry(), &market(106.0, None, expiry())),
        Some(ExitReason::AssignmentGuard {
            short_strike: Decimal::from(105),
            underlying: 106.0
        })
    );
    // Out of the money on expiry day: only the DTE rule (0 days left).
    assert_eq!(
        exit_reason(&c, &pos, &entry(), &market(104.0, None, expiry())),
        Some(ExitReason::Dte {
            days_left: 0,
            exit_dte: 0
        })
    );
    // A bull put shorts the 105 put: in the money below 105.
    let put = position(SpreadKind::BullPut, "1.50");
    assert!(matches!(
        exit_reason(&c, &put, &entry(), &market(104.0, None, expiry())),
        Some(ExitReason::AssignmentGuard { .. })
    ));
}

#[test]
fn a_closed_trade_reports_pnl_after_costs_and_its_r_multiple() {
    // 2 bull calls at 2.00 (risk 2.00 x 100 x 2 = 400), closed at 3.50:
    // +1.50 x 200 = 300, less 2.60 + 2.60 commissions = 294.80, R 0.737.
    let mut pos = position(SpreadKind::BullCall, "2.00");
    assert_eq!(trade_result(&pos, p("2.00"), 2), None, "still open");
    pos.apply(&fill(OrderPurpose::Exit, 2, "3.50", "2.60"))
        .unwrap();
    let r = trade_result(&pos, p("2.00"), 2).unwrap();
    assert_eq!(r.realised, m("294.80"));
    assert_eq!(r.risk, m("400"));
    assert!((r.r_multiple - 0.737).abs() < 1e-12);
    assert_eq!(
        exit_reason(&config(), &pos, &entry(), &market(80.0, None, day(23))),
        None,
        "flat"
    );
}
