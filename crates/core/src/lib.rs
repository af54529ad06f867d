//! vspread's shared vocabulary: the domain types every other crate speaks
//! (contracts, quotes, vertical spreads, orders, fills, positions, exact
//! money), the [`clock::Clock`] seam, and the one typed configuration model
//! from which parsing, defaults, validation, the JSON Schema and the commented
//! default file are all derived.
//!
//! This crate does no I/O and knows nothing of tokio: it is what both sides of
//! the wire (the simulator and the broker layer) and the engine agree on.

pub mod account;
pub mod bar;
pub mod broker;
pub mod clock;
pub mod config;
pub mod contract;
pub mod expiry;
pub mod fill;
pub mod journal;
pub mod money;
pub mod order;
pub mod position;
pub mod quote;
pub mod spread;
pub mod spread_economics;
pub mod spread_kind;

pub use account::{AccountSummary, Position};
pub use bar::DailyBar;
pub use clock::{AcceleratedClock, Clock, ManualClock, SystemClock};
pub use contract::{
    ConId, ContractInfo, Instrument, OptionChainParams, OptionContract, StockContract,
};
pub use fill::{CommissionReport, Execution, LegFills, OrderFills, SpreadFill};
pub use money::{Money, Price, Tick, TickRounding};
pub use order::{
    BrokerOrderId, NetPrice, NetPriceOrLimit, OrderEvent, OrderPurpose, OrderRef, OrderRequest,
    OrderState, OrderStatus, OrderTarget, Side, TimeInForce, WhatIf,
};
pub use position::SpreadPosition;
pub use quote::{Greeks, Quote};
pub use spread::VerticalSpread;
pub use spread_kind::{Direction, Right, SpreadKind};
