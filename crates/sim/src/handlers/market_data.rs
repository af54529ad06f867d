//! `reqMktData` and `cancelMktData`. A snapshot sends the market data
//! type, bid/ask/last with sizes, volume, high/low/open/close and for
//! options the computations (IV and greeks), then `TickSnapshotEnd`. A
//! streaming request holds one market data line (IB's default 100 per
//! account; error 101 beyond) and gets the same ticks at once, then only
//! the ticks that changed at each heartbeat, until cancelled. Generic
//! ticks 100, 101, 104 and 106 are served on streaming requests (IB does
//! not serve generic ticks on snapshots; they are ignored there).
//!
//! Market data permissions ([`crate::faults::Setup::market_data`]): a
//! contract without a real-time subscription is refused with 354 when live
//! or frozen data is asked for; with delayed data asked for
//! (`reqMarketDataType` 3 or 4) it gets notice 10167 and delayed ticks
//! (types 66-76 and computations 80-83, market data type 3 or 4) when
//! delayed data is available, else 10168. The delayed ticks carry the
//! current values (the simulator does not hold quotes back).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;
use vspread_core::Right;

use crate::faults::DataLevel;
use crate::gateway::{Stream, lock};
use crate::handlers::Ctx;
use crate::market::{Market, OptionComputation, Quote};
use crate::wire::frame::{Message, encode_protobuf};
use crate::wire::messages::{
    Contract, MarketDataRequest, MarketDataType, ReqIdOnly, TickGeneric, TickOptionComputation,
    TickPrice, TickSize, TickSnapshotEnd, reply,
};

/// Error 101's text.
pub const MAX_TICKERS: &str = "Max number of tickers has been reached.";

/// The last frame sent per tick kind (tick type; option computations and
/// generic values are offset so they do not collide), to send changes only.
pub type Sent = BTreeMap<i32, Vec<u8>>;

/// The con id a market data request is about: given, or looked up.
pub fn con_id_of(market: &Market, contract: &Contract) -> Option<i32> {
    if let Some(id) = contract.con_id.filter(|c| *c != 0) {
        return market.contract_by_con_id(id).map(|c| c.con_id());
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

fn size_tick(req_id: i32, tick_type: i32, size: Decimal) -> Vec<u8> {
    encode_protobuf(
        reply::TICK_SIZE,
        &TickSize {
            req_id: Some(req_id),
            tick_type: Some(tick_type),
            size: Some(size.normalize().to_string()),
        },
    )
}

fn generic_tick(req_id: i32, tick_type: i32, value: f64) -> Vec<u8> {
    encode_protobuf(
        reply::TICK_GENERIC,
        &TickGeneric {
            req_id: Some(req_id),
            tick_type: Some(tick_type),
            value: Some(value),
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

/// The delayed tick type standing for a real-time one (IB's 66-76 and
/// 80-83); other types are sent as they are.
pub fn delayed_type(tick_type: i32) -> i32 {
    match tick_type {
        1 => 66,
        2 => 67,
        4 => 68,
        6 => 72,
        7 => 73,
        8 => 74,
        9 => 75,
        14 => 76,
        10 => 80,
        11 => 81,
        12 => 82,
        13 => 83,
        other => other,
    }
}

/// Every tick of `quote`, keyed by kind, in the order TWS sends them; as
/// delayed tick types when `delayed`.
pub fn tick_frames(
    req_id: i32,
    quote: &Quote,
    generic: &[u32],
    delayed: bool,
) -> Vec<(i32, Vec<u8>)> {
    let t = |tick_type: i32| {
        if delayed {
            delayed_type(tick_type)
        } else {
            tick_type
        }
    };
    let mut frames = vec![
        (1, price_tick(req_id, t(1), quote.bid, Some(quote.bid_size))),
        (2, price_tick(req_id, t(2), quote.ask, Some(quote.ask_size))),
        (
            4,
            price_tick(req_id, t(4), quote.last, Some(quote.last_size)),
        ),
    ];
    for (tick_type, value) in [
        (6, quote.high),
        (7, quote.low),
        (9, quote.close),
        (14, quote.open),
    ] {
        if value.is_some() {
            frames.push((tick_type, price_tick(req_id, t(tick_type), value, None)));
        }
    }
    frames.push((8, size_tick(req_id, t(8), quote.volume)));
    if let Some(option) = &quote.option {
        for (tick_type, c) in [
            (10, option.bid.as_ref()),
            (11, option.ask.as_ref()),
            (12, option.last.as_ref()),
            (13, Some(&option.model)),
        ] {
            if let Some(c) = c {
                frames.push((1000 + tick_type, computation(req_id, t(tick_type), c)));
            }
        }
        let call = option.right == Right::Call;
        if generic.contains(&100) {
            let t = if call { 29 } else { 30 };
            frames.push((t, size_tick(req_id, t, option.volume)));
        }
        if generic.contains(&101) {
            let t = if call { 27 } else { 28 };
            frames.push((t, size_tick(req_id, t, option.open_interest)));
        }
    }
    if let Some(u) = &quote.underlying {
        if generic.contains(&100) {
            frames.push((29, size_tick(req_id, 29, u.call_volume)));
            frames.push((30, size_tick(req_id, 30, u.put_volume)));
        }
        if generic.contains(&101) {
            frames.push((27, size_tick(req_id, 27, u.call_open_interest)));
            frames.push((28, size_tick(req_id, 28, u.put_open_interest)));
        }
        if generic.contains(&104) {
            frames.push((2023, generic_tick(req_id, 23, u.historical_vol)));
        }
        if generic.contains(&106) {
            frames.push((2024, generic_tick(req_id, 24, u.implied_vol)));
        }
    }
    frames
}

/// The frames of `quote` that differ from what was last sent, recording
/// them as sent.
pub fn changed_frames(req_id: i32, quote: &Quote, delayed: bool, sent: &mut Sent) -> Vec<Vec<u8>> {
    let generic = generic_of(sent);
    tick_frames(req_id, quote, &generic, delayed)
        .into_iter()
        .filter_map(|(kind, frame)| match sent.get(&kind) {
            Some(old) if *old == frame => None,
            _ => {
                sent.insert(kind, frame.clone());
                Some(frame)
            }
        })
        .collect()
}

/// Generic tick ids a stream was opened with are kept in `Sent` under
/// negative keys, so the heartbeat knows them without another field.
fn generic_of(sent: &Sent) -> Vec<u32> {
    sent.range(..0)
        .map(|(k, _)| k.unsigned_abs())
        .collect::<Vec<u32>>()
}

fn parse_generic(list: &str) -> Vec<u32> {
    list.split(',')
        .filter_map(|t| t.trim().parse::<u32>().ok())
        .collect()
}

/// `reqMktData`, snapshot or streaming.
pub fn market_data(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<MarketDataRequest>(message, "market data") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let snapshot = req.snapshot.unwrap_or(false) || req.regulatory_snapshot.unwrap_or(false);
    let generic = parse_generic(req.generic_tick_list.as_deref().unwrap_or(""));
    if !snapshot {
        if lock(&ctx.link.subs).market_data.contains_key(&req_id) {
            ctx.error(
                req_id,
                322,
                &format!("Error processing request.-'bW' : cause - Duplicate ticker id {req_id}"),
            );
            return;
        }
        if ctx.gateway.lines_in_use() >= ctx.gateway.settings.market_data_lines {
            ctx.error(req_id, 101, MAX_TICKERS);
            return;
        }
    }
    let (quote, open, symbol) = {
        let book = ctx.gateway.book_now();
        let now = book.market.now();
        let contract = con_id_of(&book.market, &req.contract.unwrap_or_default())
            .and_then(|id| book.market.contract_by_con_id(id));
        let quote = contract
            .as_ref()
            .and_then(|c| book.market.quote(c.con_id()));
        let symbol = contract.map(|c| c.symbol().to_string()).unwrap_or_default();
        (quote, book.market.is_open(now), symbol)
    };
    let Some(quote) = quote else {
        ctx.error(req_id, 200, crate::handlers::contracts::NOT_FOUND);
        return;
    };
    let requested = lock(&ctx.link.subs).market_data_type;
    let wants_delayed = matches!(requested, 3 | 4);
    let level = ctx
        .gateway
        .settings
        .setup
        .market_data
        .level(&symbol, quote.option.is_some());
    let delayed = match (level, wants_delayed) {
        (DataLevel::Realtime, _) => false,
        (DataLevel::Delayed, true) => {
            ctx.error(
                req_id,
                10167,
                "Requested market data is not subscribed. Displaying delayed market data.",
            );
            true
        }
        (DataLevel::Delayed, false) => {
            let book = if quote.option.is_some() { "OPT" } else { "STK" };
            ctx.error(
                req_id,
                354,
                &format!(
                    "Requested market data is not subscribed.Delayed market data is available.Error&BEST/{book}/Top&BEST/{book}/Top"
                ),
            );
            return;
        }
        (DataLevel::None, true) => {
            ctx.error(
                req_id,
                10168,
                "Requested market data is not subscribed. Delayed market data is not enabled.",
            );
            return;
        }
        (DataLevel::None, false) => {
            ctx.error(req_id, 354, "Requested market data is not subscribed.");
            return;
        }
    };
    // Live (or delayed) data while open; outside hours a client that asked
    // for frozen data is told it gets the last values (type 2, or 4 for
    // delayed-frozen).
    let frozen = !open && matches!(requested, 2 | 4);
    let kind = match (delayed, frozen) {
        (false, false) => 1,
        (false, true) => 2,
        (true, false) => 3,
        (true, true) => 4,
    };
    ctx.send(
        reply::MARKET_DATA_TYPE,
        &MarketDataType {
            req_id: Some(req_id),
            market_data_type: Some(kind),
        },
    );
    if snapshot {
        for (_, frame) in tick_frames(req_id, &quote, &[], delayed) {
            ctx.push(frame);
        }
        ctx.send(
            reply::TICK_SNAPSHOT_END,
            &TickSnapshotEnd {
                req_id: Some(req_id),
            },
        );
        return;
    }
    let mut sent = Sent::new();
    for g in &generic {
        if let Ok(key) = i32::try_from(*g) {
            sent.insert(-key, Vec::new());
        }
    }
    for frame in changed_frames(req_id, &quote, delayed, &mut sent) {
        ctx.push(frame);
    }
    lock(&ctx.link.subs).market_data.insert(
        req_id,
        Stream {
            con_id: quote.con_id,
            last: sent,
            delayed,
        },
    );
}

/// `cancelMktData`: frees the line; an unknown id is TWS's error 300.
pub fn cancel(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<ReqIdOnly>(message, "cancel market data") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let removed = lock(&ctx.link.subs).market_data.remove(&req_id);
    if removed.is_none() {
        ctx.error(
            req_id,
            300,
            &format!("Can't find EId with tickerId:{req_id}"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn only_changed_ticks_are_sent_again() {
        let start = chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
            .unwrap();
        let mut market = Market::new(crate::market::MarketConfig {
            seed: 1,
            start,
            always_open: true,
        });
        let id = market.find_stock("SPY").unwrap().con_id;
        let mut sent = Sent::new();
        sent.insert(-104, Vec::new());
        let first = changed_frames(7, &market.quote(id).unwrap(), false, &mut sent);
        assert!(first.len() >= 6, "a full set first: {}", first.len());
        assert!(sent.contains_key(&2023), "generic tick 104 served");
        let again = changed_frames(7, &market.quote(id).unwrap(), false, &mut sent);
        assert!(again.is_empty(), "nothing changed, nothing sent");
        market.advance_to(start + chrono::Duration::minutes(10));
        let moved = changed_frames(7, &market.quote(id).unwrap(), false, &mut sent);
        assert!(!moved.is_empty(), "the market moved");
    }
}
