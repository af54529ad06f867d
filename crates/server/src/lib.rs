//! The admin server: a REST + WebSocket API over the running engine, with
//! bearer-token auth, an OpenAPI document, Prometheus `/metrics`, health
//! probes, and the embedded web UI.
//!
//! [`app`] builds the whole router from an [`AppState`] so tests drive it
//! without a socket; [`serve`] binds it with graceful shutdown. Every
//! `/api` route needs a token; `/healthz`, `/readyz` and `/metrics` do not
//! (they carry no secrets and are what probes and Prometheus scrape).

mod auth;
mod error;
mod extract;
mod metrics;
mod openapi;
mod routes;
mod state;
mod ui;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use auth::{Auth, AuthError, Role, TokenSetup};
pub use error::AppError;
pub use metrics::Metrics;
pub use state::AppState;

/// The largest request body accepted (a whole config is a few kilobytes).
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The router of the whole admin server.
pub fn app(state: AppState) -> Router {
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
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
