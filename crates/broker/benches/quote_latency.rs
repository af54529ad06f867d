//! End-to-end latency from a simulator quote to the broker's domain event:
//! the simulated market is moved one second, the simulator's next
//! heartbeat (every millisecond here) sends the changed ticks of a
//! streaming line over loopback TCP, `ibapi` decodes them, the broker folds
//! them into its quote and publishes `BrokerEvent::Quote`. Measured from the
//! clock move to the event, so each sample includes up to one heartbeat
//! period (1 ms) of waiting for the simulator to look.
//!
//! `cargo bench -p vspread-broker --bench quote_latency` (prints median,
//! p99 and max over 500 samples).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use futures::StreamExt;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::ManualClock;
use vspread_core::config::Config;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let clock = Arc::new(ManualClock::new(start));
        let mut settings = SimSettings::new(clock.clone());
        settings.heartbeat = Duration::from_millis(1);
        let market = Market::new(MarketConfig {
            seed: 1,
            start,
            always_open: true,
        });
        let server = Server::new(settings, market, Venue::new(VenueConfig::new(1)));
        let sim = server.start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap());
        let mut s = BrokerSettings::from_config(&Config::default());
        s.address = sim.local_addr().to_string();
        let broker = IbBroker::start(s);
        broker.wait_ready(Duration::from_secs(10)).await.expect("ready");
        let spy = broker.stock("SPY").await.expect("SPY");
        broker.subscribe_quotes(&spy, false).await.expect("line");
        let mut events = broker.events();
        // Let the first full quote arrive.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while tokio::time::timeout(Duration::from_millis(20), events.next())
            .await
            .is_ok()
        {}

        let mut samples = Vec::with_capacity(500);
        while samples.len() < 500 {
            clock.advance(chrono::Duration::seconds(1));
            let t0 = Instant::now();
            let got = tokio::time::timeout(Duration::from_secs(1), async {
                loop {
                    if let Some(BrokerEvent::Quote(q)) = events.next().await
                        && q.con_id == spy.con_id
                    {
                        return;
                    }
                }
            })
            .await;
            if got.is_ok() {
                samples.push(t0.elapsed().as_secs_f64() * 1e3);
            }
            // Drain the rest of this move's ticks before the next.
            tokio::time::sleep(Duration::from_millis(5)).await;
            while tokio::time::timeout(Duration::from_millis(1), events.next())
                .await
                .is_ok()
            {}
        }
        samples.sort_by(f64::total_cmp);
        println!(
            "quote -> BrokerEvent::Quote over loopback, {} samples: median {:.3} ms, p99 {:.3} ms, max {:.3} ms (each includes up to one 1 ms heartbeat)",
            samples.len(),
            percentile(&samples, 0.5),
            percentile(&samples, 0.99),
            samples[samples.len() - 1]
        );
        broker.shutdown().await;
        sim.shutdown().await;
    });
}
