//! The trading engine and its control plane. So far: the config store (safe
//! saves with backups and rollback) and hot reload of `config.toml`.

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
pub mod order_driver;
pub mod risk;
pub mod schedule;
pub mod signals;
