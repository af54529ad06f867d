//! What every handler can reach: the engine through its handle, the
//! tokens, the metrics registry.

use std::sync::Arc;

use vspread_engine::Engine;

use crate::auth::Auth;
use crate::metrics::Metrics;

/// Shared state of the admin server; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The whole engine: control, config, orders, views, journal reads,
    /// the gateway link, the event stream.
    pub engine: Engine,
    pub auth: Arc<Auth>,
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}
