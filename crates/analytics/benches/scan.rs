//! Scanner throughput on the synthetic million-row chain (500 underlyings):
//! CSV parsing in rows/s, the in-memory scan in candidate pairs/s on one
//! core and on all cores, and peak memory.
//!
//! Two scan paths, same rows: `scan_*` is [`scan_rows`], what `vspread scan`
//! runs by default (rows only); `scan_funnel_*` is [`scan`], which also counts
//! the exact filter funnel (`vspread scan --explain`, the engine's records).
//!
//! `cargo bench -p vspread-analytics --bench scan`
//!
//! "Pairs evaluated" are the candidate pairs inside the width bounds of the
//! groups whose dte passes: the ones the scan decides (the same count for
//! both paths). Candidates outside those bounds are counted by arithmetic,
//! never touched.

use std::time::Duration;

use criterion::{Criterion, Throughput};
use vspread_analytics::scanner::csv::read_chain;
use vspread_analytics::scanner::synthetic::write_synthetic_chain;
use vspread_analytics::scanner::{scan, scan_rows};
use vspread_core::config::Config;

/// The allocator the `vspread` binary ships with, so the figures are the
/// binary's: parsing allocates the chain's columns from worker threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let mut csv = Vec::new();
    let rows = write_synthetic_chain(&mut csv, 500, 1).expect("generate");
    let config_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/scan_bench.toml"
    ))
    .expect("bench/scan_bench.toml");
    let config = Config::from_toml_str(&config_text).expect("valid").scanner;
    let read = read_chain(&csv).expect("chain");
    let full = scan(&read.chain, &config);
    assert_eq!(
        scan_rows(&read.chain, &config),
        full.rows,
        "both paths give the same rows"
    );
    let pairs = full.funnel.pairs_evaluated;
    println!(
        "chain: {rows} rows ({} MB of CSV), {pairs} candidate pairs evaluated per scan; peak RSS after parsing {:.0} MB",
        csv.len() / 1_000_000,
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut g = c.benchmark_group("scanner");
    g.throughput(Throughput::Elements(rows as u64));
    g.bench_function("parse_csv (rows)", |b| {
        b.iter(|| read_chain(std::hint::black_box(&csv)).unwrap())
    });
    g.throughput(Throughput::Elements(pairs));
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    g.bench_function("scan_one_core (pairs)", |b| {
        b.iter(|| one_core.install(|| scan_rows(std::hint::black_box(&read.chain), &config)))
    });
    g.bench_function("scan_all_cores (pairs)", |b| {
        b.iter(|| scan_rows(std::hint::black_box(&read.chain), &config))
    });
    g.bench_function("scan_funnel_one_core (pairs)", |b| {
        b.iter(|| one_core.install(|| scan(std::hint::black_box(&read.chain), &config)))
    });
    g.bench_function("scan_funnel_all_cores (pairs)", |b| {
        b.iter(|| scan(std::hint::black_box(&read.chain), &config))
    });
    g.finish();
    c.final_summary();
    println!("peak RSS {:.0} MB", peak_rss_mb().unwrap_or(f64::NAN));
}
