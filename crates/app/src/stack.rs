//! The trading stack both `vspread run` and `vspread demo` start, in the
//! order that fails early and cheaply: the config; the admin listener (a
//! busy port fails before anything else happens); the data directory's
//! lock (a second engine on the same directory stops here, naming the
//! first one's pid); the admin token; the journal; the broker layer to the
//! gateway; then the [`Engine`](vspread_engine::Engine) with the admin
//! server beside it, until the shutdown future completes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::Broker;
use vspread_core::clock::{AcceleratedClock, Clock, SystemClock};
use vspread_core::config::retired_keys_in;
use vspread_core::journal::Journal;
use vspread_engine::EngineBuilder;
use vspread_engine::engine::LogControl;
use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};
use vspread_engine::lock::DataDirLock;
use vspread_journal::SqliteJournal;
use vspread_server::{AdminTls, AppState, Auth, Metrics, serve_tls};

/// What differs between a live session and the demo.
pub struct StackOptions {
    pub config_path: PathBuf,
    /// Where the admin server listens (else `[server] listen`).
    pub listen: Option<SocketAddr>,
    /// The gateway's address (else `[ibkr] host:port`); kept whatever a new
    /// config says.
    pub gateway: Option<String>,
    /// The engine's clock.
    pub clock: EngineClock,
    /// Print a newly generated admin token on stdout (the demo's local toy
    /// account); otherwise only where it is kept is said.
    pub print_token: bool,
    /// Taken already by the caller (the demo, before its simulator reads
    /// its state from the data directory).
    pub prepared: Option<Prepared>,
    /// Follows `[logging]` (the binary's subscriber); none leaves the log
    /// output as the program set it up.
    pub logging: Option<Arc<dyn LogControl>>,
    /// Told the admin address and token once the admin server listens (the
    /// desktop app opens its window on them).
    pub ready: Option<tokio::sync::oneshot::Sender<StackReady>>,
}

impl std::fmt::Debug for StackOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackOptions")
            .field("config_path", &self.config_path)
            .field("listen", &self.listen)
            .field("gateway", &self.gateway)
            .field("clock", &self.clock)
            .field("print_token", &self.print_token)
            .field("logging", &self.logging.is_some())
            .finish_non_exhaustive()
    }
}

/// What a program beside the stack needs to reach its admin server.
#[derive(Clone)]
pub struct StackReady {
    /// `http://host:port` of the admin server (API and web UI).
    pub admin_url: String,
    /// The admin (read-write) token.
    pub token: String,
}

impl std::fmt::Debug for StackReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("StackReady")
            .field("admin_url", &self.admin_url)
            .finish_non_exhaustive()
    }
}

/// The admin listener and the data directory's lock, taken first.
#[derive(Debug)]
pub struct Prepared {
    pub listener: tokio::net::TcpListener,
    pub lock: DataDirLock,
}

/// Binds the admin listener, then locks `data_dir`: the first two things
/// an engine does, so a busy port or a second engine fails at once.
pub async fn prepare(listen: &str, data_dir: &Path) -> anyhow::Result<Prepared> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (server.listen)"))?;
    let lock = DataDirLock::acquire(data_dir)?;
    Ok(Prepared { listener, lock })
}

/// Where the engine's time comes from.
#[derive(Debug)]
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
    if let Ok(text) = std::fs::read_to_string(&config_path) {
        for (key, note) in retired_keys_in(&text) {
            tracing::warn!(%key, "{} has a retired key: {note}", config_path.display());
        }
    }
    let config = live.current().config.clone();
    if let Some(logging) = &options.logging
        && let Err(e) = logging.apply(&config.logging)
    {
        tracing::warn!(error = %e, "[logging] not applied");
    }

    // The admin listener first: a busy port fails before the journal is
    // touched or the gateway contacted.
    let mut server_config = config.server.clone();
    if let Some(listen) = options.listen {
        server_config.listen = listen.to_string();
    }
    // One engine per data directory.
    let base = base_dir(&config_path);
    let data_dir = base.join(&config.storage.data_dir);
    let Prepared {
        listener,
        lock: _lock,
    } = match options.prepared {
        Some(p) => p,
        None => prepare(&server_config.listen, &data_dir).await?,
    };

    let setup = Auth::setup(&server_config, &data_dir, &base).context("admin server")?;
    let tls = AdminTls::from_config(&server_config, &base, listener.local_addr()?)
        .context("[server] tls_cert_file / tls_key_file")?;
    if let Some((path, token)) = &setup.generated {
        if options.print_token {
            println!("admin token (saved in {}): {token}", path.display());
        } else {
            println!(
                "admin token generated and saved in {} (mode 0600); read it from there",
                path.display()
            );
        }
    }
    let journal: Arc<dyn Journal> = Arc::new(
        SqliteJournal::open_in(&data_dir)
            .with_context(|| format!("opening the journal in {}", data_dir.display()))?,
    );

    let mut settings = BrokerSettings::from_config(&config);
    let fixed_address = options.gateway.is_some();
    if let Some(gateway) = options.gateway {
        settings.address = gateway;
    }
    tracing::info!(gateway = %settings.address, client_id = settings.client_id, "connecting to the gateway");
    let ready_wait = settings.connect_timeout;
    let start_clock: Arc<dyn Clock> = match &options.clock {
        EngineClock::Given(clock) => clock.clone(),
        EngineClock::FromGateway { .. } => Arc::new(SystemClock),
    };
    let broker = Arc::new(IbBroker::start_with_clock(settings, start_clock.clone()));
    if fixed_address {
        broker.fix_address();
    }
    if let Err(e) = broker.wait_ready(ready_wait).await {
        tracing::warn!(error = %e, "the gateway is not answering yet; the watchdog keeps trying");
    }

    // One shutdown for every wait below and the engine.
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
            let clock = synced?;
            broker.set_clock(clock.clone());
            clock
        }
    };

    let mut builder = EngineBuilder::new(
        live.clone(),
        broker.clone() as Arc<dyn Broker>,
        journal,
        clock,
    )
    .data_dir(&data_dir);
    if let Some(logging) = options.logging {
        builder = builder.logging(logging);
    }
    let engine = builder.build()?;
    let _watch =
        watch(live.clone(), WatchOptions::default()).context("watching the config file")?;
    let scheme = if tls.is_on() { "https" } else { "http" };
    let admin_url = format!("{scheme}://{}", listener.local_addr()?);
    // Named tokens are kept hashed: only a token read from a file (the
    // generated admin.token, or token_file) can be handed over.
    let token = setup.auth.admin_token().unwrap_or_default().to_owned();
    let state = AppState {
        engine: engine.clone(),
        auth: Arc::new(setup.auth),
        metrics: Arc::new(Metrics::new()),
    };
    tracing::info!(admin = %admin_url, "admin server ready");
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_tls(listener, state, tls, async {
        let _ = server_stopped.await;
    }));

    if let Some(ready) = options.ready {
        let _ = ready.send(StackReady { admin_url, token });
    }
    engine.run(stopped(stop_rx)).await;
    tracing::info!("stopping");
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
