//! Serves the admin API (and the embedded UI) for one config file, with no
//! trading engine attached (scans and positions stay empty; orders and
//! trades are whatever the data directory's journal holds): for working on
//! the config views of the web UI without a gateway. The browser tests run
//! against the full stack, `vspread demo`.
//!
//! `cargo run -p vspread-server --example admin_server -- --config PATH --listen 127.0.0.1:8080 [--token-file FILE]`
//! Without --token-file the token is generated in the config's directory
//! (data/admin.token) and printed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use vspread_engine::config_service::ConfigService;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::ControlPlane;
use vspread_engine::events::EventBus;
use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};
use vspread_server::{AppState, Auth, Metrics, serve};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let config_path = PathBuf::from(arg(&args, "--config").unwrap_or_else(|| "config.toml".into()));
    let listen = arg(&args, "--listen").unwrap_or_else(|| "127.0.0.1:8080".into());
    let live = LiveConfig::load(&config_path)?;
    let _watch = watch(live.clone(), WatchOptions::default())?;
    let base = config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), PathBuf::from);
    let auth = match arg(&args, "--token-file") {
        Some(file) => {
            let token = std::fs::read_to_string(&file)?.trim().to_string();
            Auth::new(token, None)
        }
        None => {
            let server = live.current().config.server.clone();
            let data_dir = base.join(&live.current().config.storage.data_dir);
            let setup = Auth::setup(&server, &data_dir, &base)?;
            if let Some((path, token)) = &setup.generated {
                println!("admin token (saved in {}): {token}", path.display());
            }
            setup.auth
        }
    };
    let data_dir = base.join(&live.current().config.storage.data_dir);
    let journal = Arc::new(vspread_journal::SqliteJournal::open_in(&data_dir)?);
    let control = Arc::new(ControlPlane::new());
    let events = Arc::new(EventBus::new(10_000));
    let state = AppState {
        auth: Arc::new(auth),
        metrics: Arc::new(Metrics::new()),
        live: live.clone(),
        control: control.clone(),
        events: events.clone(),
        config: Arc::new(ConfigService {
            store: ConfigStore::new(&config_path),
            live,
            control,
            events,
        }),
        views: Arc::new(vspread_engine::views::TradingViews::new()),
        journal,
        clock: Arc::new(vspread_core::clock::SystemClock),
        gateway: None,
        started_at: Instant::now(),
    };
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
