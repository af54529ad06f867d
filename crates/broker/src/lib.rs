//! vspread's broker layer: the only crate that speaks to TWS / IB Gateway,
//! through the `ibapi` crate's async client, and the only one that imports
//! `ibapi`. It implements [`vspread_core::broker::Broker`] in domain types and
//! makes the connection behave on its own:
//!
//! - [`watchdog`]: connect with a timeout, detect loss, reconnect with capped
//!   exponential backoff and jitter, know the daily restart window, and say
//!   "ready" only when the gateway answers;
//! - [`pacing`]: one token bucket for every outbound message, priorities,
//!   merged identical requests, historical pacing, bounded queues;
//! - [`lines`]: the market-data line budget with LRU eviction and pinning;
//! - contracts, combos, orders and reconciliation over `ibapi`;
//! - [`diagnostics`]: one-shot probes of a TWS / IB Gateway setup for
//!   `vspread doctor`.
//!
//! Everything is measured in [`metrics::BrokerMetrics`].

pub mod combo;
mod contract_cache;
mod convert;
pub mod diagnostics;
mod events;
pub mod lines;
mod lookups;
mod market_data;
pub mod metrics;
mod orders;
pub mod pacing;
pub mod reconcile;
mod session;
mod settings;
pub mod watchdog;

pub use metrics::BrokerMetrics;
pub use session::IbBroker;
pub use settings::BrokerSettings;
