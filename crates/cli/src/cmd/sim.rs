//! `vspread sim`: the simulated IB gateway on a TCP port, for vspread itself,
//! for tests, and for any TWS API client pointed at it offline. Faults can be
//! set at start (flags) and while running (`--control ADDR`, one command per
//! line: `disconnect`, `restart SECS`, `reject N`, `partial N|off`,
//! `delay MS`, `notice CODE`, `clear`, `status`, `ledger`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveTime, Utc};
use clap::Args;
use rust_decimal::Decimal;
use vspread_core::clock::{AcceleratedClock, Clock as _};
use vspread_sim::faults::Setup;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{FillModel, Venue, VenueConfig};
use vspread_sim::persist;
use vspread_sim::server::{Server, SimSettings};

/// Serves the TWS API (server version 226) with a deterministic market:
/// contract details, option chains, market data (snapshot and streaming,
/// with greeks), daily history, orders and BAG combos (what-if included),
/// executions, positions and account data, with IB's limits and error codes.
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
    /// Keep the account, orders, executions and the market's clock and
    /// prices in FILE: loaded at start if it exists (then --seed, --start,
    /// --account and --cash are taken from it), saved on change and at exit.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Serve the fault-control port on this address.
    #[arg(long, value_name = "ADDR")]
    control: Option<SocketAddr>,
    /// Reject the first N orders with error 201.
    #[arg(long, value_name = "N", default_value_t = 0)]
    reject_orders: u32,
    /// Fill at most N combos per fill (forces partial fills).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    partial_fills: Option<u32>,
    /// Wait this many milliseconds before handling each request.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    delay_ms: u64,
    /// A daily restart at this New York time of simulated day (HH:MM):
    /// every client is dropped and connections are refused for
    /// --restart-secs real seconds.
    #[arg(long, value_name = "HH:MM", value_parser = parse_hhmm)]
    daily_restart: Option<NaiveTime>,
    /// Length of the daily restart window, in real seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    restart_secs: u64,
    /// Frames queued for a client that is not reading before it is
    /// disconnected, once over it for 2 s or at 16 times it (a small
    /// queue cuts off a stalled client sooner).
    #[arg(long, value_name = "N", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(16..=10_000_000))]
    outbox_frames: u64,
    #[command(flatten)]
    fill: FillArgs,
    #[command(flatten)]
    setup: SetupArgs,
}

/// Misconfigurations of a real TWS / IB Gateway and its account, each
/// detected by `vspread doctor` (crates/sim/README.md, "Setup faults").
#[derive(Debug, Args)]
pub struct SetupArgs {
    /// TWS's "Read-Only API" setting: orders, what-ifs and cancels are
    /// refused with error 321.
    #[arg(long)]
    read_only_api: bool,
    /// Market data permissions, repeatable: LEVEL or SCOPE=LEVEL, SCOPE
    /// one of SYMBOL, SYMBOL:stock, SYMBOL:options, stock, options; LEVEL
    /// realtime, delayed or none (e.g. `--market-data options=delayed
    /// --market-data KO=none`). Default: real-time everywhere.
    #[arg(long, value_name = "RULE")]
    market_data: Vec<String>,
    /// No historical data permission: every reqHistoricalData gets 162.
    #[arg(long)]
    no_history: bool,
    /// No permission to trade combos: BAG orders and what-ifs get 201.
    #[arg(long)]
    no_combo_permission: bool,
    /// Seconds added to the time the gateway reports (its host's clock
    /// off by this much).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    clock_skew_s: i64,
    /// The highest API server version to speak (an older TWS / IB
    /// Gateway below 213 is refused by vspread's client).
    #[arg(long, value_name = "N", default_value_t = vspread_sim::wire::frame::SERVER_VERSION)]
    server_version: u32,
    /// TWS's "Trusted IPs": connections from other addresses are closed
    /// before the handshake (comma-separated; default: any address).
    #[arg(long, value_name = "IP,IP…", value_delimiter = ',')]
    trusted_ips: Vec<std::net::IpAddr>,
}

impl SetupArgs {
    /// The emulated installation; an error names the bad flag value.
    pub fn setup(&self) -> anyhow::Result<Setup> {
        let mut setup = Setup {
            read_only_api: self.read_only_api,
            no_history: self.no_history,
            no_combo_permission: self.no_combo_permission,
            clock_skew: chrono::Duration::try_seconds(self.clock_skew_s).ok_or_else(|| {
                anyhow::anyhow!("--clock-skew-s {} is out of range", self.clock_skew_s)
            })?,
            server_version: self.server_version,
            trusted_ips: (!self.trusted_ips.is_empty()).then(|| self.trusted_ips.clone()),
            ..Setup::default()
        };
        for rule in &self.market_data {
            setup
                .market_data
                .add(rule)
                .with_context(|| format!("--market-data {rule}"))?;
        }
        Ok(setup)
    }
}

/// The resting-order fill model (crates/sim/README.md, "Fill model"):
/// rate per simulated minute `λ(a) · S(w) · L(V)`. Taken from the flags on
/// every start, also when resuming from --state.
#[derive(Debug, Args)]
pub struct FillArgs {
    /// Fills per simulated minute of a combo resting at the far side.
    #[arg(long, value_name = "PER_MIN", default_value_t = FillModel::default().rate_far)]
    fill_rate_far: f64,
    /// Fills per simulated minute of a combo resting at the mid.
    #[arg(long, value_name = "PER_MIN", default_value_t = FillModel::default().rate_mid)]
    fill_rate_mid: f64,
    /// Fills per simulated minute of a combo resting just inside the natural.
    #[arg(long, value_name = "PER_MIN", default_value_t = FillModel::default().rate_natural)]
    fill_rate_natural: f64,
    /// The legs' summed bid-ask, as a share of their mids, at which the
    /// rate halves.
    #[arg(long, value_name = "SHARE", default_value_t = FillModel::default().width_half)]
    fill_width_half: f64,
    /// Daily dollar volume (USD) from which an underlying counts as fully
    /// liquid.
    #[arg(long, value_name = "USD", default_value_t = FillModel::default().liquid_dollar_volume)]
    fill_liquid_volume: f64,
    /// The liquidity factor of the least liquid underlying, in (0, 1].
    #[arg(long, value_name = "FACTOR", default_value_t = FillModel::default().min_liquidity)]
    fill_min_liquidity: f64,
}

impl FillArgs {
    /// The model, checked; an error names the flag.
    pub fn model(&self) -> anyhow::Result<FillModel> {
        let model = FillModel {
            rate_far: self.fill_rate_far,
            rate_mid: self.fill_rate_mid,
            rate_natural: self.fill_rate_natural,
            width_half: self.fill_width_half,
            liquid_dollar_volume: self.fill_liquid_volume,
            min_liquidity: self.fill_min_liquidity,
        };
        model.validate().map_err(|e| {
            let flag = match e.parameter {
                "rate_far" => "--fill-rate-far",
                "rate_mid" => "--fill-rate-mid",
                "rate_natural" => "--fill-rate-natural",
                "width_half" => "--fill-width-half",
                "liquid_dollar_volume" => "--fill-liquid-volume",
                _ => "--fill-min-liquidity",
            };
            anyhow::anyhow!("{flag} {}: {}", e.value, e.why)
        })?;
        Ok(model)
    }
}

fn parse_hhmm(text: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| format!("{text:?} is not HH:MM"))
}

pub fn run_sim(args: SimArgs) -> anyhow::Result<ExitCode> {
    let fill_model = args.fill.model()?;
    let setup = args.setup.setup()?;
    let saved = match &args.state {
        Some(path) => persist::load(path)?,
        None => None,
    };
    let (market, venue) = match saved {
        Some(state) => {
            let book = state.into_book();
            tracing::info!(
                sim_time = %book.market.now(),
                "resuming from the state file"
            );
            (book.market, book.venue)
        }
        None => {
            let start = args.start.unwrap_or_else(Utc::now);
            let market = Market::new(MarketConfig {
                seed: args.seed,
                start,
                always_open: args.always_open,
            });
            let mut config = VenueConfig::new(args.seed);
            config.account_id.clone_from(&args.account);
            config.starting_cash = Decimal::from(args.cash);
            (market, Venue::new(config))
        }
    };
    let mut venue = venue;
    venue.set_fill_model(fill_model);
    let clock = Arc::new(AcceleratedClock::new(market.now(), args.speed).context("--speed")?);
    let mut settings = SimSettings::new(clock.clone());
    settings.setup = setup;
    settings.outbox_frames = usize::try_from(args.outbox_frames).context("--outbox-frames")?;
    settings.daily_restart = args
        .daily_restart
        .map(|at| (at, Duration::from_secs(args.restart_secs)));
    let mut server = Server::new(settings, market, venue);
    if let Some(path) = &args.state {
        server = server.state_file(path);
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let handle = server.start(listener);
        handle.reject_next_orders(args.reject_orders);
        if args.partial_fills.is_some() {
            handle.force_partial_fills(args.partial_fills);
        }
        handle.delay_responses(Duration::from_millis(args.delay_ms));
        if let Some(addr) = args.control {
            let control = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on --control {addr}"))?;
            tracing::info!(control = %control.local_addr()?, "fault control port ready");
            handle.serve_control(control);
        }
        let shutdown = super::shutdown_signal()?;
        tracing::info!(
            listen = %handle.local_addr(),
            seed = args.seed,
            speed = args.speed,
            sim_time = %clock.now(),
            "simulated gateway ready"
        );
        shutdown.await;
        tracing::info!("stopping");
        handle.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
