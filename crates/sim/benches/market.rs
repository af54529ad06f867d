//! How fast the market model answers what the wire side asks most often:
//! an option quote (Black-Scholes, greeks and three implied vols), a stock
//! quote, one simulated minute of the price process, a chain's parameters,
//! and a venue tick with working orders.
//!
//! Run: `cargo bench -p vspread-sim --bench market`.

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::Right;
use vspread_sim::market::{Market, MarketConfig};
use vspread_sim::orders::{
    Action, OrderContract, OrderRequest, OrderType, TimeInForce, Venue, VenueConfig,
};

fn market() -> Market {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    Market::new(MarketConfig {
        seed: 1,
        start,
        always_open: true,
    })
}

fn bench(c: &mut Criterion) {
    let m = market();
    let expiry = m.expiries("AAPL")[3];
    let spot = m.spot("AAPL").unwrap();
    let strike = m
        .strikes("AAPL", expiry)
        .into_iter()
        .min_by_key(|k| ((k.to_f64().unwrap() - spot).abs() * 100.0) as i64)
        .unwrap();
    let option = m.find_option("AAPL", expiry, strike, Right::Call).unwrap();
    let stock = m.find_stock("AAPL").unwrap().con_id;

    c.bench_function("option_quote", |b| {
        b.iter(|| black_box(m.quote(black_box(option.con_id))))
    });
    c.bench_function("stock_quote", |b| {
        b.iter(|| black_box(m.quote(black_box(stock))))
    });
    c.bench_function("option_params_spy", |b| {
        b.iter(|| black_box(m.option_params("SPY")))
    });
    c.bench_function("advance_one_simulated_minute", |b| {
        let mut m = market();
        let mut t = m.now();
        b.iter(|| {
            t += Duration::minutes(1);
            m.advance_to(t);
        })
    });
    c.bench_function("venue_tick_10_resting_orders", |b| {
        let mut m = market();
        let mut v = Venue::new(VenueConfig::new(1));
        for id in 1..=10 {
            let request = OrderRequest {
                client_id: 1,
                order_id: id,
                contract: OrderContract::Single {
                    con_id: option.con_id,
                },
                action: Action::Buy,
                quantity: Decimal::ONE,
                order_type: OrderType::Limit,
                limit_price: Some(Decimal::new(1, 2)),
                tif: TimeInForce::GoodTillCancelled,
                order_ref: String::new(),
                account: String::new(),
            };
            v.place(&m, request, m.now()).unwrap();
        }
        let mut t = m.now();
        b.iter(|| {
            t += Duration::seconds(1);
            m.advance_to(t);
            black_box(v.on_tick(&m, t))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
