//! The real stack for the engine's integration tests and benches: a
//! `vspread sim` on a loopback port, the broker layer over TCP, a SQLite
//! journal in a temporary directory, and the [`Engine`] built by its
//! builder, all on one clock. Nothing here wires the engine's parts by
//! hand: the builder does.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::Config;
use vspread_engine::live_config::LiveConfig;
use vspread_engine::{Engine, EngineBuilder};
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

/// A simulated gateway of `seed` from `start`, on `clock`, beating every
/// `heartbeat` (the simulator's default when `None`).
pub async fn sim(
    seed: u64,
    start: DateTime<Utc>,
    clock: Arc<dyn Clock>,
    heartbeat: Option<Duration>,
) -> ServerHandle {
    let market = Market::new(MarketConfig {
        seed,
        start,
        always_open: false,
    });
    sim_on(market, seed, clock, heartbeat).await
}

/// A simulated gateway on an existing market.
pub async fn sim_on(
    market: Market,
    seed: u64,
    clock: Arc<dyn Clock>,
    heartbeat: Option<Duration>,
) -> ServerHandle {
    let mut settings = SimSettings::new(clock);
    if let Some(beat) = heartbeat {
        settings.heartbeat = beat;
    }
    Server::new(settings, market, Venue::new(VenueConfig::new(seed)))
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
}

/// The broker layer connected to `sim`, ready.
pub async fn broker(sim: &ServerHandle, config: &Config, clock: Arc<dyn Clock>) -> Arc<IbBroker> {
    let mut settings = BrokerSettings::from_config(config);
    settings.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start_with_clock(settings, clock));
    broker.fix_address();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    broker
}

/// Moves a manual clock `step` every `every` of real time until dropped.
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub fn ticker(clock: Arc<ManualClock>, every: Duration, step: chrono::Duration) -> Ticker {
    Ticker(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            clock.advance(step);
        }
    }))
}

/// An engine on a simulated gateway, with its journal and config file.
pub struct EngineStack {
    pub engine: Engine,
    pub broker: Arc<IbBroker>,
    pub journal: Arc<SqliteJournal>,
    pub live: Arc<LiveConfig>,
    pub config_path: PathBuf,
    pub dir: tempfile::TempDir,
}

impl EngineStack {
    /// The engine over `sim` with `config` written to `config.toml` in a
    /// fresh directory (the file applies save to).
    pub async fn start(sim: &ServerHandle, config: &Config, clock: Arc<dyn Clock>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config_path = dir.path().join("config.toml");
        let store = vspread_engine::config_store::ConfigStore::new(&config_path);
        store.init(false).unwrap();
        store.save(config, None).unwrap();
        Self::on_file(sim, dir, config_path, clock).await
    }

    /// The engine over `sim` on an existing config file in `dir`.
    pub async fn on_file(
        sim: &ServerHandle,
        dir: tempfile::TempDir,
        config_path: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let live = LiveConfig::load(&config_path).unwrap();
        let config = live.current().config.clone();
        let broker = broker(sim, &config, clock.clone()).await;
        let journal = Arc::new(SqliteJournal::open_in(dir.path()).unwrap());
        let engine = EngineBuilder::new(
            live.clone(),
            broker.clone() as Arc<dyn Broker>,
            journal.clone(),
            clock,
        )
        .events_capacity(100_000)
        .build()
        .unwrap();
        Self {
            engine,
            broker,
            journal,
            live,
            config_path,
            dir,
        }
    }

    pub async fn stop(self) {
        self.broker.shutdown().await;
    }
}
