//! The connection watchdog's parts: the [`ConnectionState`] machine exposed
//! as events and metrics, [`Backoff`] between attempts, and the daily
//! [`RestartWindow`]. The loop that drives them over a live `ibapi` client
//! is in [`crate::session`].

mod backoff;
mod restart_window;

pub use backoff::Backoff;
pub use restart_window::RestartWindow;

/// Where the connection stands: the domain's state, which the watchdog
/// drives and the engine reads through [`vspread_core::broker::LinkStatus`].
pub use vspread_core::broker::ConnectionState;
