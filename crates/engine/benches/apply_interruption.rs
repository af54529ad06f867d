//! Apply interruption benchmark: how long an apply holds back new decision
//! cycles (pause requested -> resumed), with the engine's cycle loop running
//! on a real config file, as each apply reports it. Two loads: an idle
//! engine between cycles (the usual case), and cycles back to back, each
//! doing 1 ms of work (an apply does not wait for the one in flight). The
//! whole apply (validate, durable save, pause, swap, resume) is timed too.
//!
//! Run: `cargo bench -p vspread-engine --bench apply_interruption`
//! (`-- --quick` for fewer samples). Target: interruption p99 < 10 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vspread_core::clock::{AcceleratedClock, Clock, SystemClock};
use vspread_engine::config_service::ConfigService;
use vspread_engine::config_store::ConfigStore;
use vspread_engine::control::ControlPlane;
use vspread_engine::cycle_loop::{CycleLoop, Heartbeat};
use vspread_engine::events::EventBus;
use vspread_engine::live_config::LiveConfig;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{name:<44} median {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms",
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        values[values.len() - 1]
    );
}

async fn run(samples: usize, cycle_work: Option<Duration>) -> (Vec<f64>, Vec<f64>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    let store = ConfigStore::new(&path);
    store.init(false).expect("init");
    let live = LiveConfig::load(&path).expect("load");
    let control = Arc::new(ControlPlane::new());
    // Back-to-back cycles: the smallest interval allowed (10 s) under a
    // clock 10,000x real time, so a cycle is due every millisecond.
    let clock = Arc::new(AcceleratedClock::new(SystemClock.now(), 10_000.0).expect("clock"));
    let events = Arc::new(EventBus::new(1_000, clock.clone()));
    let service = ConfigService::new(store, live.clone(), control.clone(), events.clone(), None);
    let looping = CycleLoop {
        clock,
        control,
        config: live.clone(),
        events,
        heartbeat: Arc::new(Heartbeat::default()),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = cycle_work.map(|work| {
        tokio::spawn(async move {
            looping
                .run(
                    move |_| async move { std::thread::sleep(work) },
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await
        })
    });
    let mut interruptions = Vec::with_capacity(samples);
    let mut totals = Vec::with_capacity(samples);
    for i in 0..samples {
        let current = live.current();
        let mut config = (*current.config).clone();
        config.exits.exit_dte = (i % 2) as i64 + 1;
        config.trading.scan_interval_s = 10;
        let t0 = Instant::now();
        let report = service
            .apply(config, &current.version, "bench")
            .await
            .expect("apply");
        totals.push(t0.elapsed().as_secs_f64() * 1e3);
        interruptions.push(report.timings_ms["interruption"]);
    }
    let _ = stop.send(());
    if let Some(task) = task {
        task.await.expect("loop");
    }
    (interruptions, totals)
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let samples = if quick { 40 } else { 300 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("{samples} applies of one changed value each, on a real config.toml:");
    let (idle, idle_total) = runtime.block_on(run(samples, None));
    report("interruption, idle engine", idle);
    let (busy, busy_total) = runtime.block_on(run(samples, Some(Duration::from_millis(1))));
    report("interruption, cycles of 1 ms back to back", busy);
    report("whole apply, idle engine", idle_total);
    report("whole apply, cycles back to back", busy_total);
}
