//! Hot-reload benchmark: how long from a change of `config.toml` on disk to
//! the new snapshot being visible to readers, through the real file watcher,
//! and what a reader pays for `LiveConfig::current()` while reloads run.
//!
//! Run: `cargo bench -p vspread-engine --bench reload_latency`
//! (`-- --quick` for fewer samples). Prints medians and p99; target p99 < 50 ms.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn text(i: usize) -> String {
    format!("[scanner]\ndte_min = {i}\ndte_max = {}\n", i + 1000)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let samples = if quick { 50 } else { 300 };
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text(0)).expect("write");
    let live = LiveConfig::load(&path).expect("load");
    let _guard = watch(
        live.clone(),
        WatchOptions {
            sighup: false,
            ..WatchOptions::default()
        },
    )
    .expect("watch");

    // 1. File change -> snapshot visible, via temp file + rename (how
    //    editors and the config store write).
    let mut latencies = Vec::with_capacity(samples);
    for i in 1..=samples {
        let tmp = dir.path().join("config.toml.tmp");
        std::fs::write(&tmp, text(i)).expect("write");
        let before = live.current().generation;
        let t0 = Instant::now();
        std::fs::rename(&tmp, &path).expect("rename");
        while live.current().generation == before {
            std::hint::spin_loop();
            assert!(
                t0.elapsed() < Duration::from_secs(5),
                "reload never arrived"
            );
        }
        latencies.push(t0.elapsed());
        // Let the watcher drain before the next change.
        std::thread::sleep(Duration::from_millis(10));
    }
    latencies.sort();
    println!(
        "reload latency (file rename -> snapshot visible), {samples} samples: median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );

    // 2. Reader cost, alone and under continuous reloads.
    let reader_cost = |label: &str| {
        let mut per_batch = Vec::new();
        for _ in 0..if quick { 20 } else { 100 } {
            let n = 100_000;
            let t0 = Instant::now();
            let mut sum = 0i64;
            for _ in 0..n {
                sum += std::hint::black_box(live.current()).config.scanner.dte_min;
            }
            std::hint::black_box(sum);
            per_batch.push(t0.elapsed() / n);
        }
        per_batch.sort();
        println!(
            "reader cost of current() {label}: median {} ns, p99 {} ns",
            percentile(&per_batch, 0.5).as_nanos(),
            percentile(&per_batch, 0.99).as_nanos()
        );
    };
    reader_cost("with no reload running");
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let live = live.clone();
        let stop = stop.clone();
        let path = path.clone();
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                std::fs::write(&path, text(i)).expect("write");
                live.reload_from_disk();
            }
            i
        })
    };
    reader_cost("during continuous reloads");
    stop.store(true, Ordering::Relaxed);
    let reloads = writer.join().expect("writer");
    println!("({reloads} reloads ran during the loaded measurement)");
}
