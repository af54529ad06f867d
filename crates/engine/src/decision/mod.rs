//! The entry decision as typed stages, each a function with typed input
//! and output, testable alone:
//!
//! signal -> gate -> chain -> scan -> size -> preview -> order
//!
//! - [`signal`]: the strategies on the underlying's daily bars;
//! - [`gate`]: every rule that needs no market data (kill switch, restart
//!   guard, daily loss, position limits, an entry already working);
//! - [`chain`]: the underlying's price and ATM IV (and the IV breaker),
//!   the chain priced by the model and quoted where it matters;
//! - [`scan`]: the scanner on the acquired chain, its funnel and near
//!   misses, and the best spread with its legs resolved ([`quoted`]);
//! - [`size`]: contracts from NetLiquidation and the spread's max loss;
//! - [`preview`]: the gateway's what-if margin against buying power;
//! - [`order`]: the walk, the journal record and the plan the order
//!   manager takes over.
//!
//! The trader runs them in order for one symbol, publishes what each
//! decided, keeps what the stages found in a [`record::DecisionRecord`]
//! (the operator's "why"), and stops at a stage boundary when the engine
//! was paused meanwhile (`crate::trader`). The gate can also list every
//! rule that refuses ([`gate::refusals`]), which a manual entry's preview
//! shows; the bot stops at the first.

pub mod chain;
pub mod gate;
pub mod order;
pub mod preview;
pub mod quoted;
pub mod record;
pub mod scan;
pub mod signal;
pub mod size;

/// A failure of one entry or exit step (the cycle goes on with the next).
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Broker(#[from] vspread_core::broker::BrokerError),
    #[error(transparent)]
    Signal(#[from] crate::signals::SignalError),
    #[error(transparent)]
    Journal(#[from] vspread_core::journal::JournalError),
    #[error("{0}")]
    Other(String),
}
