//! Writes the wire fuzz target's seed corpus: real client sessions (the
//! handshake, startApi, and each request the simulator serves, as the
//! clients encode them) into `crates/sim/fuzz/corpus/wire/`.
//!
//! `cargo run -p vspread-sim --example fuzz_seed_corpus`

use std::path::PathBuf;

use vspread_sim::wire::frame::encode_protobuf;
use vspread_sim::wire::messages::{Contract, Empty, MarketDataRequest, StartApiRequest, request};

const HELLO: &[u8] = b"API\0\x00\x00\x00\x09v213..226";

fn session(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = HELLO.to_vec();
    bytes.extend(encode_protobuf(
        request::START_API,
        &StartApiRequest {
            client_id: Some(1),
            optional_capabilities: None,
        },
    ));
    for f in frames {
        bytes.extend_from_slice(f);
    }
    bytes
}

fn stock(symbol: &str) -> Contract {
    Contract {
        symbol: Some(symbol.into()),
        sec_type: Some("STK".into()),
        exchange: Some("SMART".into()),
        currency: Some("USD".into()),
        ..Contract::default()
    }
}

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/wire");
    std::fs::create_dir_all(&dir)?;
    let quote = |snapshot| {
        encode_protobuf(
            request::MARKET_DATA,
            &MarketDataRequest {
                req_id: Some(1),
                contract: Some(stock("SPY")),
                snapshot: Some(snapshot),
                ..MarketDataRequest::default()
            },
        )
    };
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("handshake", session(&[])),
        (
            "current_time",
            session(&[encode_protobuf(request::CURRENT_TIME, &Empty {})]),
        ),
        ("ids", session(&[encode_protobuf(request::IDS, &Empty {})])),
        ("snapshot", session(&[quote(true)])),
        ("streaming", session(&[quote(false)])),
        (
            "positions",
            session(&[encode_protobuf(request::POSITIONS, &Empty {})]),
        ),
        (
            "open_orders",
            session(&[encode_protobuf(request::OPEN_ORDERS, &Empty {})]),
        ),
        (
            "text_frame",
            session(&[b"\x00\x00\x00\x0649\x001\x00".to_vec()]),
        ),
    ];
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    println!("wrote the seed corpus to {}", dir.display());
    Ok(())
}
