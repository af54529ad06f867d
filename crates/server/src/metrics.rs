//! Prometheus metrics of the admin server and the parts it can see. The
//! registry belongs to the server instance (no process-wide recorder), so
//! tests build as many apps as they like.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub engine_paused: Gauge,
    pub config_generation: Gauge,
    pub config_applies: Family<ResultLabels, Counter>,
    pub config_apply_interruption_seconds: Histogram,
    pub config_reload_errors: Counter,
    pub events_published: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vspread");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Admin API requests by route, method and status",
            http_requests.clone(),
        );
        let engine_paused = Gauge::default();
        registry.register(
            "engine_paused",
            "1 while the engine is paused or pausing, else 0",
            engine_paused.clone(),
        );
        let config_generation = Gauge::default();
        registry.register(
            "config_generation",
            "Generation of the config in force (increases with every applied change)",
            config_generation.clone(),
        );
        let config_applies = Family::<ResultLabels, Counter>::default();
        registry.register(
            "config_applies",
            "Config applies through the API, by result",
            config_applies.clone(),
        );
        let config_apply_interruption_seconds = Histogram::new([
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]);
        registry.register(
            "config_apply_interruption_seconds",
            "Time new decision cycles were held back by a config apply",
            config_apply_interruption_seconds.clone(),
        );
        let config_reload_errors = Counter::default();
        registry.register(
            "config_reload_errors",
            "Config files refused by the hot-reload watcher",
            config_reload_errors.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events published on the engine's event stream",
            events_published.clone(),
        );
        Self {
            registry,
            http_requests,
            engine_paused,
            config_generation,
            config_applies,
            config_apply_interruption_seconds,
            config_reload_errors,
            events_published,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Middleware counting requests by matched route (not raw path, so ids do
/// not explode the label set).
pub async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Routing happens inside this layer, so label by path; every route here
    // is a fixed path, and anything unrouted shares one label so probes of
    // random paths cannot grow the label set.
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let response = next.run(req).await;
    let route = if response.status() == axum::http::StatusCode::NOT_FOUND {
        "unmatched".to_string()
    } else {
        path
    };
    let metrics: &Arc<Metrics> = &state.metrics;
    metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}
