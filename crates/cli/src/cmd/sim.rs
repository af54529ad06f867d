//! `vspread sim`: the simulated IB gateway on a TCP port, for vspread itself,
//! for tests, and for any TWS API client pointed at it offline.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use rust_decimal::Decimal;
use vspread_core::clock::{AcceleratedClock, Clock as _};
use vspread_sim::account::Account;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::server::{SimSettings, run};

/// Serves, so far: the handshake (server version 226), startup messages,
/// reqIds, reqCurrentTime, reqManagedAccts, reqContractDetails (stocks and
/// options), reqSecDefOptParams, daily reqHistoricalData and reqMktData
/// snapshots, reqAccountSummary and reqPositions. Other requests are answered with an error naming them.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4002")]
    listen: SocketAddr,
    /// Seed of the market (same seed, same market).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Trade around the clock instead of regular US hours.
    #[arg(long)]
    always_open: bool,
    /// Simulated start time (RFC 3339); default now.
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// Account id reported to clients.
    #[arg(long, default_value = "DU0000001")]
    account: String,
    /// Starting cash of the account, in USD.
    #[arg(long, default_value_t = 100_000)]
    cash: u64,
}

pub fn run_sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let start = args.start.unwrap_or_else(Utc::now);
    let clock = Arc::new(AcceleratedClock::new(start, args.speed).context("--speed")?);
    let market = Market::new(MarketConfig {
        seed: args.seed,
        start,
        always_open: args.always_open,
    });
    let settings = SimSettings {
        accounts: vec![args.account.clone()],
        first_order_id: 1,
        clock: clock.clone(),
        handshake_timeout: Duration::from_secs(10),
        market: Arc::new(Mutex::new(market)),
        account: Arc::new(Mutex::new(Account::new(
            args.account.clone(),
            Decimal::from(args.cash),
        ))),
    };
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::info!(
            listen = %listener.local_addr()?,
            seed = args.seed,
            speed = args.speed,
            sim_time = %clock.now(),
            "simulated gateway ready"
        );
        run(listener, settings, async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("stopping");
        })
        .await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
