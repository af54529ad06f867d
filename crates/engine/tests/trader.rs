//! The trader against `vspread sim` over TCP through the real broker
//! layer: on a market where QQQ sits in a high base and IWM in a low base,
//! one cycle opens a bullish spread on QQQ and a bearish one on IWM, each
//! step published; later cycles close both by the DTE rule and report each
//! trade's P&L after commissions, and the gateway ends flat.
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
use serde_json::Value;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::Direction;
use vspread_core::broker::Broker;
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_core::journal::{EventQuery, Journal};
use vspread_engine::cycle_loop::CycleContext;
use vspread_engine::events::{Event, EventBus};
use vspread_engine::order_recorder::spawn_order_recorder;
use vspread_engine::trader::Trader;
use vspread_journal::SqliteJournal;
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};

/// Seed 3 on Monday 2026-11-23 10:00 New York: QQQ signals high_base and
/// IWM low_base with the default strategies.
const SEED: u64 = 3;

fn of_kind<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
    events.iter().filter(|e| e.kind == kind).collect()
}

fn symbol(e: &Event) -> &str {
    e.data["symbol"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cycle_opens_the_signalled_spreads_and_a_later_one_closes_them() {
    let market = support::market_chain::market(SEED);
    let clock = Arc::new(ManualClock::new(market.now()));
    let frozen = Arc::new(ManualClock::new(market.now()));
    let mut settings = SimSettings::new(frozen);
    settings.heartbeat = Duration::from_millis(20);
    let server = Server::new(settings, market, Venue::new(VenueConfig::new(SEED)));
    let sim = server.start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let mut config = Config::default();
    config.trading.universe = vec!["QQQ".into(), "IWM".into()];
    // The simulator's clock never moves here, so no simulated time passes
    // for a resting combo to fill (its fill model is a rate per simulated
    // minute): only a limit at the natural fills, and the walk must be
    // allowed to get there.
    config.execution.max_slippage_pct = 100.0;
    let mut broker_settings = BrokerSettings::from_config(&config);
    broker_settings.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start(broker_settings));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let ticking = clock.clone();
    let ticker = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });

    let dir = tempfile::tempdir().unwrap();
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    let recorder = spawn_order_recorder(&*broker, journal.clone(), clock.clone());
    let events = Arc::new(EventBus::new(10_000));
    events.attach_journal(journal.clone()).unwrap();
    let trader = Trader::new(
        broker.clone(),
        clock.clone(),
        events.clone(),
        journal.clone(),
    );
    let context = |config: &Config| CycleContext {
        number: 1,
        now: vspread_core::clock::Clock::now(clock.as_ref()),
        config: Arc::new(config.clone()),
        config_generation: 1,
        session_active: true,
        switched: None,
    };
    trader.cycle(&context(&config)).await;
    let seen = events.recent(10_000);
    let fired = of_kind(&seen, "signal.fired");
    let fired: Vec<(&str, &str)> = fired
        .iter()
        .map(|e| (symbol(e), e.data["signal"]["strategy"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fired,
        vec![("QQQ", "high_base"), ("IWM", "low_base")],
        "{seen:#?}"
    );
    assert_eq!(of_kind(&seen, "scan.completed").len(), 2);
    let opened = of_kind(&seen, "position.opened");
    assert_eq!(opened.len(), 2, "{seen:#?}");
    let held = trader.held().await;
    assert_eq!(held.len(), 2);
    for h in &held {
        let want = if h.order_spread.underlying == "QQQ" {
            Direction::Bullish
        } else {
            Direction::Bearish
        };
        assert_eq!(h.order_spread.kind.direction(), want);
        assert!(h.position.quantity() >= 1);
    }
    // The journal has both orders, ended, and both spreads open; a trader
    // started afresh on it (a restart) holds the same spreads.
    let orders = journal.orders().unwrap();
    assert_eq!(orders.len(), 2, "{orders:#?}");
    assert!(
        orders
            .iter()
            .all(|o| !o.is_open() && o.filled >= Decimal::ONE)
    );
    let spreads = journal.spreads().unwrap();
    assert_eq!(spreads.iter().filter(|s| s.is_open()).count(), 2);
    let restarted = Trader::new(
        broker.clone(),
        clock.clone(),
        events.clone(),
        journal.clone(),
    );
    assert_eq!(restarted.restore_from_journal().await.unwrap(), 2);
    let key = |h: &vspread_engine::trader::HeldSpread| (h.entry_ref.clone(), h.position.quantity());
    let mut before: Vec<_> = held.iter().map(key).collect();
    let mut after: Vec<_> = restarted.held().await.iter().map(key).collect();
    before.sort();
    after.sort();
    assert_eq!(before, after);
    assert_eq!(
        restarted.realised_today().await,
        trader.realised_today().await
    );
    let journaled = journal
        .events(&EventQuery {
            kind_prefixes: vec!["signal.fired".into()],
            limit: 0,
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
    let positions = broker.positions().await.unwrap();
    assert_eq!(
        positions.iter().filter(|p| !p.quantity.is_zero()).count(),
        4
    );

    // With exit_dte at its maximum every spread is inside it: exit cycles
    // (no new entries) until flat.
    config.exits.exit_dte = 365;
    let mut exit_context = context(&config);
    exit_context.session_active = false;
    for _ in 0..20 {
        if trader.held().await.is_empty() {
            break;
        }
        trader.cycle(&exit_context).await;
    }
    let seen = events.recent(10_000);
    let left = trader.held().await;
    assert!(
        left.is_empty(),
        "{:#?}",
        seen.iter().map(|e| &e.message).collect::<Vec<_>>()
    );
    let closed = of_kind(&seen, "trade.closed");
    assert_eq!(closed.len(), 2, "{seen:#?}");
    for c in &closed {
        assert_eq!(c.data["reason"]["reason"], Value::from("dte"));
        assert!(c.data["r_multiple"].as_f64().unwrap().is_finite());
    }
    assert!(
        of_kind(&seen, "decision.entry").len() == 2,
        "no entry while inactive"
    );
    let positions = broker.positions().await.unwrap();
    assert!(
        positions.iter().all(|p| p.quantity.is_zero()),
        "{positions:?}"
    );
    // The day's realised P&L is the trades' P&L.
    let sum: Decimal = closed
        .iter()
        .map(|c| {
            c.data["realised"]
                .as_str()
                .unwrap()
                .parse::<Decimal>()
                .unwrap()
        })
        .sum();
    assert_eq!(trader.realised_today().await, sum);
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
    recorder.abort();
    ticker.abort();
    broker.shutdown().await;
    sim.shutdown().await;
}
