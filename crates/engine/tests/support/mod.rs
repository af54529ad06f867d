//! Code the engine's integration tests and benchmarks share.

// Each test binary uses its own part of the support code.
#![allow(dead_code)]

pub mod market_chain;
pub mod stack;
