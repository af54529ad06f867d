//! The trading engine: signals, model-guided chain acquisition, the risk
//! gate and sizing, walked combo orders, exits, the trader that runs them
//! each decision cycle, the cycle loop with its schedule, and the control
//! plane (pause, apply, resume) with the config store and hot reload.

pub mod chain_acquisition;
pub mod chain_plan;
pub mod config_service;
pub mod config_store;
pub mod control;
pub mod cycle_loop;
pub mod entry_order;
pub mod events;
pub mod exits;
pub mod limit_walk;
pub mod live_config;
pub mod market_hours;
pub mod order_driver;
pub mod order_recorder;
pub mod recovery;
pub mod risk;
pub mod schedule;
pub mod signals;
pub mod trader;
pub mod views;
