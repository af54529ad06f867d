use chrono::TimeZone as _;
use proptest::prelude::*;

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    // Monday 2026-11-23.
    Utc.with_ymd_and_hms(2026, 11, 23, h, m, 0).unwrap()
}

fn account() -> AccountState {
    AccountState {
        net_liquidation: d("100000"),
        buying_power: d("50000"),
        realised_today: Decimal::ZERO,
        unrealised: Decimal::ZERO,
    }
}

fn exposure(pairs: &[(&str, usize)]) -> Exposure {
    Exposure {
        open_by_underlying: pairs.iter().map(|(u, n)| (u.to_string(), *n)).collect(),
    }
}

fn gate(
    config: &Config,
    now: DateTime<Utc>,
    acc: &AccountState,
    exp: &Exposure,
) -> Result<(), Refusal> {
    pre_entry(config, now, "SPY", acc, exp)
}

#[test]
fn a_clean_account_passes_the_gate() {
    assert_eq!(
        gate(&Config::default(), at(15, 0), &account(), &exposure(&[])),
        Ok(())
    );
}

#[test]
fn the_restart_window_is_the_restart_itself_across_midnight_too() {
    let mut c = Config::default(); // 04:45 UTC for 10 minutes
    assert!(!in_restart_window(&c, at(4, 44)));
    assert!(in_restart_window(&c, at(4, 45)));
    assert!(in_restart_window(&c, at(4, 54)));
    assert!(!in_restart_window(&c, at(4, 55)));
    c.ibkr.daily_restart_utc = vspread_core::config::TimeOfDay::from_hm(23, 55).unwrap();
    c.ibkr.daily_restart_minutes = 20;
    assert!(
        in_restart_window(&c, at(0, 10)),
        "yesterday's restart runs past midnight"
    );
    assert!(!in_restart_window(&c, at(0, 15)));
    assert!(in_restart_window(&c, at(23, 56)));
}

#[test]
fn every_refusal_names_its_rule_as_serialised() {
    let refusals = [
        Refusal::KillSwitch,
        Refusal::JournalDegraded {
            reason: "a journal write failed".into(),
        },
        Refusal::EntryWorking {
            underlying: "QQQ".into(),
            order_ref: "vs-1".into(),
        },
        Refusal::ResetGuard {
            restart_utc: "04:45".into(),
            guard_minutes: 15,
        },
        Refusal::DailyLoss {
            loss: d("1"),
            limit: d("1"),
        },
        Refusal::MaxPositions { open: 5, limit: 5 },
        Refusal::MaxPositionsPerUnderlying {
            underlying: "QQQ".into(),
            open: 1,
            limit: 1,
        },
        Refusal::IvCircuitBreaker {
            underlying: "QQQ".into(),
            iv: 1.2,
            max_iv: 1.0,
            resume: 0.9,
        },
        Refusal::ZeroSize { reason: "x".into() },
        Refusal::BuyingPower {
            after: d("1"),
            minimum: d("2"),
        },
    ];
    let names: Vec<&str> = refusals.iter().map(Refusal::rule).collect();
    assert_eq!(names, Refusal::RULES);
    // The rules only an entry by hand meets are named as serialised too,
    // and are not among the bot's.
    let manual = [
        Refusal::Oversized {
            requested: 9,
            allowed: 2,
            key: "trading.max_contracts_per_trade",
        },
        Refusal::ManualInLive,
        Refusal::WhatIfRejected {
            code: 201,
            reason: "x".into(),
        },
    ];
    for r in refusals.iter().chain(&manual) {
        assert_eq!(serde_json::to_value(r).unwrap()["rule"], r.rule());
    }
    assert!(manual.iter().all(|r| !Refusal::RULES.contains(&r.rule())));
}

#[test]
fn the_kill_switch_refuses_first() {
    let mut c = Config::default();
    c.risk.kill_switch = true;
    assert_eq!(
        gate(&c, at(15, 0), &account(), &exposure(&[])),
        Err(Refusal::KillSwitch)
    );
}

#[test]
fn position_limits_total_and_per_underlying() {
    let c = Config::default(); // max 5 total, 1 per underlying
    let full = exposure(&[
        ("QQQ", 1),
        ("IWM", 1),
        ("AAPL", 1),
        ("MSFT", 1),
        ("NVDA", 1),
    ]);
    assert_eq!(
        gate(&c, at(15, 0), &account(), &full),
        Err(Refusal::MaxPositions { open: 5, limit: 5 })
    );
    assert_eq!(
        gate(&c, at(15, 0), &account(), &exposure(&[("SPY", 1)])),
        Err(Refusal::MaxPositionsPerUnderlying {
            underlying: "SPY".into(),
            open: 1,
            limit: 1
        })
    );
    assert_eq!(
        gate(&c, at(15, 0), &account(), &exposure(&[("QQQ", 1)])),
        Ok(())
    );
}

#[test]
fn the_daily_loss_counts_realised_and_unrealised() {
    let c = Config::default(); // max_daily_loss 1000
    let mut acc = account();
    acc.realised_today = d("-600");
    acc.unrealised = d("-399.99");
    assert_eq!(gate(&c, at(15, 0), &acc, &exposure(&[])), Ok(()));
    acc.unrealised = d("-400");
    assert_eq!(
        gate(&c, at(15, 0), &acc, &exposure(&[])),
        Err(Refusal::DailyLoss {
            loss: d("1000"),
            limit: d("1000")
        })
    );
    // Gains elsewhere offset losses.
    acc.unrealised = d("500");
    assert_eq!(gate(&c, at(15, 0), &acc, &exposure(&[])), Ok(()));
}

#[test]
fn no_entries_around_the_gateways_daily_restart() {
    // Restart 04:45 UTC for 10 minutes, guard 15 minutes: 04:30 to 05:10.
    let c = Config::default();
    assert!(!in_reset_guard(&c, at(4, 29)));
    assert!(in_reset_guard(&c, at(4, 30)));
    assert!(in_reset_guard(&c, at(4, 50)));
    assert!(in_reset_guard(&c, at(5, 9)));
    assert!(!in_reset_guard(&c, at(5, 10)));
    assert!(matches!(
        gate(&c, at(4, 40), &account(), &exposure(&[])),
        Err(Refusal::ResetGuard { .. })
    ));
    // A restart at 23:55 guards across midnight, both sides.
    let mut late = Config::default();
    late.ibkr.daily_restart_utc = vspread_core::config::TimeOfDay::from_hm(23, 55).unwrap();
    assert!(in_reset_guard(&late, at(23, 41)));
    assert!(in_reset_guard(
        &late,
        Utc.with_ymd_and_hms(2026, 11, 24, 0, 15, 0).unwrap()
    ));
    assert!(!in_reset_guard(
        &late,
        Utc.with_ymd_and_hms(2026, 11, 24, 0, 20, 0).unwrap()
    ));
    late.risk.reset_guard_minutes = 0;
    assert!(!in_reset_guard(&late, at(23, 56)));
}

#[test]
fn sizing_takes_the_tightest_cap() {
    let c = Config::default(); // 1% risk, 10 contracts, 5000 max order value
    // 1% of 100,000 = 1,000; max loss 230 per contract -> floor(4.35) = 4.
    assert_eq!(size(&c, d("100000"), d("230")), Ok(4));
    // Max loss 40: risk allows 25, the contract cap 10.
    assert_eq!(size(&c, d("100000"), d("40")), Ok(10));
    // 1% of 1,000,000 = 10,000; max loss 900 -> 11 by risk, 10 by cap, but
    // 5000 / 900 = 5 by order value.
    assert_eq!(size(&c, d("1000000"), d("900")), Ok(5));
    // A contract above the risk budget: refused with the reason.
    match size(&c, d("100000"), d("1500")) {
        Err(Refusal::ZeroSize { reason }) => {
            assert!(reason.contains("risk budget 1000"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        size(&c, d("100000"), Decimal::ZERO),
        Err(Refusal::ZeroSize { .. })
    ));
}

#[test]
fn buying_power_must_remain_after_the_what_if_margin() {
    let c = Config::default(); // min_buying_power 2000
    assert_eq!(after_what_if(&c, d("5000"), d("3000")), Ok(()));
    assert_eq!(
        after_what_if(&c, d("5000"), d("3000.01")),
        Err(Refusal::BuyingPower {
            after: d("1999.99"),
            minimum: d("2000")
        })
    );
}

#[test]
fn the_iv_breaker_trips_above_max_and_resets_only_below_resume() {
    let c = Config::default(); // max_iv 1.0, resume 0.9
    let mut b = IvBreakers::default();
    assert_eq!(b.observe(&c, "TSLA", 0.95), None);
    assert_eq!(b.observe(&c, "TSLA", 1.01), Some(BreakerSwitch::Tripped));
    assert_eq!(b.blocking("TSLA"), Some(1.01));
    assert_eq!(b.blocking("SPY"), None);
    // Inside the band it stays tripped.
    assert_eq!(b.observe(&c, "TSLA", 0.95), None);
    assert_eq!(b.blocking("TSLA"), Some(0.95));
    assert_eq!(b.observe(&c, "TSLA", 0.89), Some(BreakerSwitch::Reset));
    assert_eq!(b.blocking("TSLA"), None);
    assert_eq!(b.observe(&c, "TSLA", f64::NAN), None);
}

proptest! {
    /// Sizing never breaks a cap: contracts x max loss stays within the
    /// risk budget and the order value limit, and within the contract cap.
    #[test]
    fn sizing_respects_every_cap(
        net_liq in 0u64..10_000_000,
        loss_cents in 1u64..1_000_000,
        pct in 0.01f64..10.0,
        cap in 1i64..1000,
        max_value in 0.0f64..1.0e6,
    ) {
        let mut c = Config::default();
        c.trading.risk_per_trade_pct = pct;
        c.trading.max_contracts_per_trade = cap;
        c.risk.max_order_value = max_value;
        let net_liq = Decimal::from(net_liq);
        let loss = Decimal::new(loss_cents as i64, 2);
        if let Ok(n) = size(&c, net_liq, loss) {
            let n = Decimal::from(n);
            prop_assert!(n >= Decimal::ONE);
            prop_assert!(n <= Decimal::from(cap));
            prop_assert!(n * loss <= net_liq * decimal(pct) / Decimal::ONE_HUNDRED);
            prop_assert!(n * loss <= decimal(max_value));
        }
    }

    /// Fed any IV path, the breaker switches only across the band: it
    /// trips only above max_iv and resets only below max_iv_resume, and
    /// never switches twice in a row the same way.
    #[test]
    fn the_breaker_never_flaps_inside_its_band(path in prop::collection::vec(0.5f64..1.5, 1..200)) {
        let c = Config::default();
        let mut b = IvBreakers::default();
        let mut last = None;
        for iv in path {
            if let Some(switch) = b.observe(&c, "X", iv) {
                match switch {
                    BreakerSwitch::Tripped => prop_assert!(iv > c.risk.max_iv),
                    BreakerSwitch::Reset => prop_assert!(iv < c.risk.max_iv_resume),
                }
                prop_assert_ne!(Some(switch), last);
                last = Some(switch);
            }
        }
    }
}

#[test]
fn every_refusing_rule_is_listed_in_the_gates_order_and_the_first_is_the_bots() {
    let mut c = Config::default();
    c.risk.kill_switch = true;
    let mut acc = account();
    acc.realised_today = d("-1500");
    let full = exposure(&[("SPY", 1), ("QQQ", 4)]);
    // 15:00 UTC is outside the guard around the gateway's restart.
    let all = pre_entry_refusals(&c, at(15, 0), "SPY", &acc, &full);
    let rules: Vec<&str> = all.iter().map(Refusal::rule).collect();
    assert_eq!(
        rules,
        [
            "kill_switch",
            "daily_loss",
            "max_positions",
            "max_positions_per_underlying"
        ]
    );
    assert_eq!(
        pre_entry(&c, at(15, 0), "SPY", &acc, &full),
        Err(all[0].clone())
    );
    assert_eq!(all[1].config_key(), Some("risk.max_daily_loss"));
    // Within the guard before the daily restart (04:45 UTC by default).
    let guarded = pre_entry_refusals(&Config::default(), at(4, 40), "SPY", &account(), &full);
    assert_eq!(guarded[0].rule(), "reset_guard");
}

#[test]
fn size_limits_name_the_bound_that_binds() {
    let c = Config::default(); // 1% risk, max_order_value 5000, 10 contracts
    // 1% of 100,000 = 1,000 over 210 a spread: 4 by risk; 23 by value.
    let l = size_limits(&c, d("100000"), d("210"));
    assert_eq!((l.by_risk, l.by_order_value, l.by_contracts), (4, 23, 10));
    assert_eq!((l.allowed, l.key), (4, "trading.risk_per_trade_pct"));
    assert_eq!(size(&c, d("100000"), d("210")), Ok(l.allowed));
    let rich = size_limits(&c, d("10000000"), d("210"));
    assert_eq!(
        (rich.allowed, rich.key),
        (10, "trading.max_contracts_per_trade")
    );
    assert_eq!(size_limits(&c, d("100000"), Decimal::ZERO).allowed, 0);
}
