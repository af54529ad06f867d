//! Request handlers, one module per request family. [`dispatch`] routes a
//! decoded frame to its handler; each handler reads the market and the
//! venue through the [`Gateway`] and queues the frames TWS would send
//! back on the connection's outbox. Handlers never block and never panic
//! on a client's bytes: a message that does not decode is answered with
//! TWS's error 320, an unknown request with 321 naming it.

pub mod account;
pub mod contracts;
pub mod history;
pub mod market_data;
pub mod orders;
pub mod session;

use crate::gateway::{ClientLink, Gateway};
use crate::wire::frame::Message;
use crate::wire::messages::{reply, request};

/// What a handler works with: the shared gateway and its own connection.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub gateway: &'a Gateway,
    /// The connection's client id (from `startApi`).
    pub client_id: i32,
    pub link: &'a ClientLink,
}

impl Ctx<'_> {
    /// Queues a protobuf message.
    pub fn send(&self, type_id: u32, message: &impl prost::Message) {
        self.link.out.send(type_id, message);
    }

    /// Queues an already encoded frame.
    pub fn push(&self, frame: Vec<u8>) {
        self.link.out.push(frame);
    }

    /// Queues an `ErrorMessage` (`id` −1 when about no request).
    pub fn error(&self, id: i32, code: i32, text: &str) {
        self.send(reply::ERROR_MESSAGE, &self.gateway.error(id, code, text));
    }

    /// Decodes a request, or answers error 320 naming it and returns `None`.
    pub fn decode<M: prost::Message + Default>(&self, message: &Message, what: &str) -> Option<M> {
        match M::decode(message.payload.as_slice()) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::debug!(client_id = self.client_id, "malformed {what}: {e}");
                self.error(
                    -1,
                    320,
                    &format!("Error reading request. Unable to parse {what} request: {e}"),
                );
                None
            }
        }
    }
}

/// Request types whose tag 1 is the request's (or order's) id, so an
/// error about the message itself can be sent to that id.
pub fn id_of(message: &Message) -> i32 {
    use prost::Message as _;
    let keyed = matches!(
        message.protobuf_type(),
        Some(
            request::MARKET_DATA
                | request::CANCEL_MARKET_DATA
                | request::PLACE_ORDER
                | request::CANCEL_ORDER
                | request::EXECUTIONS
                | request::CONTRACT_DATA
                | request::HISTORICAL_DATA
                | request::CANCEL_HISTORICAL_DATA
                | request::ACCOUNT_SUMMARY
                | request::CANCEL_ACCOUNT_SUMMARY
                | request::SEC_DEF_OPT_PARAMS
                | request::CANCEL_CONTRACT_DATA
        )
    );
    if !keyed {
        return -1;
    }
    crate::wire::messages::ReqIdOnly::decode(message.payload.as_slice())
        .ok()
        .and_then(|r| r.req_id)
        .unwrap_or(-1)
}

/// Serves one request.
pub fn dispatch(ctx: &Ctx<'_>, message: &Message) {
    let Some(kind) = message.protobuf_type() else {
        // Text-framed requests belong to server versions below 201; this
        // gateway negotiated protobuf.
        ctx.error(
            -1,
            321,
            &format!(
                "Error validating request.-'bx' : cause - text message id {} is not accepted at server version 226; send protobuf",
                message.id
            ),
        );
        return;
    };
    match kind {
        request::IDS => session::ids(ctx, message),
        request::CURRENT_TIME => session::current_time(ctx),
        request::CURRENT_TIME_MILLIS => session::current_time_millis(ctx),
        request::MANAGED_ACCOUNTS => session::managed_accounts(ctx),
        request::MARKET_DATA_TYPE => session::market_data_type(ctx, message),
        request::START_API => {}
        request::CONTRACT_DATA => contracts::contract_details(ctx, message),
        request::CANCEL_CONTRACT_DATA => {}
        request::SEC_DEF_OPT_PARAMS => contracts::sec_def_opt_params(ctx, message),
        request::HISTORICAL_DATA => history::historical_data(ctx, message),
        request::CANCEL_HISTORICAL_DATA => history::cancel(ctx, message),
        request::MARKET_DATA => market_data::market_data(ctx, message),
        request::CANCEL_MARKET_DATA => market_data::cancel(ctx, message),
        request::PLACE_ORDER => orders::place_order(ctx, message),
        request::CANCEL_ORDER => orders::cancel_order(ctx, message),
        request::GLOBAL_CANCEL => orders::global_cancel(ctx),
        request::OPEN_ORDERS | request::AUTO_OPEN_ORDERS => orders::open_orders(ctx, false),
        request::ALL_OPEN_ORDERS => orders::open_orders(ctx, true),
        request::EXECUTIONS => orders::executions(ctx, message),
        request::POSITIONS => account::positions(ctx),
        request::CANCEL_POSITIONS => account::cancel_positions(ctx),
        request::ACCOUNT_SUMMARY => account::account_summary(ctx, message),
        request::CANCEL_ACCOUNT_SUMMARY => {}
        request::ACCOUNT_DATA => account::account_updates(ctx, message),
        other => ctx.error(
            id_of(message),
            321,
            &format!(
                "Error validating request.-'bx' : cause - request type {other} is not served by the vspread simulator"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::{Arc, OnceLock};

    use chrono::TimeZone as _;
    use proptest::prelude::*;

    use super::*;
    use crate::gateway::{Book, Outbox};
    use crate::market::{Market, MarketConfig};
    use crate::orders::{Venue, VenueConfig};
    use crate::server::SimSettings;

    fn gateway() -> &'static Gateway {
        static G: OnceLock<Gateway> = OnceLock::new();
        G.get_or_init(|| {
            let start = chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
                .unwrap();
            let clock = Arc::new(vspread_core::clock::ManualClock::new(start));
            let market = Market::new(MarketConfig {
                seed: 2,
                start,
                always_open: false,
            });
            let venue = Venue::new(VenueConfig::new(2));
            Gateway::new(SimSettings::new(clock), Book { market, venue }, None)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Whatever a client frames, the handlers answer (or stay quiet)
        /// and never panic: the decoder-level fuzz of the request side.
        #[test]
        fn any_framed_request_is_handled_without_panicking(
            kind in 0u32..130,
            text in any::<bool>(),
            payload in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            static NEXT: AtomicI32 = AtomicI32::new(1);
            let g = gateway();
            let client_id = NEXT.fetch_add(1, Ordering::SeqCst);
            let (out, mut rx) = Outbox::new(100_000);
            let link = g.register(client_id, out).expect("fresh id");
            let ctx = Ctx { gateway: g, client_id, link: &link };
            let id = if text { kind } else { kind + 200 };
            dispatch(&ctx, &Message { id, payload });
            g.unregister(client_id);
            while let Ok(frame) = rx.try_recv() {
                prop_assert!(frame.len() >= 8, "every answer is a whole frame");
            }
        }
    }
}
