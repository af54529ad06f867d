//! Pacing of everything the layer sends: the [`Coordinator`] (one token
//! bucket, priorities, bounded queues), merging of identical requests
//! ([`InFlight`]) and IB's historical-data rules ([`HistoricalPacer`]).

mod coordinator;
mod historical;
mod in_flight;
mod token_bucket;

use std::fmt;

pub use coordinator::{Coordinator, Grant, PacingError, PacingSettings};
pub use historical::{HistoricalKey, HistoricalPacer};
pub use in_flight::InFlight;
pub use token_bucket::TokenBucket;

/// Which queue a message waits in; earlier variants are served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Orders and cancels.
    Order,
    /// Market data subscriptions, snapshots and their cancels; connection checks.
    MarketData,
    /// Historical data and contract lookups, executions, positions.
    Lookup,
}

impl Priority {
    pub const COUNT: usize = 3;
    pub const ALL: [Priority; Priority::COUNT] =
        [Priority::Order, Priority::MarketData, Priority::Lookup];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Order => "order",
            Priority::MarketData => "market data",
            Priority::Lookup => "lookup",
        }
    }
}

impl Priority {
    /// The name as a metric label or API field: `order`, `market_data`,
    /// `lookup`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Order => "order",
            Priority::MarketData => "market_data",
            Priority::Lookup => "lookup",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
