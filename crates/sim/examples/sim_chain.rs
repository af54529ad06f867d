//! Prints a slice of the simulated market: an underlying's last bars and the
//! near-the-money options of one expiry with quotes and greeks.
//!
//! `cargo run -p vspread-sim --example sim_chain -- [SYMBOL] [SEED] [DAYS_TO_EXPIRY]`

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::prelude::ToPrimitive;
use vspread_core::Right;
use vspread_sim::market::{Market, MarketConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let symbol = args.next().unwrap_or_else(|| "AAPL".to_string());
    let seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let dte: i64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let start = Utc
        .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
        .single()
        .expect("valid start");
    let m = Market::new(MarketConfig {
        seed,
        start,
        always_open: false,
    });
    let Some(spot) = m.spot(&symbol) else {
        eprintln!(
            "unknown symbol {symbol}; listed: {:?}",
            m.stocks().iter().map(|s| &s.symbol).collect::<Vec<_>>()
        );
        std::process::exit(2);
    };
    println!(
        "{symbol} spot {spot:.2}  regime {:?}  now {}",
        m.regime(),
        m.now()
    );
    for b in m.daily_bars(&symbol, m.trading_date(), 5) {
        println!(
            "  {}  O {:.2} H {:.2} L {:.2} C {:.2} V {}",
            b.date, b.open, b.high, b.low, b.close, b.volume
        );
    }
    let target = m.trading_date() + Duration::days(dte);
    let Some(expiry) = m
        .expiries(&symbol)
        .into_iter()
        .min_by_key(|e| (*e - target).num_days().abs())
    else {
        return;
    };
    println!("expiry {expiry}");
    println!(
        "{:>8} {:>5} {:>8} {:>8} {:>6} {:>7} {:>7} {:>7} {:>7}",
        "strike", "right", "bid", "ask", "iv", "delta", "gamma", "theta", "oi"
    );
    for o in m.options(&symbol, Some(expiry), None, None) {
        let k = o.strike.to_f64().unwrap_or(0.0);
        if (k / spot - 1.0).abs() > 0.12 {
            continue;
        }
        let Some(q) = m.quote(o.con_id) else { continue };
        let Some(a) = q.option.as_ref() else { continue };
        let g = a.model;
        println!(
            "{:>8} {:>5} {:>8} {:>8} {:>6.3} {:>7.3} {:>7.4} {:>7.3} {:>7}",
            o.strike,
            if o.right == Right::Call { "C" } else { "P" },
            q.bid.map_or("-".to_string(), |b| b.to_string()),
            q.ask.map_or("-".to_string(), |b| b.to_string()),
            g.implied_vol.unwrap_or(0.0),
            g.delta.unwrap_or(0.0),
            g.gamma.unwrap_or(0.0),
            g.theta.unwrap_or(0.0),
            a.open_interest
        );
    }
}
