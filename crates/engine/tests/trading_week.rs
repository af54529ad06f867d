//! A simulated trading week at 1,800 times real time: the whole engine
//! (its `run`: cycle loop, trader, order manager, order recorder, SQLite
//! journal) against the
//! simulated gateway over TCP through the real broker layer, from Monday's
//! open to Friday's close, both on one accelerated clock. Trades open on
//! signals and close by their exit rules; at the end the journal's money,
//! folded from every fill and commission it recorded, is the simulator
//! account's to the cent, and every trade the journal closed is flat at the
//! gateway.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use rust_decimal::Decimal;
use vspread_core::clock::{AcceleratedClock, Clock};
use vspread_core::config::Config;
use vspread_core::journal::Journal;

use support::stack::{EngineStack, sim};

const SPEED: f64 = 1800.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_week_ends_with_the_journal_and_the_account_agreeing_to_the_cent() {
    // Monday 2026-11-23 09:35 New York to Friday 2026-11-27 16:00.
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 14, 35, 0)
        .unwrap();
    let end = chrono::Utc
        .with_ymd_and_hms(2026, 11, 27, 21, 0, 0)
        .unwrap();
    let clock = Arc::new(AcceleratedClock::new(start, SPEED).unwrap());
    // 180 simulated seconds per beat: a fill chance or two per walk step
    // without flooding the client with ticks.
    let sim = sim(3, start, clock.clone(), Some(Duration::from_millis(100))).await;
    let starting_cash = Decimal::from(100_000);

    // Every interval scaled to the clock: a cycle per real second, a walk
    // step per 170 ms, an order's life about a second.
    let mut config = Config::default();
    config.trading.universe = vec!["QQQ".into(), "IWM".into()];
    config.trading.scan_interval_s = 1800;
    config.execution.walk_interval_s = 600.0;
    config.execution.order_timeout_s = 3600.0;
    config.execution.max_slippage_pct = 100.0;
    // A narrow chain, so a scan's quotes take seconds, not a trading day.
    config.scanner.dte_min = 21;
    config.scanner.dte_max = 35;
    config.scanner.width_max = 5.0;
    // Exits that a week's moves reach.
    config.exits.profit_target_pct = 20.0;
    config.exits.stop_loss_atr_mult = 0.5;
    config.validate().unwrap();

    let stack = EngineStack::start(&sim, &config, clock.clone()).await;
    let (engine, journal) = (&stack.engine, &stack.journal);
    let until = clock.clone();
    let began = Instant::now();
    engine
        .run(async move {
            while until.now() < end {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
    let real = began.elapsed();

    // The last order's fills and commissions reach the journal just after
    // its end; the account is then quiet (the market is closed).
    let cash = || -> (Decimal, Decimal) {
        let journal: Decimal = journal.spreads().unwrap().iter().map(|s| s.cash).sum();
        let ledger = sim.ledger();
        let sim_cash: Decimal = ledger["cash"].as_str().unwrap().parse().unwrap();
        (journal, sim_cash - starting_cash)
    };
    let quiet = Instant::now();
    let mut seen = cash();
    while seen.0 != seen.1 && quiet.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = cash();
    }
    let spreads = journal.spreads().unwrap();
    let closed: Vec<_> = spreads.iter().filter(|s| !s.is_open()).collect();
    let realised: Decimal = closed.iter().map(|s| s.cash).sum();
    let reasons: Vec<_> = closed
        .iter()
        .filter_map(|s| s.closure.as_ref().map(|c| c.reason.clone()))
        .collect();
    eprintln!(
        "week in {real:?}: {} orders, {} spreads opened, {} closed ({reasons:?}), realised {realised}, journal cash {} = account cash change {}",
        journal.orders().unwrap().len(),
        spreads.len(),
        closed.len(),
        seen.0,
        seen.1
    );
    let recent: Vec<_> = engine
        .events()
        .recent(60)
        .into_iter()
        .map(|e| format!("{} {} {}", e.at, e.kind(), e.message))
        .collect();
    assert!(!spreads.is_empty(), "the week traded nothing: {recent:#?}");
    assert!(!closed.is_empty(), "no trade closed within the week");
    assert_eq!(seen.0, seen.1, "journal money = the account's, to the cent");
    // Each closed trade's legs are flat at the gateway, and each open one's
    // legs are held as the journal says.
    let ledger = sim.ledger();
    let held = |con_id: i64| -> Decimal {
        ledger["positions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["con_id"].as_i64() == Some(con_id))
            .map(|p| p["quantity"].as_str().unwrap().parse::<Decimal>().unwrap())
            .sum()
    };
    let mut expected: std::collections::BTreeMap<i64, Decimal> = Default::default();
    for s in &spreads {
        for (con_id, q) in s.leg_positions() {
            *expected.entry(con_id.0).or_default() += q;
        }
    }
    for (con_id, q) in expected {
        assert_eq!(held(con_id), q, "conId {con_id}");
    }
    stack.stop().await;
    sim.shutdown().await;
}
