//! The vertical spread scanner, exactly as `docs/scanner.md` defines it.
//!
//! Data flow: rows (from CSV via [`csv::read_chain`], or from live quotes
//! via [`ChainBuilder::push`]) are checked row by row and across rows, then
//! grouped by (underlying, expiry, right) with strikes sorted once into
//! contiguous columns ([`Chain`]). [`scan`] enumerates only the strike pairs
//! whose width can pass, evaluates the filters in the spec's order (so the
//! funnel attributes each rejection to the first filter that fails; the leg
//! checks are counted per run of pairs from per-leg counts, and the costly
//! logarithm and normal CDF are computed only where cheap bounds of them
//! cannot decide), keeps a top-k per underlying, and merges the
//! underlyings' lists in rank order. [`scan_rows`] gives the same rows
//! without the funnel, dropping candidates that provably cannot rank before
//! their costly steps. Underlyings are scanned in parallel.

mod chain;
pub mod csv;
pub mod evaluate;
mod format;
mod funnel;
mod scan;
pub mod synthetic;

pub use chain::{BadRow, Chain, ChainBuilder, OptionRow, RowProblem};
pub use evaluate::{
    EvaluateError, FilterCheck, LegMarket, SpreadMarket, SpreadMetrics, check_filters, evaluate,
    probability_of_profit,
};
pub use format::{format_float, write_csv, write_json, write_table};
pub use funnel::{Filter, Funnel};
pub use scan::{ScanResult, SpreadRow, scan, scan_rows};

/// The output columns, in order.
pub const OUTPUT_COLUMNS: [&str; 15] = [
    "underlying",
    "kind",
    "expiry",
    "dte",
    "long_strike",
    "short_strike",
    "width",
    "price",
    "natural",
    "max_profit",
    "max_loss",
    "breakeven",
    "pop",
    "ev",
    "score",
];
