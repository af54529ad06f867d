//! `vspread simulate`: the whole engine, headless, against the simulated
//! gateway for N market days as fast as the machine allows, then the
//! report of its journal. A user compares two configs before trying one on
//! paper.
//!
//! What runs is what `vspread run` runs: the engine built by
//! `EngineBuilder` (cycle loop, trader, order manager, recorder, recovery),
//! the broker layer over loopback TCP to a simulator in this process, and
//! a SQLite journal in the data directory; only the clock differs: a
//! manual clock the [`driver`] moves by what the engine waits for. IB's
//! real-time pacing rules (the message rate, historical-data pacing) are
//! lifted on both sides of the wire, as simulated days pass in seconds.
//!
//! At the end the money the journal folded from every fill and commission
//! is checked against the simulator's account, to the cent.

mod driver;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use rust_decimal::Decimal;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{Clock, ManualClock};
use vspread_core::config::Config;
use vspread_core::journal::Journal;
use vspread_engine::EngineBuilder;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::kpis::{JournalView, Period};
use vspread_engine::live_config::LiveConfig;
use vspread_engine::lock::DataDirLock;
use vspread_journal::SqliteJournal;
use vspread_sim::market::calendar::{
    is_trading_day, next_trading_day, session_close, session_open,
};
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};

use super::report::write_html;
use crate::report::TradingReport;
use driver::Driver;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Market days (exchange trading days) to simulate.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=260))]
    days: u32,
    /// The simulated market's seed (same seed, same market).
    #[arg(long, default_value_t = 3)]
    seed: u64,
    /// The config to trade with (its [storage], [server] and [ibkr]
    /// address are not used); default: the defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The HTML report to write.
    #[arg(long)]
    report: PathBuf,
    /// Keep the journal and the config in this new directory (default: a
    /// temporary one, removed at the end).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The first New York trading date simulated (YYYY-MM-DD); default
    /// 2026-07-06, a Monday in summer time, when the default trading
    /// window (13:30-20:00 UTC) is the regular session, with 20 trading
    /// days and no exchange holiday after it (the engine does not know
    /// holidays: on one it keeps sending orders the closed market cannot
    /// fill).
    #[arg(long)]
    start: Option<NaiveDate>,
    /// The simulated account's starting cash, in USD.
    #[arg(long, default_value_t = 100_000)]
    cash: u64,
}

/// The first trading day on or after `date`, then `days - 1` more.
fn trading_days(date: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    let first = if is_trading_day(date) {
        date
    } else {
        next_trading_day(date)
    };
    let mut last = first;
    for _ in 1..days {
        last = next_trading_day(last);
    }
    (first, last)
}

/// The config to simulate, validated, from `path` or the defaults.
fn load_config(path: Option<&Path>) -> anyhow::Result<Config> {
    match path {
        None => Ok(Config::default()),
        Some(p) => {
            let live = LiveConfig::load(p).with_context(|| format!("loading {}", p.display()))?;
            Ok(live.current().config.as_ref().clone())
        }
    }
}

/// The data directory (new or empty of a journal) and, for a temporary
/// one, its guard.
fn data_dir(given: Option<&Path>) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match given {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let journal = dir.join(vspread_journal::FILE_NAME);
            if journal.exists() {
                anyhow::bail!(
                    "{} already holds a journal: a simulation starts a fresh account, so give it a new directory",
                    dir.display()
                );
            }
            Ok((dir.to_path_buf(), None))
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("vspread-simulate-")
                .tempdir()
                .context("creating a temporary data directory")?;
            Ok((tmp.path().to_path_buf(), Some(tmp)))
        }
    }
}

/// The simulator on a loopback port: fast heartbeats, IB's real-time
/// pacing lifted.
async fn start_sim(
    args: &SimulateArgs,
    start: DateTime<Utc>,
    clock: Arc<ManualClock>,
) -> anyhow::Result<ServerHandle> {
    let market = Market::new(MarketConfig {
        seed: args.seed,
        start,
        always_open: false,
    });
    let mut venue = VenueConfig::new(args.seed);
    venue.starting_cash = Decimal::from(args.cash);
    let mut settings = SimSettings::new(clock);
    // The driver ticks the simulator after every move of the clock; its
    // own heartbeat only keeps the connections' housekeeping going.
    settings.heartbeat = Duration::from_millis(50);
    settings.messages_per_second = usize::MAX / 4;
    settings.pace_history = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the simulator's port")?;
    Ok(Server::new(settings, market, Venue::new(venue)).start(listener))
}

/// How long, after the last simulated minute, the journal's money may take
/// to agree with the account's before the engine stops (real time).
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// The money the journal folded from every fill and commission, and the
/// simulator account's cash change.
fn money(
    journal: &dyn Journal,
    sim: &ServerHandle,
    cash: Decimal,
) -> anyhow::Result<(Decimal, Decimal)> {
    let folded: Decimal = journal
        .spreads()
        .context("reading the journal's spreads")?
        .iter()
        .map(|s| s.cash)
        .sum();
    let ledger = sim.ledger();
    let account: Decimal = ledger["cash"]
        .as_str()
        .and_then(|c| c.parse().ok())
        .context("the simulator's ledger has no cash")?;
    Ok((folded, account - cash))
}

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_deref())?;
    let (dir, _tmp) = data_dir(args.data_dir.as_deref())?;
    let _lock = DataDirLock::acquire(&dir)?;
    let config_path = dir.join("config.toml");
    let store = ConfigStore::new(&config_path);
    let mut config = config;
    config.storage.data_dir = ".".into();
    store
        .save(&config, None)
        .with_context(|| format!("writing {}", config_path.display()))?;

    let date = args
        .start
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 7, 6).expect("a date"));
    let (first, last) = trading_days(date, args.days);
    // Half an hour before the first open: recovery and the first bars.
    let start = session_open(first) - chrono::Duration::minutes(30);
    // A minute past the last close: the day's orders have ended.
    let end = session_close(last) + chrono::Duration::minutes(1);
    let clock = Arc::new(ManualClock::new(start));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let began = Instant::now();
    let outcome = runtime.block_on(simulate(
        &args,
        &config,
        &dir,
        &config_path,
        clock.clone(),
        end,
    ))?;
    let wall = began.elapsed();

    let journal = SqliteJournal::open_read_only(&dir.join(vspread_journal::FILE_NAME))
        .context("opening the simulation's journal")?;
    let view = JournalView::read(&journal).context("reading the simulation's journal")?;
    let mut report = TradingReport::of(
        &view,
        &Period::all(),
        &format!(
            "vspread simulation: {} market days from {first}, seed {}",
            args.days, args.seed
        ),
        &match &args.config {
            Some(p) => format!("config {}", p.display()),
            None => "the default config".into(),
        },
    );
    let agree = outcome.journal_money == outcome.account_money;
    let check = format!(
        "money check: journal {} = simulated account's cash change {}: {}",
        outcome.journal_money,
        outcome.account_money,
        if agree {
            "equal to the cent"
        } else {
            "DIFFERENT"
        }
    );
    report.notes = vec![
        format!(
            "{} to {} ({} trading days), simulated in {:.1} s of wall time",
            first,
            last,
            args.days,
            wall.as_secs_f64()
        ),
        check.clone(),
    ];
    write_html(&args.report, &report.html())?;

    let k = &report.kpis;
    let opt = |v: Option<f64>, unit: &str| v.map_or("–".into(), |v| format!("{v:.3}{unit}"));
    println!(
        "simulated {} market days ({first} to {last}, seed {}) in {:.1} s",
        args.days,
        args.seed,
        wall.as_secs_f64()
    );
    println!(
        "orders: {} ended, fill rate {} (entries {}, exits {})",
        k.orders.all.ended,
        opt(k.orders.all.rate.map(|r| r * 100.0), " %"),
        opt(k.orders.entry.rate.map(|r| r * 100.0), " %"),
        opt(k.orders.exit.rate.map(|r| r * 100.0), " %"),
    );
    println!(
        "slippage (% of width): median {}, p95 {} over {} fills",
        opt(k.slippage.median_pct, ""),
        opt(k.slippage.p95_pct, ""),
        k.slippage.samples
    );
    println!(
        "signal to fill: median {} (n = {}); time to fill median {}",
        opt(k.timing.signal_to_fill.median_s, " s"),
        k.timing.signal_to_fill.count,
        opt(k.timing.time_to_fill.median_s, " s"),
    );
    println!(
        "trades: {} closed, realised {}, max drawdown {}",
        k.trades.closed,
        k.trades.realised_pnl.round_dp(2),
        k.trades.max_drawdown.round_dp(2)
    );
    println!("{check}");
    println!("report: {}", args.report.display());
    Ok(if agree {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

struct Outcome {
    journal_money: Decimal,
    account_money: Decimal,
}

async fn simulate(
    args: &SimulateArgs,
    config: &Config,
    dir: &Path,
    config_path: &Path,
    clock: Arc<ManualClock>,
    end: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let sim = start_sim(args, clock.now(), clock.clone()).await?;
    let mut settings = BrokerSettings::from_config(config);
    settings.address = sim.local_addr().to_string();
    settings.pacing.max_messages_per_sec = 1_000_000;
    settings.pace_history = false;
    let broker = Arc::new(IbBroker::start_with_clock(settings, clock.clone()));
    broker.fix_address();
    broker
        .wait_ready(Duration::from_secs(10))
        .await
        .context("the simulated gateway did not become ready")?;
    let journal = Arc::new(
        SqliteJournal::open_in(dir)
            .with_context(|| format!("opening the journal in {}", dir.display()))?,
    );
    let live = LiveConfig::load(config_path)
        .with_context(|| format!("loading {}", config_path.display()))?;
    let engine = EngineBuilder::new(
        live,
        broker.clone() as Arc<dyn Broker>,
        journal.clone(),
        clock.clone(),
    )
    .events_capacity(1_000)
    .build()?;
    let driver = Driver {
        clock: clock.clone(),
        engine: engine.clone(),
        sim: sim.clone(),
        end,
    };
    let cash = Decimal::from(args.cash);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let settling = (journal.clone(), sim.clone());
    let drive = tokio::spawn(async move {
        let stats = driver.run().await;
        // The gateway's last reports (a commission behind its fill) may
        // still be on their way to the recorder: give them a moment to
        // land while the engine, and so the recorder, still runs.
        let (journal, sim) = settling;
        let quiet = Instant::now();
        while quiet.elapsed() < SETTLE_LIMIT {
            match money(&*journal, &sim, cash) {
                Ok((folded, account)) if folded == account => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot compare the journal's money yet");
                    break;
                }
            }
        }
        let _ = done_tx.send(());
        stats
    });
    // Returns once the recorder has journaled every order event the
    // broker published: the check below reads a complete journal.
    engine
        .run(async move {
            let _ = done_rx.await;
        })
        .await;
    let stats = drive.await.context("the clock driver failed")?;
    tracing::info!(?stats, "simulation's clock driven");
    let seen = money(&*journal, &sim, cash)?;
    broker.shutdown().await;
    sim.shutdown().await;
    Ok(Outcome {
        journal_money: seen.0,
        account_money: seen.1,
    })
}
