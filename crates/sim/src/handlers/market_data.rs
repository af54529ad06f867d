//! `reqMktData` snapshots: the market data type, bid/ask/last with sizes,
//! volume, high/low/open/close, and for options the model computation
//! (IV and greeks), then `TickSnapshotEnd`. Streaming subscriptions come
//! with the market's clock-driven ticks; until then a streaming request is
//! refused with an error naming it.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use crate::market::{Market, OptionComputation, Quote};
use crate::wire::frame::encode_protobuf;
use crate::wire::messages::{
    Contract, MarketDataType, TickOptionComputation, TickPrice, TickSize, TickSnapshotEnd, reply,
};

/// The con id a market data request is about: given, or looked up.
pub fn con_id_of(market: &Market, contract: &Contract) -> Option<i32> {
    if let Some(id) = contract.con_id.filter(|c| *c != 0) {
        return Some(id);
    }
    crate::handlers::contracts::matching(market, contract)
        .first()
        .map(|c| c.con_id())
}

fn price_tick(
    req_id: i32,
    tick_type: i32,
    price: Option<Decimal>,
    size: Option<Decimal>,
) -> Vec<u8> {
    encode_protobuf(
        reply::TICK_PRICE,
        &TickPrice {
            req_id: Some(req_id),
            tick_type: Some(tick_type),
            // IB's "no data" is -1.
            price: Some(price.and_then(|p| p.to_f64()).unwrap_or(-1.0)),
            size: size.map(|s| s.normalize().to_string()),
            attr_mask: None,
        },
    )
}

fn computation(req_id: i32, tick_type: i32, c: &OptionComputation) -> Vec<u8> {
    encode_protobuf(
        reply::TICK_OPTION_COMPUTATION,
        &TickOptionComputation {
            req_id: Some(req_id),
            tick_type: Some(tick_type),
            tick_attrib: Some(0),
            // IB's "not computed" sentinels: -1 for IV and prices, -2 for greeks.
            implied_vol: Some(c.implied_vol.unwrap_or(-1.0)),
            delta: Some(c.delta.unwrap_or(-2.0)),
            opt_price: Some(c.opt_price.unwrap_or(-1.0)),
            pv_dividend: Some(c.pv_dividend),
            gamma: Some(c.gamma.unwrap_or(-2.0)),
            vega: Some(c.vega.unwrap_or(-2.0)),
            theta: Some(c.theta.unwrap_or(-2.0)),
            und_price: Some(c.und_price),
        },
    )
}

/// Every frame of a snapshot of `quote`, ending with `TickSnapshotEnd`.
pub fn snapshot_frames(req_id: i32, quote: &Quote) -> Vec<Vec<u8>> {
    let mut frames = vec![encode_protobuf(
        reply::MARKET_DATA_TYPE,
        &MarketDataType {
            req_id: Some(req_id),
            market_data_type: Some(1),
        },
    )];
    frames.push(price_tick(req_id, 1, quote.bid, Some(quote.bid_size)));
    frames.push(price_tick(req_id, 2, quote.ask, Some(quote.ask_size)));
    frames.push(price_tick(req_id, 4, quote.last, Some(quote.last_size)));
    for (tick_type, value) in [
        (6, quote.high),
        (7, quote.low),
        (9, quote.close),
        (14, quote.open),
    ] {
        if value.is_some() {
            frames.push(price_tick(req_id, tick_type, value, None));
        }
    }
    frames.push(encode_protobuf(
        reply::TICK_SIZE,
        &TickSize {
            req_id: Some(req_id),
            tick_type: Some(8),
            size: Some(quote.volume.normalize().to_string()),
        },
    ));
    if let Some(option) = &quote.option {
        for (tick_type, c) in [
            (10, option.bid.as_ref()),
            (11, option.ask.as_ref()),
            (12, option.last.as_ref()),
        ] {
            if let Some(c) = c {
                frames.push(computation(req_id, tick_type, c));
            }
        }
        frames.push(computation(req_id, 13, &option.model));
    }
    frames.push(encode_protobuf(
        reply::TICK_SNAPSHOT_END,
        &TickSnapshotEnd {
            req_id: Some(req_id),
        },
    ));
    frames
}
