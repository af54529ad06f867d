//! The trading engine: signals, model-guided chain acquisition, the risk
//! gate and sizing as typed decision stages, the order manager that drives
//! every working order apart from the decisions, exits, the trader that
//! runs them each decision cycle, the cycle loop with its schedule, the
//! control plane (pause, apply, resume, kill switch) with the config store
//! and hot reload, and the [`Engine`] handle that wires them together for
//! the binary, the admin server, the tests and the benches; beside them,
//! trading by hand (previews, manual entries and closes), the record of
//! each entry decision, the scanner watch and daily bars for charts.

pub mod bars;
pub mod chain_acquisition;
pub mod chain_plan;
pub mod config_service;
pub mod config_store;
pub mod control;
pub mod cycle_loop;
pub mod decision;
pub mod engine;
pub mod events;
pub mod exits;
pub mod journal_io;
pub mod kpis;
pub mod live_config;
pub mod lock;
pub mod manual;
pub mod market_hours;
pub mod notify;
pub mod orders;
pub mod recovery;
pub mod risk;
pub mod schedule;
pub mod signals;
pub mod storage;
pub mod trader;
pub mod views;
pub mod watch;

pub use engine::{Engine, EngineBuilder, EngineError};
