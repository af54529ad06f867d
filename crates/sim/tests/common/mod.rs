//! Shared by the simulator's integration tests: a gateway on port 0 with a
//! manual clock and a fast heartbeat, and a raw protocol client for the
//! tests that must send bytes no real client would.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vspread_core::clock::ManualClock;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{Venue, VenueConfig};
use vspread_sim::server::{Server, ServerHandle, SimSettings};
use vspread_sim::wire::frame::encode_protobuf;
use vspread_sim::wire::messages::{ErrorMessage, StartApiRequest, reply, request};

pub const SEED: u64 = 7;
pub const ACCOUNT: &str = "DU1234567";

/// Monday 2026-11-23 10:00 New York: the market is open.
pub fn start_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap()
}

/// The market every test gateway starts from.
pub fn market() -> Market {
    Market::new(MarketConfig {
        seed: SEED,
        start: start_time(),
        always_open: false,
    })
}

pub struct Sim {
    pub handle: ServerHandle,
    pub addr: String,
    pub clock: Arc<ManualClock>,
}

impl Sim {
    /// Moves simulated time on and waits for a few heartbeats to act on it.
    pub async fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
        tokio::time::sleep(Duration::from_millis(80)).await;
    }
}

pub fn settings(clock: Arc<ManualClock>) -> SimSettings {
    let mut s = SimSettings::new(clock);
    s.heartbeat = Duration::from_millis(20);
    s.handshake_timeout = Duration::from_secs(5);
    s
}

pub async fn start() -> Sim {
    start_with(|_| {}).await
}

pub async fn start_with(tune: impl FnOnce(&mut SimSettings)) -> Sim {
    let clock = Arc::new(ManualClock::new(start_time()));
    let mut s = settings(clock.clone());
    tune(&mut s);
    let server = Server::new(s, market(), Venue::new(VenueConfig::new(SEED)));
    serve(server, clock).await
}

pub async fn serve(server: Server, clock: Arc<ManualClock>) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = server.start(listener);
    Sim {
        addr: handle.local_addr().to_string(),
        handle,
        clock,
    }
}

pub async fn connect(sim: &Sim, client_id: i32) -> ibapi::Client {
    ibapi::Client::connect(&sim.addr, client_id)
        .await
        .expect("ibapi connects")
}

/// A frame: length, then body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A raw client past the handshake and `startApi`.
pub struct Raw {
    pub stream: TcpStream,
}

impl Raw {
    pub async fn connect(addr: &str, client_id: i32) -> Raw {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut hello = b"API\0".to_vec();
        hello.extend(frame(b"v213..226"));
        stream.write_all(&hello).await.unwrap();
        let mut raw = Raw { stream };
        let reply = raw.read_body().await.expect("handshake reply");
        assert!(reply.starts_with(b"226\0"), "{reply:?}");
        raw.send(
            request::START_API,
            &StartApiRequest {
                client_id: Some(client_id),
                optional_capabilities: None,
            },
        )
        .await;
        raw
    }

    pub async fn send(&mut self, type_id: u32, m: &impl prost::Message) {
        self.stream
            .write_all(&encode_protobuf(type_id, m))
            .await
            .unwrap();
    }

    /// One frame body; `None` once the server closed the connection.
    pub async fn read_body(&mut self) -> Option<Vec<u8>> {
        let mut len = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), self.stream.read_exact(&mut len))
            .await
            .expect("an answer or a close, not silence")
            .ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(body)
    }

    /// Next message as (table id, payload).
    pub async fn read(&mut self) -> Option<(u32, Vec<u8>)> {
        let body = self.read_body().await?;
        let id = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
        Some((id - 200, body[4..].to_vec()))
    }

    /// Reads until a message of `type_id`, returning it.
    pub async fn read_until(&mut self, type_id: u32) -> Option<Vec<u8>> {
        loop {
            let (id, payload) = self.read().await?;
            if id == type_id {
                return Some(payload);
            }
        }
    }

    /// Reads until an error with one of `codes`.
    pub async fn read_error(&mut self, codes: &[i32]) -> Option<ErrorMessage> {
        loop {
            let payload = self.read_until(reply::ERROR_MESSAGE).await?;
            let e = ErrorMessage::decode(payload.as_slice()).unwrap();
            if codes.contains(&e.error_code.unwrap_or(0)) {
                return Some(e);
            }
        }
    }

    /// Whether the server closes the connection (reads to the end).
    pub async fn closed(&mut self) -> bool {
        let mut buf = vec![0u8; 65536];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    }
}
