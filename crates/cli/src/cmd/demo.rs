//! `vspread demo`: the whole stack against the simulated gateway, in one
//! process (assembled by [`vspread_app::demo`]); Ctrl-C or SIGTERM stops it
//! and a restart continues the same account.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Args;
use vspread_app::{DemoOptions, run_demo};

use super::shutdown_signal;
use super::sim::FillArgs;
use crate::logging::ConfigLogging;

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
    /// The simulated market trades around the clock instead of regular US
    /// hours (a fresh demo only); with `[trading_schedule] enabled = false`
    /// the engine then trades without a break.
    #[arg(long)]
    always_open: bool,
    #[command(flatten)]
    fill: FillArgs,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let options = DemoOptions {
        data_dir: args.data_dir,
        listen: args.listen,
        seed: args.seed,
        speed: args.speed,
        start: args.start,
        print_token: true,
        always_open: args.always_open,
        fill_model: args.fill.model()?,
    };
    runtime.block_on(async move {
        // Signals are caught from the first moment, so a stop during start
        // up is still a clean stop.
        let shutdown = shutdown_signal()?;
        run_demo(options, Some(Arc::new(ConfigLogging)), None, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}
