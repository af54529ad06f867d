//! The connection watchdog's parts: the [`ConnectionState`] machine exposed
//! as events and metrics, [`Backoff`] between attempts, and the daily
//! [`RestartWindow`]. The loop that drives them over a live `ibapi` client
//! is in [`crate::session`].

mod backoff;
mod restart_window;

pub use backoff::Backoff;
pub use restart_window::RestartWindow;

/// Where the connection stands; [`code`](Self::code) is exported as a gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected, not trying (before start or after shutdown).
    Disconnected,
    /// A connection attempt is under way.
    Connecting,
    /// Handshake done; waiting for the gateway to answer a request.
    Connected,
    /// The gateway answers requests.
    Ready,
    /// Socket up, but TWS lost its link to IB (1100).
    GatewayDisconnected,
    /// Waiting before the next attempt.
    Backoff,
}

impl ConnectionState {
    pub fn code(self) -> i64 {
        match self {
            ConnectionState::Disconnected => 0,
            ConnectionState::Connecting => 1,
            ConnectionState::Connected => 2,
            ConnectionState::Ready => 3,
            ConnectionState::GatewayDisconnected => 4,
            ConnectionState::Backoff => 5,
        }
    }

    pub fn is_ready(self) -> bool {
        self == ConnectionState::Ready
    }
}
