//! Position bookkeeping and margin, on real contracts of a real market.

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use vspread_core::Right;

use super::margin::requirement;
use super::*;
use crate::market::{Market, MarketConfig, OptionContract};

fn market() -> Market {
    Market::new(MarketConfig {
        seed: 1,
        start: Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
        always_open: false,
    })
}

fn d(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

fn put(m: &Market, strike: i64) -> OptionContract {
    let e = m.expiries("SPY")[4];
    let k = Decimal::from(strike);
    crate::market::instrument::option_con_id(0, e, k, Right::Put)
        .and_then(|id| m.contract_by_con_id(id))
        .and_then(|c| c.as_option().cloned())
        .unwrap()
}

#[test]
fn averaging_in_then_closing_part_realises_pnl_net_of_commissions() {
    let m = market();
    let c = Contract::Option(put(&m, 600));
    let mut a = Account::new("DU1", Decimal::from(10_000));
    assert_eq!(
        a.apply_fill(&c, Side::Bought, Decimal::ONE, d(200, 2), d(100, 2)),
        None
    );
    assert_eq!(
        a.apply_fill(&c, Side::Bought, Decimal::ONE, d(300, 2), d(65, 2)),
        None
    );
    let p = &a.positions[&c.con_id()];
    assert_eq!(p.avg_price, d(250, 2));
    assert_eq!(p.avg_cost(), d(250, 0) + d(165, 2) / Decimal::TWO);
    assert_eq!(
        a.cash,
        Decimal::from(10_000) - Decimal::from(500) - d(165, 2)
    );
    // Sell one at 4.00 paying 1.00: (4 - 2.5) * 100 - 0.825 - 1.00.
    let pnl = a
        .apply_fill(&c, Side::Sold, Decimal::ONE, d(400, 2), d(100, 2))
        .unwrap();
    assert_eq!(pnl, Decimal::from(150) - d(825, 3) - Decimal::ONE);
    assert_eq!(a.positions[&c.con_id()].quantity, Decimal::ONE);
    assert_eq!(a.realized_pnl, pnl);
}

#[test]
fn a_fill_through_zero_flips_the_position() {
    let m = market();
    let c = Contract::Option(put(&m, 600));
    let mut a = Account::new("DU1", Decimal::from(10_000));
    a.apply_fill(&c, Side::Bought, Decimal::ONE, d(100, 2), Decimal::ZERO);
    let pnl = a
        .apply_fill(&c, Side::Sold, Decimal::from(3), d(150, 2), Decimal::ZERO)
        .unwrap();
    assert_eq!(pnl, Decimal::from(50));
    let p = &a.positions[&c.con_id()];
    assert_eq!(p.quantity, Decimal::from(-2));
    assert_eq!(p.avg_price, d(150, 2));
    a.apply_fill(&c, Side::Bought, Decimal::TWO, d(150, 2), Decimal::ZERO);
    assert!(a.positions.is_empty());
    assert_eq!(a.cash, Decimal::from(10_050));
}

#[test]
fn verticals_require_their_max_loss_and_naked_shorts_reg_t() {
    let m = market();
    let long = Contract::Option(put(&m, 600));
    let short = Contract::Option(put(&m, 610));
    let mut a = Account::new("DU1", Decimal::from(10_000));
    // Bull put credit spread, 2 lots, credit 3.00 - 1.00 = 2.00.
    a.apply_fill(&short, Side::Sold, Decimal::TWO, d(300, 2), Decimal::ZERO);
    a.apply_fill(&long, Side::Bought, Decimal::TWO, d(100, 2), Decimal::ZERO);
    let spot = |_: &str| Some(650.0);
    let mark = |_: &Contract| Decimal::ONE;
    let r = requirement(a.positions.values(), spot, mark);
    assert_eq!(
        r.initial,
        (Decimal::from(10) - Decimal::TWO) * Decimal::from(200)
    );
    assert_eq!(r.maintenance, r.initial);
    // Without the long leg the short is naked: max(20% * 650 - 40, 10% * 610) + mark = 91.
    let mut naked = a.clone();
    naked.positions.remove(&long.con_id());
    let r = requirement(naked.positions.values(), spot, mark);
    assert_eq!(r.initial, Decimal::from(91) * Decimal::from(200));
    // A lone long option requires its premium.
    let mut long_only = a.clone();
    long_only.positions.remove(&short.con_id());
    assert_eq!(
        requirement(long_only.positions.values(), spot, mark).initial,
        Decimal::from(200)
    );
}

#[test]
fn summary_tags_cover_what_the_wire_reports() {
    let m = market();
    let a = Account::new("DU1", Decimal::from(25_000));
    let v = a.values(&m);
    let tags = v.summary_tags();
    let get = |t: &str| {
        tags.iter()
            .find(|(k, _)| *k == t)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("NetLiquidation"), "25000.00");
    assert_eq!(get("TotalCashValue"), "25000.00");
    assert_eq!(get("BuyingPower"), "100000.00");
    assert_eq!(get("AvailableFunds"), "25000.00");
    assert_eq!(get("ExcessLiquidity"), "25000.00");
    assert_eq!(get("AccountType"), "INDIVIDUAL");
    assert!(tags.iter().all(|(_, v)| !v.is_empty()));
}

proptest::proptest! {
    /// Whatever the path, once flat again every dollar of cash moved is
    /// realised P&L (net of commissions).
    #[test]
    fn round_trips_realise_exactly_the_cash_moved(
        fills in proptest::collection::vec((proptest::bool::ANY, 1i64..5, 1i64..2_000, 0i64..200), 1..20)
    ) {
        static CONTRACT: std::sync::OnceLock<Contract> = std::sync::OnceLock::new();
        let c = CONTRACT.get_or_init(|| Contract::Option(put(&market(), 600))).clone();
        let mut a = Account::new("DU1", Decimal::from(1_000_000));
        for (buy, qty, cents, comm) in &fills {
            let side = if *buy { Side::Bought } else { Side::Sold };
            a.apply_fill(&c, side, Decimal::from(*qty), d(*cents, 2), d(*comm, 2));
        }
        // Flatten at 1.00.
        if let Some(p) = a.positions.get(&c.con_id()).cloned() {
            let side = if p.quantity.is_sign_positive() { Side::Sold } else { Side::Bought };
            a.apply_fill(&c, side, p.quantity.abs(), Decimal::ONE, Decimal::ZERO);
        }
        proptest::prop_assert!(a.positions.is_empty());
        proptest::prop_assert_eq!(a.cash - Decimal::from(1_000_000), a.realized_pnl);
    }
}
