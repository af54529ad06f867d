//! `vspread run`: the trading stack against TWS or IB Gateway, paper by
//! default. Trading a live account takes two deliberate switches: `mode =
//! "live"` under `[trading]` in the file, and `--live` on the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use vspread_core::clock::SystemClock;
use vspread_core::config::TradingMode;
use vspread_engine::config_store::ConfigStore;

use vspread_app::{EngineClock, StackOptions, run_stack};

use super::shutdown_signal;
use crate::logging::ConfigLogging;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The config file.
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Confirms trading a live account (the file must also say mode = "live").
    #[arg(long)]
    live: bool,
    /// Where the admin server listens (default: `[server] listen`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Run the engine on the gateway's clock at this speed (simulated
    /// seconds per real second) instead of the wall clock: for trading
    /// against a `vspread sim --speed X`. Paper only.
    #[arg(long, value_name = "X")]
    clock_from_gateway: Option<f64>,
}

/// The two switches for live trading must agree.
fn check_mode(mode: TradingMode, live_flag: bool) -> anyhow::Result<()> {
    match (mode, live_flag) {
        (TradingMode::Paper, false) | (TradingMode::Live, true) => Ok(()),
        (TradingMode::Live, false) => bail!(
            "trading.mode is \"live\" in the config: trading a live account also needs --live"
        ),
        (TradingMode::Paper, true) => bail!(
            "--live given but trading.mode is \"paper\" in the config: set mode = \"live\" under [trading] too"
        ),
    }
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let loaded = ConfigStore::new(&args.config)
        .load()
        .with_context(|| format!("loading {}", args.config.display()))?;
    check_mode(loaded.config.trading.mode, args.live)?;
    if args.live && args.clock_from_gateway.is_some() {
        bail!("--clock-from-gateway is for simulated gateways; it cannot be used with --live");
    }
    tracing::info!(mode = ?loaded.config.trading.mode, config = %args.config.display(), "starting");
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let shutdown = shutdown_signal()?;
        let options = StackOptions {
            config_path: args.config,
            listen: args.listen,
            gateway: None,
            clock: match args.clock_from_gateway {
                Some(speed) => EngineClock::FromGateway { speed },
                None => EngineClock::Given(Arc::new(SystemClock)),
            },
            print_token: false,
            prepared: None,
            logging: Some(Arc::new(ConfigLogging)),
            ready: None,
        };
        run_stack(options, shutdown).await
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_trading_needs_both_switches() {
        assert!(check_mode(TradingMode::Paper, false).is_ok());
        assert!(check_mode(TradingMode::Live, true).is_ok());
        let e = check_mode(TradingMode::Live, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--live"), "{e}");
        let e = check_mode(TradingMode::Paper, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mode = \"live\""), "{e}");
    }
}
