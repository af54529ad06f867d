//! Writes a synthetic option chain CSV for benchmarks (see
//! `vspread_analytics::scanner::synthetic`).
//!
//! `cargo run --release -p vspread-analytics --example gen_chain -- [--underlyings 500] [--seed 1] --out FILE`
//! (500 underlyings give about 1.2 million rows.)

use std::io::{BufWriter, Write};

use vspread_analytics::scanner::synthetic::write_synthetic_chain;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> std::io::Result<()> {
    let n: usize = arg("--underlyings")
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let seed: u64 = arg("--seed").and_then(|v| v.parse().ok()).unwrap_or(1);
    let out = arg("--out").unwrap_or_else(|| "chain.csv".into());
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let rows = write_synthetic_chain(&mut w, n, seed)?;
    w.flush()?;
    eprintln!("wrote {rows} rows for {n} underlyings to {out}");
    Ok(())
}
