//! What every handler can reach.

use std::sync::Arc;
use std::time::Instant;

use vspread_engine::config_service::ConfigService;
use vspread_engine::control::ControlPlane;
use vspread_engine::events::EventBus;
use vspread_engine::live_config::LiveConfig;

use crate::auth::Auth;
use crate::metrics::Metrics;

/// Shared state of the admin server; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
    pub live: Arc<LiveConfig>,
    pub control: Arc<ControlPlane>,
    pub events: Arc<EventBus>,
    /// The apply / rollback path for config changes.
    pub config: Arc<ConfigService>,
    pub started_at: Instant,
}
