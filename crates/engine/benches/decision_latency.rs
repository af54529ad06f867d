//! Decision latency: from the moment the last quote a decision needs is in
//! hand to the moment its order leaves the engine for the broker layer
//! (sizing, the price walk and the journal write that must reach the disk
//! first; an entry's what-if preview comes before its final quotes, so it
//! is not inside this window).
//!
//! The engine (built by its builder) runs against the simulated gateway
//! over TCP, with a real SQLite journal, churning: every held spread is
//! past `exit_dte`, so each cycle closes what it holds and opens anew.
//! Prints the median, p99 and max over every entry and exit of the run.
//!
//! `cargo bench -p vspread-engine --bench decision_latency` (BENCH_SECS
//! sets the run's length, default 120).

#[path = "../tests/support/stack.rs"]
#[allow(dead_code)]
mod stack;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_engine::events::EngineEvent;

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
    // The market stands still (its own clock), the engine's runs: every
    // walk meets the same quotes, and fills come once per simulated second.
    let frozen = Arc::new(ManualClock::new(start));
    let sim = stack::sim(3, start, frozen, None).await;
    let mut config = Config::default();
    config.trading.universe = vec!["QQQ".into(), "IWM".into()];
    config.trading.max_positions = 50;
    config.trading.max_positions_per_underlying = 25;
    config.risk.max_daily_loss = 1.0e6;
    config.execution.max_slippage_pct = 100.0;
    config.exits.exit_dte = 365;
    let clock = Arc::new(ManualClock::new(start));
    let running = stack::EngineStack::start(&sim, &config, clock.clone()).await;
    let _ticker = stack::ticker(
        clock.clone(),
        Duration::from_millis(10),
        chrono::Duration::seconds(1),
    );
    let engine = &running.engine;
    let _services = engine.start_services();
    engine.recover().await;
    let began = Instant::now();
    let mut cycles = 0;
    while began.elapsed() < Duration::from_secs(secs) {
        cycles += 1;
        engine.decide_once(true).await;
        engine.wait_orders_idle(Duration::from_secs(60)).await;
    }
    let ended: Vec<_> = engine
        .events()
        .recent(100_000)
        .into_iter()
        .filter_map(|e| match &e.event {
            EngineEvent::OrderEnded(ended) => Some(ended.clone()),
            _ => None,
        })
        .collect();
    let sorted = |mut v: Vec<u64>| {
        v.sort_unstable();
        v
    };
    let total = sorted(ended.iter().map(|e| e.decision_latency_us).collect());
    let journal = sorted(ended.iter().map(|e| e.journal_us).collect());
    let rest = sorted(
        ended
            .iter()
            .map(|e| e.decision_latency_us.saturating_sub(e.journal_us))
            .collect(),
    );
    assert!(!total.is_empty(), "no order was placed in {secs} s");
    let report = |name: &str, v: &[u64]| {
        println!(
            "{name}: median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            percentile(v, 0.5) as f64 / 1e3,
            percentile(v, 0.99) as f64 / 1e3,
            *v.last().unwrap() as f64 / 1e3,
        )
    };
    println!("{} orders in {cycles} cycles", total.len());
    report(
        "decision latency (last quote -> order to the broker layer)",
        &total,
    );
    report(
        "  of which the journal write, synced to disk first",
        &journal,
    );
    report("  the rest (sizing, walk, records)", &rest);
    running.stop().await;
    sim.shutdown().await;
}
