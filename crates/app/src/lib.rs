//! The trading stack as one library call, for every program that runs an
//! engine: the `vspread` binary (`run`, `demo`) and the desktop app
//! (`vspread-desktop`, Local mode). [`stack`] assembles the engine beside
//! a gateway in the order that fails early; [`demo`] puts the built-in
//! simulated gateway in front of it. Both report the admin address and
//! token once the server listens ([`StackReady`]) and stop cleanly (the
//! journal closed, the data directory's lock released) when their
//! shutdown future completes.
//!
//! The admin server stays free of the broker layer: this crate is where
//! the two meet.

pub mod demo;
pub mod stack;

pub use demo::{DemoOptions, run_demo};
pub use stack::{EngineClock, Prepared, StackOptions, StackReady, prepare, run_stack};
