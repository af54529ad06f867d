//! The trading stack both `vspread run` and `vspread demo` start: the
//! config (watched, hot-reloaded), the broker layer to a gateway, the
//! trader in its cycle loop, and the admin server, until a shutdown signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{AcceleratedClock, Clock};
use vspread_core::journal::Journal;
use vspread_engine::config_service::ConfigService;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::ControlPlane;
use vspread_engine::cycle_loop::CycleLoop;
use vspread_engine::events::EventBus;
use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};
use vspread_engine::order_recorder::spawn_order_recorder;
use vspread_engine::recovery::recover;
use vspread_engine::trader::Trader;
use vspread_engine::views::TradingViews;
use vspread_journal::SqliteJournal;
use vspread_server::{AppState, Auth, GatewayLink, Metrics, serve};

/// What differs between a live session and the demo.
pub struct StackOptions {
    pub config_path: PathBuf,
    /// Where the admin server listens (else `[server] listen`).
    pub listen: Option<SocketAddr>,
    /// The gateway's address (else `[ibkr] host:port`).
    pub gateway: Option<String>,
    /// The engine's clock.
    pub clock: EngineClock,
    /// How long to wait for the gateway before trading starts anyway (the
    /// watchdog keeps reconnecting; cycles fail until it answers).
    pub ready_wait: Duration,
}

/// Where the engine's time comes from.
pub enum EngineClock {
    /// This clock (the wall clock for TWS; the simulator's in the demo).
    Given(Arc<dyn Clock>),
    /// The gateway's time when first connected, run on at `speed` simulated
    /// seconds per real second: for an engine beside a `vspread sim` that
    /// runs accelerated.
    FromGateway { speed: f64 },
}

fn base_dir(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// Runs the stack until `shutdown` completes.
pub async fn run_stack(
    options: StackOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config_path = options.config_path;
    let live = LiveConfig::load(&config_path)
        .with_context(|| format!("loading {}", config_path.display()))?;
    let _watch =
        watch(live.clone(), WatchOptions::default()).context("watching the config file")?;
    let config = live.current().config.clone();

    let mut settings = BrokerSettings::from_config(&config);
    if let Some(gateway) = options.gateway {
        settings.address = gateway;
    }
    tracing::info!(gateway = %settings.address, client_id = settings.client_id, "connecting to the gateway");
    let gateway_address = settings.address.clone();
    let broker = Arc::new(IbBroker::start(settings));
    if let Err(e) = broker.wait_ready(options.ready_wait).await {
        tracing::warn!(error = %e, "the gateway is not answering yet; the watchdog keeps trying");
    }

    // One shutdown for every wait below and the cycle loop.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let clock: Arc<dyn Clock> = match options.clock {
        EngineClock::Given(clock) => clock,
        EngineClock::FromGateway { speed } => {
            let synced = tokio::select! {
                c = gateway_clock(&broker, speed) => c,
                () = stopped(stop_rx.clone()) => {
                    broker.shutdown().await;
                    return Ok(());
                }
            };
            synced?
        }
    };

    let base = base_dir(&config_path);
    let mut server_config = config.server.clone();
    if let Some(listen) = options.listen {
        server_config.listen = listen.to_string();
    }
    let data_dir = base.join(&config.storage.data_dir);
    let setup = Auth::setup(&server_config, &data_dir, &base).context("admin token")?;
    if let Some((path, token)) = &setup.generated {
        println!("admin token (saved in {}): {token}", path.display());
    }
    let journal: Arc<dyn Journal> = Arc::new(
        SqliteJournal::open_in(&data_dir)
            .with_context(|| format!("opening the journal in {}", data_dir.display()))?,
    );
    let views = Arc::new(TradingViews::new());
    let control = Arc::new(ControlPlane::new());
    let events = Arc::new(EventBus::with_clock(10_000, clock.clone()));
    let state = AppState {
        auth: Arc::new(setup.auth),
        metrics: Arc::new(Metrics::new()),
        live: live.clone(),
        control: control.clone(),
        events: events.clone(),
        config: Arc::new(ConfigService {
            store: ConfigStore::new(&config_path),
            live: live.clone(),
            control: control.clone(),
            events: events.clone(),
        }),
        views: views.clone(),
        journal: journal.clone(),
        clock: clock.clone(),
        gateway: Some(GatewayLink {
            address: gateway_address,
            metrics: broker.metrics(),
        }),
        started_at: Instant::now(),
    };
    let listener = tokio::net::TcpListener::bind(&server_config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", server_config.listen))?;
    tracing::info!(admin = %format!("http://{}", listener.local_addr()?), "admin server ready");
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async {
        let _ = server_stopped.await;
    }));

    events
        .attach_journal(journal.clone())
        .map_err(|_| anyhow::anyhow!("the event bus already has a journal"))?;
    let recorder = spawn_order_recorder(&*broker, journal.clone(), clock.clone());
    control.kill_switch().set(config.risk.kill_switch);
    let trader = Arc::new(
        Trader::new(
            broker.clone() as Arc<dyn Broker>,
            clock.clone(),
            events.clone(),
            journal.clone(),
        )
        .with_kill_switch(control.kill_switch())
        .with_views(views),
    );

    let recovered = tokio::select! {
        r = recover_before_trading(&broker, &*journal, &*clock, &trader, &events) => Some(r),
        () = stopped(stop_rx.clone()) => None,
    };
    if let Some(()) = recovered {
        let cycles = CycleLoop {
            clock: clock.clone(),
            control,
            config: live,
            events: events.clone(),
        };
        cycles
            .run(
                move |ctx| {
                    let trader = trader.clone();
                    async move { trader.cycle(&ctx).await }
                },
                stopped(stop_rx),
            )
            .await;
    }
    tracing::info!("stopping");
    recorder.abort();
    let _ = stop_server.send(());
    let _ = server.await;
    broker.shutdown().await;
    Ok(())
}

/// The gateway's time, run on at `speed`.
async fn gateway_clock(broker: &IbBroker, speed: f64) -> anyhow::Result<Arc<dyn Clock>> {
    loop {
        if broker.wait_ready(Duration::from_secs(30)).await.is_err() {
            tracing::warn!("waiting for the gateway to read its clock");
            continue;
        }
        match broker.gateway_time().await {
            Ok(now) => {
                tracing::info!(gateway_time = %now, speed, "engine clock follows the gateway's");
                let clock = AcceleratedClock::new(now, speed).context("--clock-speed")?;
                return Ok(Arc::new(clock));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the gateway's clock; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Waits for the gateway, then brings the journal and the gateway to agree
/// and takes up the journal's open spreads; retries until it succeeds, as
/// trading on a journal that disagrees with the account is not safe.
async fn recover_before_trading(
    broker: &IbBroker,
    journal: &dyn Journal,
    clock: &dyn Clock,
    trader: &Trader,
    events: &EventBus,
) {
    loop {
        if broker.wait_ready(Duration::from_secs(30)).await.is_err() {
            tracing::warn!("waiting for the gateway before recovery");
            continue;
        }
        let report = match recover(broker, journal, clock).await {
            Ok(report) => report,
            Err(e) => {
                tracing::warn!(error = %e, "recovery failed; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
        };
        for leg in &report.mismatched_legs {
            events.publish(
                "position.mismatch",
                format!(
                    "conId {}: the gateway holds {}, the journal's spreads {} ({})",
                    leg.con_id,
                    leg.gateway,
                    leg.journal,
                    leg.spread_ref
                        .as_deref()
                        .unwrap_or("an orphan leg: no open spread")
                ),
                serde_json::json!(leg),
            );
        }
        match trader.restore_from_journal().await {
            Ok(held) => {
                tracing::info!(
                    fills = report.fills_recorded,
                    commissions = report.commissions_recorded,
                    cancelled = report.cancelled.len(),
                    settled = report.settled.len(),
                    held,
                    "recovered from the journal and the gateway"
                );
                events.publish(
                    "recovery.completed",
                    format!(
                        "recovered: {} fills and {} commissions recorded, {} orders cancelled, {} settled, {held} spreads held",
                        report.fills_recorded,
                        report.commissions_recorded,
                        report.cancelled.len(),
                        report.settled.len()
                    ),
                    serde_json::json!({ "report": report, "held": held }),
                );
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "the journal's spreads cannot be taken up; trying again in 5 s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// Completes on SIGINT or SIGTERM.
pub fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}
