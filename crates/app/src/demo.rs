//! The demo stack: the engine against the built-in simulated gateway, in
//! one process. The simulator listens on a loopback port and the engine
//! reaches it through the real broker layer, exactly as it would reach
//! TWS. Its config lives at `<data-dir>/config.toml` (written with demo
//! settings on first start, reused after) and the simulator's account and
//! market in `<data-dir>/sim-state.json`, so a restarted demo continues
//! where it was.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::json;
use vspread_core::clock::{AcceleratedClock, Clock as _};
use vspread_engine::config_store::ConfigStore;
use vspread_engine::engine::LogControl;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{FillModel, Venue, VenueConfig};
use vspread_sim::persist;
use vspread_sim::server::{Server, SimSettings};

use crate::stack::{EngineClock, StackOptions, StackReady, prepare, run_stack};

/// What a demo runs with.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where the demo keeps its config, journal, token and simulator state.
    pub data_dir: PathBuf,
    /// Where the admin server (API and UI) listens; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The simulated market's seed (a fresh demo only).
    pub seed: u64,
    /// Simulated seconds per real second.
    pub speed: f64,
    /// Simulated start (a fresh demo only); by default a Monday morning,
    /// New York time, when the seed-3 market has setups to trade.
    pub start: Option<DateTime<Utc>>,
    /// Print a newly generated admin token on stdout.
    pub print_token: bool,
    /// The simulated market trades around the clock instead of regular US
    /// hours (a fresh demo only; a resumed one keeps its market's hours).
    pub always_open: bool,
    /// How the simulator fills resting combos; taken on every start, also
    /// when resuming a saved demo (as `vspread sim` takes its flags).
    pub fill_model: FillModel,
}

impl DemoOptions {
    /// The demo's defaults in `data_dir`, admin server on `listen`.
    pub fn new(data_dir: impl Into<PathBuf>, listen: SocketAddr) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen,
            seed: 3,
            speed: 60.0,
            start: None,
            print_token: false,
            always_open: false,
            fill_model: FillModel::default(),
        }
    }
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

fn write_fresh_config(path: &Path) -> anyhow::Result<()> {
    let store = ConfigStore::new(path);
    store.init(false).context("writing the demo config")?;
    for (key, value) in demo_settings() {
        store
            .set(key, value)
            .with_context(|| format!("setting {key} in the demo config"))?;
    }
    Ok(())
}

/// Runs the demo until `shutdown` completes: the admin port and the data
/// directory's lock first (a second demo on this directory stops here,
/// before its simulator reads, and at its stop would write, the state file
/// the first one owns), then the simulator, then the stack. The simulator
/// saves its state when it stops.
pub async fn run_demo(
    options: DemoOptions,
    logging: Option<Arc<dyn LogControl>>,
    ready: Option<tokio::sync::oneshot::Sender<StackReady>>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating {}", options.data_dir.display()))?;
    let prepared = prepare(&options.listen.to_string(), &options.data_dir).await?;
    let config_path = options.data_dir.join("config.toml");
    if config_path.exists() {
        tracing::info!(config = %config_path.display(), "reusing the demo config");
    } else {
        write_fresh_config(&config_path)?;
        tracing::info!(config = %config_path.display(), "wrote a fresh demo config");
    }
    let state_path = options.data_dir.join("sim-state.json");
    let (market, venue) = match persist::load(&state_path)? {
        Some(state) => {
            let book = state.into_book();
            tracing::info!(sim_time = %book.market.now(), "resuming the simulated account and market");
            (book.market, book.venue)
        }
        None => {
            let start = options
                .start
                .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap());
            let market = Market::new(MarketConfig {
                seed: options.seed,
                start,
                always_open: options.always_open,
            });
            (market, Venue::new(VenueConfig::new(options.seed)))
        }
    };
    let mut venue = venue;
    venue.set_fill_model(options.fill_model);
    let clock = Arc::new(AcceleratedClock::new(market.now(), options.speed).context("--speed")?);
    let server =
        Server::new(SimSettings::new(clock.clone()), market, venue).state_file(&state_path);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the simulator's port")?;
    let sim = server.start(listener);
    tracing::info!(
        gateway = %sim.local_addr(),
        sim_time = %clock.now(),
        speed = options.speed,
        "simulated gateway ready"
    );
    let stack = StackOptions {
        config_path,
        // The address actually bound (port 0 picks one).
        listen: Some(prepared.listener.local_addr()?),
        gateway: Some(sim.local_addr().to_string()),
        clock: EngineClock::Given(clock.clone()),
        print_token: options.print_token,
        prepared: Some(prepared),
        logging,
        ready,
    };
    let result = run_stack(stack, shutdown).await;
    sim.shutdown().await;
    result
}
