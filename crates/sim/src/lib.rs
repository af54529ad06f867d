//! The simulated gateway behind `vspread sim`: a deterministic market model
//! (underlyings, option chains, greeks, fills, account) served over the real
//! TWS API wire protocol, so `ibapi` and IB's own clients connect to it as to
//! TWS. It is the peer of every integration test and a fault injector.
//!
//! Shaped like mini-redis: `server::run(listener, shutdown)`, the codec
//! isolated from the handlers, one handler module per request family.

pub mod account;
pub mod clock;
pub mod handlers;
pub mod market;
pub mod orders;
pub mod server;
pub mod wire;
