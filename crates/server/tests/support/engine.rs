//! A real engine for the API tests: a `vspread sim` on a loopback port (its
//! market frozen at a Monday morning), the broker layer connected to it, a
//! SQLite journal and the config file in a temporary directory, and the
//! engine built by its builder. The engine's loop is not run: the tests
//! drive the API, and what they need of trading they place themselves.

// Each test binary uses its own part of it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone as _, Utc};
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{Clock, ManualClock};
use vspread_engine::live_config::LiveConfig;
use vspread_engine::{Engine, EngineBuilder};
use vspread_journal::SqliteJournal;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

/// The engine and what the tests reach beside it.
pub struct Running {
    pub engine: Engine,
    pub sim: ServerHandle,
    pub broker: Arc<IbBroker>,
    pub journal: Arc<SqliteJournal>,
    pub clock: Arc<ManualClock>,
}

/// An engine on the config file at `path`, its journal in `dir`.
pub async fn start(dir: &Path, path: &Path) -> Running {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let market = Market::new(MarketConfig {
        seed: 3,
        start,
        always_open: false,
    });
    let sim = Server::new(
        SimSettings::new(clock.clone()),
        market,
        Venue::new(VenueConfig::new(3)),
    )
    .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
    let live = LiveConfig::load(path).unwrap();
    let mut settings = BrokerSettings::from_config(&live.current().config);
    settings.address = sim.local_addr().to_string();
    let broker = Arc::new(IbBroker::start_with_clock(
        settings,
        clock.clone() as Arc<dyn Clock>,
    ));
    broker.fix_address();
    broker.wait_ready(Duration::from_secs(10)).await.unwrap();
    let journal = Arc::new(SqliteJournal::open_in(dir).unwrap());
    let engine = EngineBuilder::new(
        live,
        broker.clone() as Arc<dyn Broker>,
        journal.clone(),
        clock.clone(),
    )
    .build()
    .unwrap();
    Running {
        engine,
        sim,
        broker,
        journal,
        clock,
    }
}
