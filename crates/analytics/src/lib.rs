//! vspread's analytics: the standard normal distribution, Black-Scholes
//! prices, greeks and implied volatility, Wilder's RSI and ATR for the
//! engine's signals, and the vertical spread scanner of `docs/scanner.md`.
//!
//! Everything here is pure computation on f64 (no I/O but the scanner's CSV
//! reader, which takes bytes): prices that reach an order are converted to
//! exact decimals by the engine, not here.

pub mod black_scholes;
pub mod indicators;
pub mod normal;
pub mod scanner;
