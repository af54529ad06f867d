//! vspread's shared vocabulary: the domain types every other crate speaks
//! (contracts, quotes, vertical spreads, orders, fills, positions, exact
//! money), the [`clock::Clock`] seam, and the one typed configuration model
//! from which parsing, defaults, validation, the JSON Schema and the commented
//! default file are all derived.
//!
//! This crate does no I/O and knows nothing of tokio: it is what both sides of
//! the wire (the simulator and the broker layer) and the engine agree on.

pub mod broker;
pub mod clock;
pub mod config;
pub mod money;
pub mod spread_economics;
pub mod spread_kind;

pub use spread_kind::{Direction, Right, SpreadKind};
