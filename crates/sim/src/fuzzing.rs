//! One entry point for fuzzers and property tests: arbitrary bytes from a
//! client go through the same decoding the server applies to a connection
//! (the `API\0` handshake and its version offer, then length-prefixed
//! frames, then each message's protobuf decoded and handled), against a
//! real gateway with a market. Nothing the bytes say may panic; what the
//! server would answer is queued on an outbox and counted.

use std::sync::Arc;

use chrono::{TimeZone as _, Utc};
use tokio::sync::mpsc;
use vspread_core::clock::ManualClock;

use crate::gateway::{Book, ClientLink, Gateway, Outbox};
use crate::handlers::{Ctx, dispatch};
use crate::market::{Market, MarketConfig};
use crate::orders::{Venue, VenueConfig};
use crate::server::SimSettings;
use crate::wire::frame::{FrameError, read_handshake, read_message};

/// What one input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fed {
    /// Whether the handshake was accepted.
    pub handshake: bool,
    /// Messages framed and handled.
    pub messages: usize,
    /// Frames queued back to the client.
    pub replies: usize,
    /// Whether the input ended in bytes the server closes the connection on.
    pub refused: bool,
}

/// A gateway and one registered client to feed.
pub struct Harness {
    gateway: Gateway,
    link: ClientLink,
    replies: mpsc::Receiver<Vec<u8>>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness").finish_non_exhaustive()
    }
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// A gateway on seed 1's market (always open) with client 1 registered.
    pub fn new() -> Self {
        let start = Utc
            .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
            .single()
            .expect("a valid start");
        let clock = Arc::new(ManualClock::new(start));
        let mut settings = SimSettings::new(clock);
        settings.messages_per_second = usize::MAX / 4;
        let market = Market::new(MarketConfig {
            seed: 1,
            start,
            always_open: true,
        });
        let gateway = Gateway::new(
            settings,
            Book {
                market,
                venue: Venue::new(VenueConfig::new(1)),
            },
            None,
        );
        let (out, replies) = Outbox::new(1 << 20);
        let link = gateway
            .register(1, out)
            .expect("client 1 is free on a new gateway");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        Self {
            gateway,
            link,
            replies,
            runtime,
        }
    }

    /// Reads `bytes` as a connection would: handshake, then frames until
    /// the input ends or framing breaks.
    pub fn feed(&mut self, bytes: &[u8]) -> Fed {
        let mut fed = Fed::default();
        let mut reader = bytes;
        let ctx = Ctx {
            gateway: &self.gateway,
            client_id: 1,
            link: &self.link,
        };
        self.runtime.block_on(async {
            match read_handshake(&mut reader).await {
                Ok(_) => fed.handshake = true,
                Err(_) => {
                    fed.refused = true;
                    return;
                }
            }
            loop {
                match read_message(&mut reader).await {
                    Ok(Some(message)) => {
                        dispatch(&ctx, &message);
                        fed.messages += 1;
                    }
                    Ok(None) => return,
                    Err(FrameError::Io(_)) | Err(_) => {
                        fed.refused = true;
                        return;
                    }
                }
            }
        });
        while self.replies.try_recv().is_ok() {
            fed.replies += 1;
        }
        fed
    }
}
