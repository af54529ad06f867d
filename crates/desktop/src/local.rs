//! Local mode: the engine in this process, on a thread with its own
//! runtime, stopped on request. The stack is the one `vspread demo` and
//! `vspread run` start ([`vspread_app`]): admin server on a loopback port
//! the system picks, the data directory locked, the journal open. [`stop`]
//! asks it to stop and waits until it has: the engine finished, the
//! journal closed, the lock released.
//!
//! [`stop`]: LocalEngine::stop

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::oneshot;
use vspread_app::{DemoOptions, EngineClock, StackOptions, StackReady, run_demo, run_stack};
use vspread_core::clock::SystemClock;
use vspread_core::config::TradingMode;
use vspread_engine::config_store::ConfigStore;

/// Where the in-process admin server listens: loopback, a free port.
const LOOPBACK_ANY_PORT: &str = "127.0.0.1:0";

/// How long a start may take before the app gives up waiting (the broker
/// waits up to `[ibkr] connect_timeout_s` for the gateway, then goes on).
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// What the local engine runs against.
#[derive(Debug, Clone)]
pub enum LocalKind {
    /// The built-in simulated gateway; data in `data_dir`.
    Demo { data_dir: PathBuf, speed: f64 },
    /// TWS / IB Gateway as the config file says.
    Run { config: PathBuf, live: bool },
}

/// The engine running in this process.
#[derive(Debug)]
pub struct LocalEngine {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The same double switch as `vspread run --live`: a live account needs
/// both the file's `mode = "live"` and the user's say-so.
fn check_mode(config: &std::path::Path, live: bool) -> anyhow::Result<()> {
    let loaded = ConfigStore::new(config)
        .load()
        .with_context(|| format!("loading {}", config.display()))?;
    match (loaded.config.trading.mode, live) {
        (TradingMode::Paper, false) | (TradingMode::Live, true) => Ok(()),
        (TradingMode::Live, false) => bail!(
            "{}: trading.mode is \"live\"; tick \"trade a live account\" to run it",
            config.display()
        ),
        (TradingMode::Paper, true) => bail!(
            "{}: \"trade a live account\" is ticked but trading.mode is \"paper\"",
            config.display()
        ),
    }
}

impl LocalEngine {
    /// Starts the engine and waits until its admin server listens.
    pub fn start(kind: LocalKind) -> anyhow::Result<(Self, StackReady)> {
        if let LocalKind::Run { config, live } = &kind {
            check_mode(config, *live)?;
        }
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<StackReady>();
        let thread = std::thread::Builder::new()
            .name("vspread-engine".into())
            .spawn(move || -> anyhow::Result<()> {
                let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
                runtime.block_on(async move {
                    let (tx, rx) = oneshot::channel();
                    tokio::spawn(async move {
                        if let Ok(ready) = rx.await {
                            let _ = ready_tx.send(ready);
                        }
                    });
                    let shutdown = async move {
                        let _ = stop_rx.await;
                    };
                    let listen: SocketAddr = LOOPBACK_ANY_PORT.parse().expect("loopback address");
                    match kind {
                        LocalKind::Demo { data_dir, speed } => {
                            let mut options = DemoOptions::new(data_dir, listen);
                            options.speed = speed;
                            run_demo(options, None, Some(tx), shutdown).await
                        }
                        LocalKind::Run { config, .. } => {
                            let options = StackOptions {
                                config_path: config,
                                listen: Some(listen),
                                gateway: None,
                                clock: EngineClock::Given(Arc::new(SystemClock)),
                                print_token: false,
                                prepared: None,
                                logging: None,
                                ready: Some(tx),
                            };
                            run_stack(options, shutdown).await
                        }
                    }
                })
            })
            .context("starting the engine thread")?;
        let mut engine = Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(ready) => Ok((engine, ready)),
            Err(_) => {
                // The stack ended before it was ready (its error says why),
                // or took too long: stop it either way.
                let ended = engine.stop();
                match ended {
                    Err(e) => Err(e),
                    Ok(()) => bail!("the engine was not ready within {START_TIMEOUT:?}"),
                }
            }
        }
    }

    /// Stops the engine and waits for it: orders' tasks, the admin server,
    /// the broker, then the journal and the lock, in that order.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("the engine thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for LocalEngine {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "the local engine stopped with an error");
        }
    }
}
