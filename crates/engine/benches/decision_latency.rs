//! Decision latency: from the moment the last quote a decision needs is in
//! hand to the moment its order leaves the engine for the broker layer
//! (sizing, the price walk and the journal write that must reach the disk
//! first; an entry's what-if preview comes before its final quotes, so it
//! is not inside this window).
//!
//! The trader runs against the simulated gateway over TCP, with a real
//! SQLite journal, churning: every held spread is past `exit_dte`, so each
//! cycle closes what it holds and opens anew. Prints the median, p99 and
//! max over every entry and exit of the run.
//!
//! `cargo bench -p vspread-engine --bench decision_latency` (BENCH_SECS
//! sets the run's length, default 120).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::Config;
use vspread_engine::cycle_loop::CycleContext;
use vspread_engine::events::EventBus;
use vspread_engine::order_recorder::spawn_order_recorder;
use vspread_engine::trader::Trader;
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let start = chrono::Utc
        .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
        .unwrap();
    let market = Market::new(MarketConfig {
        seed: 3,
        start,
        always_open: false,
    });
    // The market stands still (its own clock), the engine's runs: every
    // walk meets the same quotes, and fills come once per simulated second.
    let frozen = Arc::new(ManualClock::new(start));
    let sim = Server::new(
        SimSettings::new(frozen),
        market,
        Venue::new(VenueConfig::new(3)),
    )
    .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let mut config = Config::default();
    config.trading.universe = vec!["QQQ".into(), "IWM".into()];
    config.trading.max_positions = 50;
    config.trading.max_positions_per_underlying = 25;
    config.risk.max_daily_loss = 1.0e6;
    config.execution.max_slippage_pct = 100.0;
    config.exits.exit_dte = 365;
    let mut settings = BrokerSettings::from_config(&config);
    settings.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start(settings));
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
    let clock = Arc::new(ManualClock::new(start));
    let _recorder = spawn_order_recorder(&*broker, journal.clone(), clock.clone());
    let events = Arc::new(EventBus::with_clock(100_000, clock.clone()));
    let trader = Trader::new(broker.clone(), clock.clone(), events.clone(), journal);
    let ticking = clock.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            ticking.advance(chrono::Duration::seconds(1));
        }
    });
    let config = Arc::new(config);
    let began = Instant::now();
    let mut number = 0;
    while began.elapsed() < Duration::from_secs(secs) {
        number += 1;
        let ctx = CycleContext {
            number,
            now: clock.now(),
            config: config.clone(),
            config_generation: 1,
            session_active: true,
            switched: None,
        };
        trader.cycle(&ctx).await;
    }
    let ended: Vec<_> = events
        .recent(100_000)
        .into_iter()
        .filter(|e| e.kind == "order.ended")
        .collect();
    let field = |name: &str| -> Vec<u64> {
        let mut v: Vec<u64> = ended.iter().filter_map(|e| e.data[name].as_u64()).collect();
        v.sort_unstable();
        v
    };
    let total = field("decision_latency_us");
    let journal = field("journal_us");
    let mut engine: Vec<u64> = ended
        .iter()
        .filter_map(|e| {
            Some(e.data["decision_latency_us"].as_u64()? - e.data["journal_us"].as_u64()?)
        })
        .collect();
    engine.sort_unstable();
    assert!(!total.is_empty(), "no order was placed in {secs} s");
    let report = |name: &str, v: &[u64]| {
        println!(
            "{name}: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            percentile(v, 0.5) as f64 / 1e3,
            percentile(v, 0.99) as f64 / 1e3,
            *v.last().unwrap() as f64 / 1e3,
        )
    };
    println!("{} orders in {number} cycles", total.len());
    report(
        "decision latency (last quote -> order to the broker layer)",
        &total,
    );
    report(
        "  of which the journal write, synced to disk first",
        &journal,
    );
    report("  the rest (sizing, walk, records)", &engine);
    broker.shutdown().await;
    sim.shutdown().await;
}
