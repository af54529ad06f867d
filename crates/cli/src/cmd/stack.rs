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
use vspread_core::clock::Clock;
use vspread_engine::config_service::ConfigService;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::ControlPlane;
use vspread_engine::cycle_loop::CycleLoop;
use vspread_engine::events::EventBus;
use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};
use vspread_engine::trader::Trader;
use vspread_server::{AppState, Auth, Metrics, serve};

/// What differs between a live session and the demo.
pub struct StackOptions {
    pub config_path: PathBuf,
    /// Where the admin server listens (else `[server] listen`).
    pub listen: Option<SocketAddr>,
    /// The gateway's address (else `[ibkr] host:port`).
    pub gateway: Option<String>,
    /// The engine's clock (the simulator's, in the demo).
    pub clock: Arc<dyn Clock>,
    /// How long to wait for the gateway before trading starts anyway (the
    /// watchdog keeps reconnecting; cycles fail until it answers).
    pub ready_wait: Duration,
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
    let broker = Arc::new(IbBroker::start(settings));
    if let Err(e) = broker.wait_ready(options.ready_wait).await {
        tracing::warn!(error = %e, "the gateway is not answering yet; the watchdog keeps trying");
    }

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
    let control = Arc::new(ControlPlane::new());
    let events = Arc::new(EventBus::new(10_000));
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

    let trader = Arc::new(Trader::new(
        broker.clone() as Arc<dyn Broker>,
        options.clock.clone(),
        events.clone(),
    ));
    let cycles = CycleLoop {
        clock: options.clock,
        control,
        config: live,
        events,
    };
    cycles
        .run(
            move |ctx| {
                let trader = trader.clone();
                async move { trader.cycle(&ctx).await }
            },
            shutdown,
        )
        .await;
    tracing::info!("stopping");
    let _ = stop_server.send(());
    let _ = server.await;
    broker.shutdown().await;
    Ok(())
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
