//! The vertical spread scanner, exactly as `spec/scanner.md` defines it.
//!
//! Data flow: rows (from CSV via [`csv::read_chain`], or from live quotes
//! via [`ChainBuilder::push`]) are checked row by row and across rows, then
//! grouped by (underlying, expiry, right) with strikes sorted once into
//! contiguous columns ([`Chain`]). [`scan`] enumerates only the strike pairs
//! whose width can pass, evaluates the filters in the spec's order (so the
//! funnel attributes each rejection to the first filter that fails, and the
//! costly probability of profit is computed only for survivors), keeps a
//! top-k per underlying, and merges the underlyings' lists in rank order.
//! Underlyings are scanned in parallel.

mod chain;
pub mod csv;
mod format;
mod funnel;
mod scan;
pub mod synthetic;

pub use chain::{BadRow, Chain, ChainBuilder, OptionRow, RowProblem};
pub use format::{format_float, write_csv, write_json, write_table};
pub use funnel::{Filter, Funnel};
pub use scan::{ScanResult, SpreadRow, scan};

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
