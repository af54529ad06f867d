//! The engine against `vspread sim` over TCP through the real broker layer:
//! on a market where QQQ sits in a high base and IWM in a low base, one
//! decision cycle hands a bullish spread on QQQ and a bearish one on IWM to
//! the order manager, each step published; the orders fill apart from the
//! cycle; later cycles close both by the DTE rule and report each trade's
//! P&L after commissions, and the gateway ends flat.
//!
//! The simulator's market is frozen (its clock never moves) while the
//! engine's clock runs, so every walk meets the same quotes and the test
//! replays exactly: an order reaching the natural price fills one chunk
//! (the simulator fills an order at most once per simulated second), the
//! rest is cancelled at the timeout, and exits repeat until flat.

mod support;

use std::sync::Arc;
use std::time::Duration;

use rust_decimal::Decimal;
use vspread_core::Direction;
use vspread_core::broker::Broker;
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::journal::{EventQuery, Journal};
use vspread_engine::events::{EngineEvent, Event};
use vspread_engine::{Engine, EngineBuilder};

use support::stack::{EngineStack, sim_on, ticker};

/// Seed 3 on Monday 2026-11-23 10:00 New York: QQQ signals high_base and
/// IWM low_base with the default strategies.
const SEED: u64 = 3;

fn of_kind<'a>(events: &'a [Arc<Event>], kind: &str) -> Vec<&'a Event> {
    events
        .iter()
        .filter(|e| e.kind() == kind)
        .map(|e| &**e)
        .collect()
}

/// Runs one cycle and waits for the orders it handed over to end.
async fn cycle(engine: &Engine, session_active: bool) {
    engine.decide_once(session_active).await;
    assert!(
        engine.wait_orders_idle(Duration::from_secs(60)).await,
        "orders still working a minute later"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cycle_opens_the_signalled_spreads_and_a_later_one_closes_them() {
    let market = support::market_chain::market(SEED);
    let clock = Arc::new(ManualClock::new(market.now()));
    let frozen = Arc::new(ManualClock::new(market.now()));
    let sim = sim_on(market, SEED, frozen, Some(Duration::from_millis(20))).await;
    let mut config = Config::default();
    config.trading.universe = vec!["QQQ".into(), "IWM".into()];
    // The simulator's clock never moves here, so no simulated time passes
    // for a resting combo to fill (its fill model is a rate per simulated
    // minute): only a limit at the natural fills, and the walk must be
    // allowed to get there.
    config.execution.max_slippage_pct = 100.0;
    let stack = EngineStack::start(&sim, &config, clock.clone()).await;
    let _ticker = ticker(
        clock.clone(),
        Duration::from_millis(10),
        chrono::Duration::seconds(1),
    );
    let engine = &stack.engine;
    let _services = engine.start_services();
    engine.recover().await;

    cycle(engine, true).await;
    let seen = engine.events().recent(100_000);
    let fired: Vec<(String, &str)> = seen
        .iter()
        .filter_map(|e| match &e.event {
            EngineEvent::SignalFired(f) => Some((f.symbol.clone(), f.signal.strategy.name())),
            _ => None,
        })
        .collect();
    assert_eq!(
        fired,
        vec![
            ("QQQ".to_string(), "high_base"),
            ("IWM".to_string(), "low_base")
        ],
        "{seen:#?}"
    );
    let messages: Vec<&str> = seen.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(of_kind(&seen, "scan.completed").len(), 2, "{messages:#?}");
    let opened = of_kind(&seen, "position.opened");
    assert_eq!(opened.len(), 2, "{seen:#?}");
    let held = engine.trader().held();
    assert_eq!(held.len(), 2);
    for h in &held {
        let want = if h.symbol() == "QQQ" {
            Direction::Bullish
        } else {
            Direction::Bearish
        };
        assert_eq!(h.spread().kind().direction(), want);
        assert!(h.position.quantity() >= 1);
    }
    // The journal has both orders, ended, and both spreads open; an engine
    // started afresh on it (a restart) holds the same spreads.
    let journal = &stack.journal;
    let orders = journal.orders().unwrap();
    assert_eq!(orders.len(), 2, "{orders:#?}");
    assert!(
        orders
            .iter()
            .all(|o| !o.is_open() && o.filled >= Decimal::ONE)
    );
    let spreads = journal.spreads().unwrap();
    assert_eq!(spreads.iter().filter(|s| s.is_open()).count(), 2);
    let restarted = EngineBuilder::new(
        stack.live.clone(),
        stack.broker.clone() as Arc<dyn Broker>,
        journal.clone(),
        clock.clone(),
    )
    .build()
    .unwrap();
    assert_eq!(restarted.trader().restore_from_journal().await.unwrap(), 2);
    let key = |h: &vspread_engine::trader::HeldSpread| (h.entry_ref.clone(), h.position.quantity());
    let mut before: Vec<_> = held.iter().map(key).collect();
    let mut after: Vec<_> = restarted.trader().held().iter().map(key).collect();
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(
        restarted.trader().realised_today(),
        engine.trader().realised_today()
    );
    assert!(engine.events().flush_journal(Duration::from_secs(5)));
    let journaled = journal
        .events(&EventQuery {
            kind_prefixes: vec!["signal.fired".into()],
            order_refs: None,
            limit: 0,
            after: None,
            before: None,
        })
        .unwrap();
    assert_eq!(
        journaled.len(),
        2,
        "signals are journaled with their values"
    );
    assert!(
        journaled[0].data.contains("\"rsi\""),
        "{}",
        journaled[0].data
    );
    // The gateway holds both spreads' legs.
    let positions = stack.broker.positions().await.unwrap();
    assert_eq!(
        positions.iter().filter(|p| !p.quantity.is_zero()).count(),
        4
    );

    // With exit_dte at its maximum every spread is inside it: exit cycles
    // (no new entries) until flat.
    let mut exiting = stack.live.current().config.as_ref().clone();
    exiting.exits.exit_dte = 365;
    let version = stack.live.current().version.clone();
    engine.apply(exiting, &version, "test").await.unwrap();
    for _ in 0..20 {
        if engine.trader().held().is_empty() {
            break;
        }
        cycle(engine, false).await;
    }
    let seen = engine.events().recent(100_000);
    let left = engine.trader().held();
    assert!(
        left.is_empty(),
        "{:#?}",
        seen.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    let closed: Vec<_> = seen
        .iter()
        .filter_map(|e| match &e.event {
            EngineEvent::TradeClosed(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(closed.len(), 2, "{seen:#?}");
    for c in &closed {
        assert_eq!(c.reason, "dte");
        assert!(c.r_multiple.is_finite());
    }
    assert!(
        of_kind(&seen, "decision.entry").len() == 2,
        "no entry while inactive"
    );
    let positions = stack.broker.positions().await.unwrap();
    assert!(
        positions.iter().all(|p| p.quantity.is_zero()),
        "{positions:?}"
    );
    // The day's realised P&L is the trades' P&L.
    let sum: Decimal = closed.iter().map(|c| c.realised).sum();
    assert_eq!(engine.trader().realised_today(), sum);
    // The journal folds the same P&L from the fills, to the cent, and
    // knows why each spread closed.
    let spreads = journal.spreads().unwrap();
    assert!(spreads.iter().all(|s| !s.is_open()));
    assert!(
        spreads
            .iter()
            .all(|s| s.closure.as_ref().is_some_and(|c| c.reason == "dte"))
    );
    assert_eq!(spreads.iter().map(|s| s.cash).sum::<Decimal>(), sum);
    stack.stop().await;
    sim.shutdown().await;
}
