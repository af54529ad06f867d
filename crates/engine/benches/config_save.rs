//! Config save benchmark: what one save costs on this machine's disk, step
//! by step, as the store itself measures it ([`SaveTimings`]), for the full
//! commented default file with one value changed per save.
//!
//! Run: `cargo bench -p vspread-engine --bench config_save` (`-- --quick`
//! for fewer samples). Prints median and p99 of each step; the write and
//! backup steps are bound by fsync, the rest is CPU.

use vspread_engine::config_store::{ConfigStore, SaveTimings};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let median = percentile(&values, 0.5);
    println!(
        "{name:<28} median {median:>8.3} ms   p99 {:>8.3} ms",
        percentile(&values, 0.99)
    );
    median
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let samples = if quick { 40 } else { 300 };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = ConfigStore::new(dir.path().join("config.toml"));
    store.init(false).expect("init");
    let mut config = store.load().expect("load").config;

    let mut timings: Vec<SaveTimings> = Vec::with_capacity(samples);
    for i in 0..samples {
        config.exits.exit_dte = (i % 2) as i64 + 1;
        timings.push(store.save(&config, None).expect("save").timings);
    }
    let mut no_op = Vec::with_capacity(samples);
    for _ in 0..samples {
        no_op.push(store.save(&config, None).expect("save").timings.total_ms);
    }

    let size = std::fs::metadata(store.path()).expect("stat").len();
    println!("{samples} saves of a {size}-byte config.toml, one value changed each:");
    let step = |f: fn(&SaveTimings) -> f64| timings.iter().map(f).collect::<Vec<_>>();
    report("validate", step(|t| t.validate_ms));
    let edit = report("read + diff + edit + check", step(|t| t.edit_ms));
    report("backup (link + dir fsync)", step(|t| t.backup_ms));
    let write = report("write (atomic)", step(|t| t.write_ms));
    report("prune", step(|t| t.prune_ms));
    let total = report("total save", step(|t| t.total_ms));
    let no_op = report("no-op save (nothing written)", no_op);
    let mut durable_share: Vec<f64> = timings
        .iter()
        .map(|t| (t.backup_ms + t.write_ms + t.prune_ms) / t.total_ms)
        .collect();
    durable_share.sort_by(f64::total_cmp);
    println!(
        "the durable steps (backup, write, prune) are {:.0}% of a save (median of per-save shares); \
         one atomic write costs {:.1}x the edit; a no-op save costs {:.1}% of a real one (medians)",
        100.0 * percentile(&durable_share, 0.5),
        write / edit,
        100.0 * no_op / total
    );
}
