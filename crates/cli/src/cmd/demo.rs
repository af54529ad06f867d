//! `vspread demo`: the whole stack against the simulated gateway, in one
//! process. The simulator listens on a loopback port and the engine reaches
//! it through the real broker layer, exactly as it would reach TWS. Its
//! config lives at `<data-dir>/config.toml` (written with demo settings on
//! first start, reused after) and the simulator's account and market in
//! `<data-dir>/sim-state.json`, so a restarted demo continues where it was.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, TimeZone as _, Utc};
use clap::Args;
use serde_json::json;
use vspread_core::clock::{AcceleratedClock, Clock as _};
use vspread_engine::config_store::ConfigStore;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::persist;
use vspread_sim::server::{Server, SimSettings};

use super::stack::{EngineClock, StackOptions, prepare, run_stack, shutdown_signal};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo keeps its config, journal, token and simulator state.
    #[arg(long, default_value = "vspread-demo")]
    data_dir: PathBuf,
    /// Where the admin server (API and UI) listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The simulated market's seed (a fresh demo only).
    #[arg(long, default_value_t = 3)]
    seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Simulated start (a fresh demo only): by default a Monday morning,
    /// New York time, when the seed-3 market has setups to trade.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
}

/// Settings the demo writes over the defaults in a fresh config: a scan
/// every simulated minute, and the data in the demo's directory. The limit
/// walk keeps its default `[execution]` (up to `max_slippage_pct` of the
/// mid-to-natural distance): the simulator fills resting combos between
/// the mid and the natural as a liquid market does (crates/sim/README.md,
/// "Fill model").
fn demo_settings() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        ("trading.scan_interval_s", json!(60)),
        ("storage.data_dir", json!(".")),
    ]
}

fn write_fresh_config(path: &std::path::Path) -> anyhow::Result<()> {
    let store = ConfigStore::new(path);
    store.init(false).context("writing the demo config")?;
    for (key, value) in demo_settings() {
        store
            .set(key, value)
            .with_context(|| format!("setting {key} in the demo config"))?;
    }
    Ok(())
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    // The admin port and the data directory first: a second demo on this
    // directory stops here, before its simulator reads (and at its stop
    // would write) the state file the first one owns.
    let prepared = runtime.block_on(prepare(&args.listen.to_string(), &args.data_dir))?;
    let config_path = args.data_dir.join("config.toml");
    if config_path.exists() {
        tracing::info!(config = %config_path.display(), "reusing the demo config");
    } else {
        write_fresh_config(&config_path)?;
        tracing::info!(config = %config_path.display(), "wrote a fresh demo config");
    }
    let state_path = args.data_dir.join("sim-state.json");
    let (market, venue) = match persist::load(&state_path)? {
        Some(state) => {
            let book = state.into_book();
            tracing::info!(sim_time = %book.market.now(), "resuming the simulated account and market");
            (book.market, book.venue)
        }
        None => {
            let start = args
                .start
                .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap());
            let market = Market::new(MarketConfig {
                seed: args.seed,
                start,
                always_open: false,
            });
            (market, Venue::new(VenueConfig::new(args.seed)))
        }
    };
    let clock = Arc::new(AcceleratedClock::new(market.now(), args.speed).context("--speed")?);
    let server =
        Server::new(SimSettings::new(clock.clone()), market, venue).state_file(&state_path);

    runtime.block_on(async move {
        // Signals are caught from the first moment, so a stop during start
        // up is still a clean stop.
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the simulator's port")?;
        let sim = server.start(listener);
        tracing::info!(
            gateway = %sim.local_addr(),
            sim_time = %clock.now(),
            speed = args.speed,
            "simulated gateway ready"
        );
        let options = StackOptions {
            config_path,
            listen: Some(args.listen),
            gateway: Some(sim.local_addr().to_string()),
            clock: EngineClock::Given(clock.clone()),
            print_token: true,
            prepared: Some(prepared),
        };
        let result = run_stack(options, shutdown).await;
        sim.shutdown().await;
        result
    })?;
    Ok(ExitCode::SUCCESS)
}
