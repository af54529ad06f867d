//! What every handler can reach.

use std::sync::Arc;
use std::time::Instant;

use vspread_broker::BrokerMetrics;
use vspread_core::clock::Clock;
use vspread_core::journal::Journal;
use vspread_engine::config_service::ConfigService;
use vspread_engine::control::ControlPlane;
use vspread_engine::events::EventBus;
use vspread_engine::live_config::LiveConfig;
use vspread_engine::views::TradingViews;

use crate::auth::Auth;
use crate::metrics::Metrics;

/// Shared state of the admin server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
    pub live: Arc<LiveConfig>,
    pub control: Arc<ControlPlane>,
    pub events: Arc<EventBus>,
    /// The apply / rollback path for config changes.
    pub config: Arc<ConfigService>,
    /// The trader's latest scans, positions and working orders.
    pub views: Arc<TradingViews>,
    /// Orders, fills and trades, durably.
    pub journal: Arc<dyn Journal>,
    /// The engine's clock (the simulator's in the demo): the trading
    /// window is judged by it.
    pub clock: Arc<dyn Clock>,
    /// The broker layer's link to the gateway, when there is one.
    pub gateway: Option<GatewayLink>,
    pub started_at: Instant,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

/// The gateway the broker layer talks to, and its live counters.
#[derive(Debug, Clone)]
pub struct GatewayLink {
    pub address: String,
    pub metrics: Arc<BrokerMetrics>,
}
