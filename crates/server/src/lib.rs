//! The admin server: a REST + WebSocket API over the running engine, with
//! bearer-token auth, an OpenAPI document, Prometheus `/metrics`, health
//! probes, and the embedded web UI.
//!
//! [`app`] builds the whole router from an [`AppState`] so tests drive it
//! without a socket; [`serve`] binds it with graceful shutdown. Every
//! `/api` route needs a token; `/healthz`, `/readyz` and `/metrics` do not
//! (they carry no secrets and are what probes and Prometheus scrape).
//! [`serve_tls`] adds TLS (rustls, the certificate reloaded while it
//! runs); every answer carries the security headers of [`headers`].

mod auth;
mod error;
mod extract;
mod headers;
pub mod listener;
mod metrics;
mod openapi;
pub mod pinned;
mod routes;
mod state;
pub mod tokens;
mod ui;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use listener::AdminListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Auth, AuthError, Identity, Role, TokenSetup};
pub use error::AppError;
pub use listener::{AdminTls, ClientAddr, TlsError};
pub use metrics::Metrics;
pub use state::AppState;

/// The largest request body accepted (a whole config is a few kilobytes).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The router of the whole admin server.
pub fn app(state: AppState) -> Router {
    // The metrics fold the engine's events from its start, not from the
    // first scrape.
    state.metrics.follow(state.engine.events());
    let api = Router::new()
        .route("/status", get(routes::status::status))
        .route("/openapi.json", get(routes::openapi_doc))
        .route(
            "/config",
            get(routes::config::get_config).put(routes::config::put_config),
        )
        .route("/config/schema", get(routes::config::schema))
        .route("/config/validate", post(routes::config::validate))
        .route("/config/diff", post(routes::config::diff))
        .route("/config/backups", get(routes::config::backups))
        .route("/config/rollback", post(routes::config::rollback))
        .route("/config/history", get(routes::config::history))
        .route("/control/pause", post(routes::control::pause))
        .route("/control/resume", post(routes::control::resume))
        .route("/control/kill-switch", post(routes::control::kill_switch))
        .route("/scans/latest", get(routes::trading::latest_scans))
        .route("/preview", post(routes::manual::preview))
        .route("/decisions", get(routes::decisions::decisions))
        .route("/kpis", get(routes::kpis::kpis))
        .route("/symbols/{symbol}/bars", get(routes::bars::bars))
        .route("/positions", get(routes::trading::positions))
        .route("/positions/{spread_ref}/close", post(routes::manual::close))
        .route(
            "/orders",
            get(routes::trading::orders).post(routes::manual::place),
        )
        .route(
            "/orders/{order_ref}/cancel",
            post(routes::trading::cancel_order),
        )
        .route("/trades", get(routes::trading::trades))
        .route("/events", get(routes::events::history))
        .route("/ws", get(routes::events::websocket))
        .route("/ws/ticket", post(routes::events::ws_ticket))
        .fallback(routes::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(routes::health::healthz))
        .route("/readyz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics))
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then lets
/// in-flight requests finish. TLS as the engine's `[server]` config says
/// (see [`serve_tls`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (server, base) = server_config(&state);
    let tls = AdminTls::from_config(&server, &base, listener.local_addr()?)
        .map_err(std::io::Error::other)?;
    serve_tls(listener, state, tls, shutdown).await
}

/// The `[server]` section in force, and the directory its relative paths
/// start from (the config file's).
fn server_config(state: &AppState) -> (vspread_core::config::ServerConfig, std::path::PathBuf) {
    let live = state.engine.live();
    let base = live
        .path()
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(
            || std::path::PathBuf::from("."),
            std::path::Path::to_path_buf,
        );
    (live.current().config.server.clone(), base)
}

/// Serves [`app`] on `listener` with `tls` (loaded by the caller, so a bad
/// certificate stops a start early), following `[server] tls_cert_file` /
/// `tls_key_file` and their files while it runs. Plain HTTP is refused
/// beyond loopback.
pub async fn serve_tls(
    listener: TcpListener,
    state: AppState,
    tls: AdminTls,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && !tls.is_on() {
        return Err(std::io::Error::other(format!(
            "refusing to serve {local} over plain HTTP: set server.tls_cert_file and server.tls_key_file"
        )));
    }
    let alive = Arc::new(AtomicBool::new(true));
    let reloader = {
        let state = state.clone();
        let alive = alive.clone();
        tokio::spawn(listener::watch_tls(
            tls.clone(),
            state.metrics.clone(),
            move || server_config(&state),
            move || alive.load(Ordering::Relaxed),
        ))
    };
    let listener = AdminListener::new(listener, tls)?;
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<ClientAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    alive.store(false, Ordering::Relaxed);
    reloader.abort();
    served
}
