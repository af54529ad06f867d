//! The simulated gateway behind `vspread sim`: a deterministic market model
//! (underlyings, option chains, greeks, fills, account) served over the real
//! TWS API wire protocol, so `ibapi` and IB's own clients connect to it as to
//! TWS. It is the peer of every integration test and a fault injector.
//!
//! Shaped like mini-redis: `server::run(listener, server, shutdown)` (or
//! `Server::start`, whose `ServerHandle` injects faults), the codec in
//! `wire` isolated from the handlers, one handler module per request
//! family, the shared state in `gateway`, IB's limits in `pacing`,
//! `--state FILE` in `persist`. The crate README documents the protocol
//! coverage, limits and faults.

pub mod account;
pub mod clock;
pub mod faults;
pub mod fuzzing;
pub mod gateway;
pub mod handlers;
pub mod market;
pub mod orders;
pub mod pacing;
pub mod persist;
pub mod server;
pub mod wire;
