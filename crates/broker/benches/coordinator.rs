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
    let mut bucket = TokenBucket::new(1_000_000_000, 1_000_000);
    let start = std::time::Instant::now();
    c.bench_function("token bucket try_take", |b| {
        b.iter(|| bucket.try_take(start.elapsed()))
    });
}

criterion_group!(benches, coordinator_overhead);
criterion_main!(benches);
