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
    /// Whatever a background handle asks ([`vspread_core::broker::Broker::background`]:
    /// the scanner watch), served only when no other request waits.
    Background,
}

impl Priority {
    pub const COUNT: usize = 4;
    pub const ALL: [Priority; Priority::COUNT] = [
        Priority::Order,
        Priority::MarketData,
        Priority::Lookup,
        Priority::Background,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Priority::Order => "order",
            Priority::MarketData => "market data",
            Priority::Lookup => "lookup",
            Priority::Background => "background",
        }
    }
}

impl Priority {
    /// The name as a metric label or API field: `order`, `market_data`,
    /// `lookup`, `background`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Order => "order",
            Priority::MarketData => "market_data",
            Priority::Lookup => "lookup",
            Priority::Background => "background",
        }
    }
}

tokio::task_local! {
    /// The lowest priority a request made inside it may have: a background
    /// handle runs each of its calls in this scope, so every message the
    /// call sends waits behind the ordinary handle's.
    pub(crate) static LANE: Priority;
}

impl Priority {
    /// This priority, lowered to the calling task's lane if it has one.
    pub(crate) fn in_lane(self) -> Priority {
        LANE.try_with(|lane| self.max(*lane)).unwrap_or(self)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lane_lowers_every_request_made_in_it_and_only_there() {
        assert_eq!(Priority::Order.in_lane(), Priority::Order);
        let inside = LANE
            .scope(Priority::Background, async {
                Priority::ALL.map(Priority::in_lane)
            })
            .await;
        assert_eq!(inside, [Priority::Background; Priority::COUNT]);
        // A lane never raises a request.
        let lookup = LANE
            .scope(Priority::MarketData, async { Priority::Lookup.in_lane() })
            .await;
        assert_eq!(lookup, Priority::Lookup);
    }
}
