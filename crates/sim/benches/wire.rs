//! How fast the simulator serves the wire, so it is never what limits a
//! test or the demo:
//! - `loopback_current_time_x1000`: 1,000 pipelined `reqCurrentTime`
//!   requests and their replies over a loopback TCP connection (pacing
//!   lifted); criterion's throughput line is sustained messages per second.
//! - `heartbeat_100_streams`: one heartbeat with 100 streaming market data
//!   subscriptions (SPY options) after the market moved one second: the
//!   server-side delay a quote update adds on top of the heartbeat period.
//!
//! Run: `cargo bench -p vspread-sim --bench wire`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vspread_core::clock::ManualClock;
use vspread_sim::gateway::{Book, Gateway, Outbox};
use vspread_sim::handlers::{Ctx, dispatch};
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, SimSettings};
use vspread_sim::wire::frame::{Message, encode_protobuf};
use vspread_sim::wire::messages::{Contract, Empty, MarketDataRequest, StartApiRequest, request};

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

fn market() -> Market {
    Market::new(MarketConfig {
        seed: 1,
        start: start(),
        always_open: true,
    })
}

fn settings(clock: Arc<ManualClock>) -> SimSettings {
    let mut s = SimSettings::new(clock);
    s.messages_per_second = usize::MAX / 4;
    s
}

async fn read_frames(s: &mut tokio::net::TcpStream, n: usize, buf: &mut Vec<u8>) {
    let mut seen = 0;
    while seen < n {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        buf.resize(u32::from_be_bytes(len) as usize, 0);
        s.read_exact(buf).await.unwrap();
        seen += 1;
    }
}

fn loopback(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let server = Server::new(settings(clock), market(), Venue::new(VenueConfig::new(1)));
    let (handle, mut stream) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let handle = server.start(listener);
        let mut s = tokio::net::TcpStream::connect(handle.local_addr())
            .await
            .unwrap();
        s.set_nodelay(true).unwrap();
        let mut hello = b"API\0\x00\x00\x00\x09v213..226".to_vec();
        hello.extend(encode_protobuf(
            request::START_API,
            &StartApiRequest {
                client_id: Some(1),
                optional_capabilities: None,
            },
        ));
        s.write_all(&hello).await.unwrap();
        let mut buf = Vec::new();
        // Handshake reply, accounts, next id, three farm notices.
        read_frames(&mut s, 6, &mut buf).await;
        (handle, s)
    });
    let batch: Vec<u8> = (0..1000)
        .flat_map(|_| encode_protobuf(request::CURRENT_TIME, &Empty {}))
        .collect();
    let mut group = c.benchmark_group("wire");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("loopback_current_time_x1000", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut buf = Vec::new();
                let t = Instant::now();
                for _ in 0..iters {
                    stream.write_all(&batch).await.unwrap();
                    read_frames(&mut stream, 1000, &mut buf).await;
                }
                t.elapsed()
            })
        })
    });
    group.finish();
    drop(stream);
    rt.block_on(handle.shutdown());
}

fn heartbeat(c: &mut Criterion) {
    let clock = Arc::new(ManualClock::new(start()));
    let m = market();
    let expiry = m.expiries("SPY")[2];
    let option_ids: Vec<i32> = m
        .options("SPY", Some(expiry), None, None)
        .iter()
        .take(100)
        .map(|o| o.con_id)
        .collect();
    let gateway = Gateway::new(
        settings(clock.clone()),
        Book {
            market: m,
            venue: Venue::new(VenueConfig::new(1)),
        },
        None,
    );
    let (out, mut rx) = Outbox::new(10_000_000);
    let link = gateway.register(1, out).unwrap();
    let ctx = Ctx {
        gateway: &gateway,
        client_id: 1,
        link: &link,
    };
    for (i, con_id) in option_ids.iter().enumerate() {
        let req = MarketDataRequest {
            req_id: Some(i as i32 + 1),
            contract: Some(Contract {
                con_id: Some(*con_id),
                ..Contract::default()
            }),
            ..MarketDataRequest::default()
        };
        let payload = prost::Message::encode_to_vec(&req);
        dispatch(
            &ctx,
            &Message {
                id: request::MARKET_DATA + 200,
                payload,
            },
        );
    }
    assert_eq!(gateway.lines_in_use(), 100);
    c.bench_function("heartbeat_100_streams", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                clock.advance(chrono::Duration::seconds(1));
                let t = Instant::now();
                gateway.tick();
                total += t.elapsed();
                while rx.try_recv().is_ok() {}
            }
            total
        })
    });
}

criterion_group!(benches, loopback, heartbeat);
criterion_main!(benches);
