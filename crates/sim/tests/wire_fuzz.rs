//! Property tests of the decoding every client byte goes through
//! (`vspread_sim::fuzzing`, the entry point the cargo-fuzz target in
//! `crates/sim/fuzz` shares): random bytes, random frames after a valid
//! handshake, and real requests with bytes flipped never panic, and a
//! well-framed request after any of them is still answered.

use proptest::prelude::*;
use vspread_sim::fuzzing::Harness;
use vspread_sim::wire::frame::encode_protobuf;
use vspread_sim::wire::messages::{Contract, Empty, MarketDataRequest, request};

const HELLO: &[u8] = b"API\0\x00\x00\x00\x09v213..226";

/// Request ids the simulator serves, and a few it does not.
const IDS: &[u32] = &[
    request::MARKET_DATA,
    request::CANCEL_MARKET_DATA,
    request::PLACE_ORDER,
    request::CANCEL_ORDER,
    request::OPEN_ORDERS,
    request::ACCOUNT_DATA,
    request::EXECUTIONS,
    request::IDS,
    request::CONTRACT_DATA,
    request::HISTORICAL_DATA,
    request::CURRENT_TIME,
    request::GLOBAL_CANCEL,
    request::POSITIONS,
    request::ACCOUNT_SUMMARY,
    request::SEC_DEF_OPT_PARAMS,
    request::START_API,
    3000,
    0,
];

fn frame(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn current_time() -> Vec<u8> {
    encode_protobuf(request::CURRENT_TIME, &Empty {})
}

fn spy_quote() -> Vec<u8> {
    encode_protobuf(
        request::MARKET_DATA,
        &MarketDataRequest {
            req_id: Some(7),
            contract: Some(Contract {
                symbol: Some("SPY".into()),
                sec_type: Some("STK".into()),
                exchange: Some("SMART".into()),
                currency: Some("USD".into()),
                ..Contract::default()
            }),
            snapshot: Some(true),
            ..MarketDataRequest::default()
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut h = Harness::new();
        let fed = h.feed(&bytes);
        prop_assert!(fed.messages == 0 || fed.handshake);
    }

    #[test]
    fn random_frames_after_a_handshake_are_handled_and_the_client_is_still_served(
        frames in prop::collection::vec(
            (prop::sample::select(IDS), prop::collection::vec(any::<u8>(), 0..96)),
            0..12,
        )
    ) {
        let mut h = Harness::new();
        let mut bytes = HELLO.to_vec();
        for (id, payload) in &frames {
            bytes.extend(frame(id + 200, payload));
        }
        let fed = h.feed(&bytes);
        prop_assert!(fed.handshake && !fed.refused);
        prop_assert_eq!(fed.messages, frames.len());
        // Whatever came before, a current-time request is answered.
        let mut after = HELLO.to_vec();
        after.extend(current_time());
        let fed = h.feed(&after);
        prop_assert_eq!(fed.messages, 1);
        prop_assert!(fed.replies >= 1);
    }

    #[test]
    fn real_requests_with_bytes_flipped_never_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut h = Harness::new();
        let mut bytes = HELLO.to_vec();
        bytes.extend(spy_quote());
        bytes.extend(current_time());
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        let _ = h.feed(&bytes);
    }
}

#[test]
fn a_length_over_16_mib_is_refused_and_a_truncated_frame_ends_the_input() {
    let mut h = Harness::new();
    let mut bytes = HELLO.to_vec();
    bytes.extend_from_slice(&0x0100_0000u32.to_be_bytes());
    let fed = h.feed(&bytes);
    assert!(fed.handshake && fed.refused && fed.messages == 0);
    let mut bytes = HELLO.to_vec();
    let mut quote = spy_quote();
    quote.truncate(quote.len() - 3);
    bytes.extend(quote);
    let fed = h.feed(&bytes);
    assert!(fed.refused && fed.messages == 0);
    let fed = h.feed(b"GET / HTTP/1.1\r\n\r\n");
    assert!(!fed.handshake && fed.refused);
}

#[test]
fn a_valid_snapshot_request_is_answered() {
    let mut h = Harness::new();
    let mut bytes = HELLO.to_vec();
    bytes.extend(spy_quote());
    let fed = h.feed(&bytes);
    assert_eq!(fed.messages, 1);
    assert!(fed.replies > 5, "ticks and the snapshot end: {fed:?}");
}
