//! Prometheus metrics of the admin server and the parts it can see. The
//! registry belongs to the server instance (no process-wide recorder), so
//! tests build as many apps as they like.
//!
//! The broker layer and the trader keep their own counters and views; a
//! scrape copies them in ([`Metrics::observe`]). Events are folded into
//! counters and histograms (order execution time, scan duration) as they
//! are published ([`Metrics::follow`]): the bus keeps only the newest few
//! hundred in memory, fewer than two rare scrapes can be apart.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

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
use vspread_core::OrderPurpose;
use vspread_engine::events::EngineEvent;

mod ops;
pub use ops::OpsMetrics;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabels {
    pub priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrderLabels {
    pub purpose: String,
    pub outcome: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// What the broker layer and the trader say, copied in at each scrape.
#[derive(Debug)]
pub struct LinkMetrics {
    pub gateway_connected: Gauge,
    pub gateway_connection_state: Gauge,
    pub gateway_server_version: Gauge,
    pub gateway_connects: Counter,
    pub gateway_disconnects: Counter,
    pub gateway_errors: Family<CodeLabels, Counter>,
    pub lines_active: Gauge,
    pub lines_pinned: Gauge,
    pub lines_max: Gauge,
    pub lines_usage_ratio: FloatGauge,
    pub lines_evicted: Counter,
    pub lines_refused: Counter,
    pub request_queue_depth: Family<PriorityLabels, Gauge>,
    pub request_throttle_events: Counter,
    pub positions_open: Gauge,
    pub pnl_realised_today: FloatGauge,
    pub pnl_unrealised: FloatGauge,
    pub orders_ended: Family<OrderLabels, Counter>,
    pub order_execution_seconds: Histogram,
    pub scans: Counter,
    pub scan_duration_seconds: Histogram,
    pub scan_candidates: Gauge,
}

impl LinkMetrics {
    fn new() -> Self {
        Self {
            gateway_connected: Gauge::default(),
            gateway_connection_state: Gauge::default(),
            gateway_server_version: Gauge::default(),
            gateway_connects: Counter::default(),
            gateway_disconnects: Counter::default(),
            gateway_errors: Family::default(),
            lines_active: Gauge::default(),
            lines_pinned: Gauge::default(),
            lines_max: Gauge::default(),
            lines_usage_ratio: FloatGauge::default(),
            lines_evicted: Counter::default(),
            lines_refused: Counter::default(),
            request_queue_depth: Family::default(),
            request_throttle_events: Counter::default(),
            positions_open: Gauge::default(),
            pnl_realised_today: FloatGauge::default(),
            pnl_unrealised: FloatGauge::default(),
            orders_ended: Family::default(),
            order_execution_seconds: Histogram::new([
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
            ]),
            scans: Counter::default(),
            scan_duration_seconds: Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            scan_candidates: Gauge::default(),
        }
    }
}

/// Folds one event into the series it counts in.
fn fold_event(link: &LinkMetrics, ops: &OpsMetrics, event: &EngineEvent) {
    ops.fold(event);
    match event {
        EngineEvent::OrderEnded(ended) => {
            let purpose = ended.purpose.name();
            link.orders_ended
                .get_or_create(&OrderLabels {
                    purpose: purpose.to_string(),
                    outcome: ended.end.outcome().to_string(),
                })
                .inc();
            link.order_execution_seconds
                .observe(ended.execution_ms as f64 / 1e3);
        }
        EngineEvent::ScanCompleted(scan) => {
            link.scans.inc();
            link.scan_duration_seconds.observe(scan.duration_ms / 1e3);
            link.scan_candidates
                .set(i64::try_from(scan.candidates).unwrap_or(i64::MAX));
        }
        _ => {}
    }
}

/// Raises a counter to a total kept elsewhere.
fn raise_to(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
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
    /// Requests refused for their credentials, by outcome: `rejected` (a
    /// bad or missing token or ticket) or `limited` (429: the client
    /// address failed too often).
    pub auth_failures: Family<ResultLabels, Counter>,
    /// TLS certificate loads by the running server, by result.
    pub tls_reloads: Family<ResultLabels, Counter>,
    pub link: Arc<LinkMetrics>,
    pub storage: StorageMetrics,
    pub websocket: WebSocketMetrics,
    pub ops: Arc<OpsMetrics>,
    /// Set once these metrics fold an engine's events.
    following: OnceLock<()>,
}

/// The event stream's clients.
#[derive(Debug, Default)]
pub struct WebSocketMetrics {
    pub clients: Gauge,
    pub cut_off: Family<ReasonLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

/// The journal's storage, copied in at each scrape from the engine's
/// verdict (the one the entry gate and readiness read).
#[derive(Debug, Default)]
pub struct StorageMetrics {
    pub journal_writable: Gauge,
    pub journal_free_bytes: Gauge,
    pub journal_reserve_bytes: Gauge,
    pub journal_write_errors: Counter,
    pub journal_pending_writes: Gauge,
    pub journal_events_dropped: Counter,
}

impl StorageMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "journal_writable",
            "1 while the journal can be relied on for new entries; 0 while they are refused (low space, a failed write)",
            self.journal_writable.clone(),
        );
        registry.register(
            "journal_free_bytes",
            "Free space of the data directory's filesystem",
            self.journal_free_bytes.clone(),
        );
        registry.register(
            "journal_reserve_bytes",
            "Space held in the journal's reserve file (released when a write finds the disk full)",
            self.journal_reserve_bytes.clone(),
        );
        registry.register(
            "journal_write_errors",
            "Journal writes that failed with a storage error",
            self.journal_write_errors.clone(),
        );
        registry.register(
            "journal_pending_writes",
            "Trading records (fills, commissions, order ends, closures) held for the journal and retried",
            self.journal_pending_writes.clone(),
        );
        registry.register(
            "journal_events_dropped",
            "Narrative events given up on while the journal refused writes",
            self.journal_events_dropped.clone(),
        );
    }

    fn observe(&self, engine: &vspread_engine::Engine) {
        let s = engine.storage();
        self.journal_writable.set(i64::from(s.degraded.is_none()));
        self.journal_free_bytes.set(
            s.free_bytes
                .map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        );
        self.journal_reserve_bytes
            .set(i64::try_from(s.reserve_bytes).unwrap_or(i64::MAX));
        raise_to(&self.journal_write_errors, s.write_errors);
        self.journal_pending_writes
            .set(i64::try_from(s.pending_writes).unwrap_or(i64::MAX));
        raise_to(
            &self.journal_events_dropped,
            engine.events().not_journaled(),
        );
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut root = Registry::default();
        OpsMetrics::register_process(&mut root);
        let registry = root.sub_registry_with_prefix("vspread");
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
        let auth_failures = Family::<ResultLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "Admin API requests refused for their credentials: rejected (bad or missing token or ticket) or limited (429, too many failures from the address)",
            auth_failures.clone(),
        );
        let tls_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "tls_reloads",
            "TLS certificate and key loads by the running admin server, by result (loaded, failed)",
            tls_reloads.clone(),
        );
        // The label sets these families can take exist at 0 from the start,
        // so `rate()` and alerts have a first sample before the first
        // failure, and every exported family shows in the first scrape
        // (deploy/test/metrics_check.py checks the names against
        // deploy/metrics.yaml).
        for result in ["rejected", "limited"] {
            let _ = auth_failures.get_or_create(&ResultLabels {
                result: result.into(),
            });
        }
        for result in ["loaded", "failed"] {
            let _ = tls_reloads.get_or_create(&ResultLabels {
                result: result.into(),
            });
        }
        let link = Arc::new(LinkMetrics::new());
        // Every purpose and outcome from the start, so a fill rate has a
        // denominator and `rate()` a first sample before the first end.
        for purpose in OrderPurpose::ALL {
            for outcome in ["filled", "timed_out", "cancelled", "rejected"] {
                let _ = link.orders_ended.get_or_create(&OrderLabels {
                    purpose: purpose.name().to_string(),
                    outcome: outcome.to_string(),
                });
            }
        }
        register_link(registry, &link);
        let ops = Arc::new(OpsMetrics::register(registry));
        let storage = StorageMetrics::default();
        storage.register(registry);
        let websocket = WebSocketMetrics::default();
        for reason in ["lagging", "stuck"] {
            let _ = websocket.cut_off.get_or_create(&ReasonLabels {
                reason: reason.into(),
            });
        }
        registry.register(
            "websocket_clients",
            "Clients following the event stream (/api/v1/ws)",
            websocket.clients.clone(),
        );
        registry.register(
            "websocket_cut_off",
            "Event stream clients cut off for falling behind (lagging) or not reading (stuck)",
            websocket.cut_off.clone(),
        );
        Self {
            registry: root,
            ops,
            storage,
            websocket,
            link,
            auth_failures,
            tls_reloads,
            http_requests,
            engine_paused,
            config_generation,
            config_applies,
            config_apply_interruption_seconds,
            config_reload_errors,
            events_published,
            following: OnceLock::new(),
        }
    }

    /// Folds every event `events` publishes from now on (and those it
    /// holds now) into the event counters and histograms, as each is
    /// published. Once per [`Metrics`]: later calls do nothing. The
    /// server calls it when it builds its router.
    pub fn follow(&self, events: &vspread_engine::events::EventBus) {
        if self.following.set(()).is_err() {
            return;
        }
        let link = self.link.clone();
        let ops = self.ops.clone();
        let published = self.events_published.clone();
        events.tap(move |e| {
            published.inc();
            fold_event(&link, &ops, &e.event);
        });
    }

    /// Copies in the gateway link's counters, the trader's positions and
    /// P&L, and folds the events since the last scrape.
    pub fn observe(&self, state: &AppState) {
        let link = &self.link;
        let m = state.engine.link_status();
        link.gateway_connected.set(i64::from(m.ready));
        link.gateway_connection_state.set(m.state.code());
        link.gateway_server_version
            .set(i64::from(m.server_version.unwrap_or_default()));
        raise_to(&link.gateway_connects, m.connects);
        raise_to(&link.gateway_disconnects, m.disconnects);
        for (code, n) in &m.errors_by_code {
            raise_to(
                &link.gateway_errors.get_or_create(&CodeLabels {
                    code: code.to_string(),
                }),
                *n,
            );
        }
        let max = i64::try_from(m.max_lines).unwrap_or(i64::MAX);
        link.lines_active.set(m.lines_active);
        link.lines_pinned.set(m.lines_pinned);
        link.lines_max.set(max);
        link.lines_usage_ratio
            .set(m.lines_active as f64 / max.max(1) as f64);
        raise_to(&link.lines_evicted, m.lines_evicted);
        raise_to(&link.lines_refused, m.lines_refused);
        for q in &m.queues {
            link.request_queue_depth
                .get_or_create(&PriorityLabels {
                    priority: q.priority.to_string(),
                })
                .set(q.depth);
        }
        raise_to(&link.request_throttle_events, m.throttle_events);
        let positions = state.engine.views().positions();
        link.positions_open.set(positions.positions.len() as i64);
        let f = |d: rust_decimal::Decimal| d.to_string().parse::<f64>().unwrap_or(0.0);
        link.pnl_realised_today.set(f(positions.realised_today));
        link.pnl_unrealised.set(f(positions.unrealised));
        self.storage.observe(&state.engine);
        self.ops.observe(&state.engine);
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
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let took = started.elapsed().as_secs_f64();
    let route = if response.status() == axum::http::StatusCode::NOT_FOUND {
        "unmatched".to_string()
    } else if path.starts_with("/api/v1/orders/") && path.ends_with("/cancel") {
        // One label for every order's cancel.
        "/api/v1/orders/{order_ref}/cancel".to_string()
    } else {
        path
    };
    let metrics: &Arc<Metrics> = &state.metrics;
    metrics.ops.observe_request(&route, &method, took);
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

fn register_link(registry: &mut Registry, link: &LinkMetrics) {
    registry.register(
        "gateway_connected",
        "1 while the gateway answers requests, else 0",
        link.gateway_connected.clone(),
    );
    registry.register(
        "gateway_connection_state",
        "0 disconnected, 1 connecting, 2 connected, 3 ready, 4 TWS lost IB, 5 backing off",
        link.gateway_connection_state.clone(),
    );
    registry.register(
        "gateway_server_version",
        "API server version negotiated with the gateway",
        link.gateway_server_version.clone(),
    );
    registry.register(
        "gateway_connects",
        "Connections made to the gateway",
        link.gateway_connects.clone(),
    );
    registry.register(
        "gateway_disconnects",
        "Connections lost",
        link.gateway_disconnects.clone(),
    );
    registry.register(
        "gateway_errors",
        "Errors the gateway sent, by IB error code",
        link.gateway_errors.clone(),
    );
    registry.register(
        "market_data_lines_active",
        "Market data subscriptions held",
        link.lines_active.clone(),
    );
    registry.register(
        "market_data_lines_pinned",
        "Subscriptions pinned (legs of held spreads and working orders)",
        link.lines_pinned.clone(),
    );
    registry.register(
        "market_data_lines_max",
        "The line budget (market_data.max_lines)",
        link.lines_max.clone(),
    );
    registry.register(
        "market_data_lines_usage_ratio",
        "Lines held over the budget",
        link.lines_usage_ratio.clone(),
    );
    registry.register(
        "market_data_lines_evicted",
        "Least recently used lines evicted to make room",
        link.lines_evicted.clone(),
    );
    registry.register(
        "market_data_lines_refused",
        "Subscriptions refused because every line was pinned",
        link.lines_refused.clone(),
    );
    registry.register(
        "request_queue_depth",
        "Requests waiting for a pacing token, by priority",
        link.request_queue_depth.clone(),
    );
    registry.register(
        "request_throttle_events",
        "Times the request pacer had to wait for a token",
        link.request_throttle_events.clone(),
    );
    registry.register(
        "positions_open",
        "Spreads held",
        link.positions_open.clone(),
    );
    registry.register(
        "pnl_realised_today",
        "Realised P&L of the New York day, after commissions",
        link.pnl_realised_today.clone(),
    );
    registry.register(
        "pnl_unrealised",
        "Unrealised P&L of the held spreads at their last marks",
        link.pnl_unrealised.clone(),
    );
    registry.register(
        "orders_ended",
        "Orders ended, by purpose and outcome",
        link.orders_ended.clone(),
    );
    registry.register(
        "order_execution_seconds",
        "From an order's placement to its end, on the engine's clock",
        link.order_execution_seconds.clone(),
    );
    registry.register("scans", "Chain scans completed", link.scans.clone());
    registry.register(
        "scan_duration_seconds",
        "One underlying's chain acquisition and scan, wall time",
        link.scan_duration_seconds.clone(),
    );
    registry.register(
        "scan_candidates",
        "Candidate pairs of the last scan",
        link.scan_candidates.clone(),
    );
}
