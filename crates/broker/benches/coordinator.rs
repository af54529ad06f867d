//! The request coordinator's own overhead per request: one grant taken with
//! a rate so high that the bucket never makes anyone wait, so what is
//! measured is queueing, dispatch and wake-up.

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use vspread_broker::BrokerMetrics;
use vspread_broker::pacing::{Coordinator, PacingSettings, Priority, TokenBucket};

fn coordinator_overhead(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let coordinator = rt.block_on(async {
        Coordinator::start(
            PacingSettings {
                max_messages_per_sec: 1_000_000_000,
                burst: 1_000_000,
                queue_capacity: 1024,
            },
            Arc::new(BrokerMetrics::default()),
        )
    });
    c.bench_function("coordinator grant (uncontended)", |b| {
        b.to_async(&rt)
            .iter(|| async { coordinator.acquire(Priority::MarketData).await.unwrap() });
    });
    // Per-request percentiles, which criterion's batch means do not give.
    let mut each: Vec<f64> = rt.block_on(async {
        let mut v = Vec::with_capacity(20_000);
        for _ in 0..20_000 {
            let t = std::time::Instant::now();
            coordinator.acquire(Priority::MarketData).await.unwrap();
            v.push(t.elapsed().as_secs_f64() * 1e6);
        }
        v
    });
    each.sort_by(f64::total_cmp);
    println!(
        "coordinator grant, 20,000 requests one at a time: median {:.2} µs, p99 {:.2} µs",
        each[each.len() / 2],
        each[each.len() * 99 / 100]
    );
    let mut bucket = TokenBucket::new(1_000_000_000, 1_000_000);
    let start = std::time::Instant::now();
    c.bench_function("token bucket try_take", |b| {
        b.iter(|| bucket.try_take(start.elapsed()))
    });
}

criterion_group!(benches, coordinator_overhead);
criterion_main!(benches);
