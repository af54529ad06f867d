//! Figures of the fill model: one-lot verticals on vspread's default
//! universe, placed at the mid and walked toward the natural the way the
//! engine's default `[execution]` walks them (5 steps, 10 s apart, up to
//! `max_slippage_pct` of the mid-to-natural distance, cancelled after
//! 120 s), against the simulated venue ticked every simulated second.
//!
//! `cargo run --release -p vspread-sim --example fill_stats -- [SEEDS] [MAX_SLIPPAGE_PCT]`
//!
//! Prints, per policy (the walk, and resting at the mid without walking):
//! how many orders filled within the 120 s, the median and 90th-percentile
//! time to fill, and the slippage against the mid the order started from,
//! as a share of the spread's strike width and of the mid-to-natural
//! distance.

use chrono::{Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::Right;
use vspread_sim::market::{Market, MarketConfig, OptionContract};
use vspread_sim::orders::{
    Action, ComboLeg, OrderContract, OrderEvent, OrderRequest, OrderStatus, OrderType, TimeInForce,
    Venue, VenueConfig,
};

const UNIVERSE: [&str; 8] = ["SPY", "QQQ", "IWM", "AAPL", "MSFT", "NVDA", "AMZN", "TSLA"];
const STEPS: i64 = 5;
const INTERVAL_S: i64 = 10;
const TIMEOUT_S: i64 = 120;

/// One order's outcome.
struct Outcome {
    filled_after: Option<i64>,
    /// Average price paid minus the starting mid, per combo.
    slippage: Decimal,
    width: Decimal,
    mid_to_natural: Decimal,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(40);
    let pct: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60.0);
    let mut walked = Vec::new();
    let mut at_mid = Vec::new();
    for seed in 1..=seeds {
        walked.extend(run(seed, Some(pct)));
        at_mid.extend(run(seed, None));
    }
    report(&format!("walk to {pct}% of mid-to-natural"), &walked);
    report("rest at the mid", &at_mid);
}

/// A bull call debit vertical (long near the money, short about 5% up) or
/// a bull put credit vertical (short near the money, long about 5% down),
/// about 30 days out.
fn vertical(m: &Market, symbol: &str, credit: bool) -> Option<(OptionContract, OptionContract)> {
    let target = m.trading_date() + Duration::days(30);
    let expiry = m
        .expiries(symbol)
        .into_iter()
        .min_by_key(|e| (*e - target).num_days().abs())?;
    let spot = m.spot(symbol)?;
    let near = |moneyness: f64| {
        m.strikes(symbol, expiry)
            .into_iter()
            .min_by_key(|k| ((k.to_f64().unwrap_or(0.0) - spot * moneyness).abs() * 1e3) as i64)
    };
    if credit {
        let long = m.find_option(symbol, expiry, near(0.95)?, Right::Put)?;
        let short = m.find_option(symbol, expiry, near(1.0)?, Right::Put)?;
        Some((long, short))
    } else {
        let long = m.find_option(symbol, expiry, near(1.0)?, Right::Call)?;
        let short = m.find_option(symbol, expiry, near(1.05)?, Right::Call)?;
        Some((long, short))
    }
}

/// The BUY combo's mid and natural (bought leg at the ask, sold at the bid).
fn mid_natural(m: &Market, long: i32, short: i32) -> Option<(Decimal, Decimal)> {
    let (l, s) = (m.quote(long)?, m.quote(short)?);
    let natural = l.ask? - s.bid?;
    let far = l.bid? - s.ask?;
    Some(((natural + far) / Decimal::TWO, natural))
}

/// Step `k` of the walk from `mid` toward `natural`, to the cent in the
/// buyer's favour (as the engine's `limit_walk::step_price`).
fn step(mid: Decimal, natural: Decimal, pct: f64, k: i64) -> Decimal {
    let pct = Decimal::try_from(pct).unwrap_or(Decimal::ZERO);
    let concession = (natural - mid).max(Decimal::ZERO) * pct / Decimal::ONE_HUNDRED
        * Decimal::from(k)
        / Decimal::from(STEPS);
    (mid + concession).floor_dp(2)
}

trait FloorDp {
    fn floor_dp(self, dp: u32) -> Decimal;
}

impl FloorDp for Decimal {
    fn floor_dp(self, dp: u32) -> Decimal {
        self.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::ToNegativeInfinity)
    }
}

/// One seed's orders: each symbol's debit and credit vertical, walked
/// (`Some(pct)`) or left at the mid (`None`).
fn run(seed: u64, pct: Option<f64>) -> Vec<Outcome> {
    let start = Utc
        .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
        .single()
        .expect("valid start");
    let mut m = Market::new(MarketConfig {
        seed,
        start,
        always_open: true,
    });
    let mut venue = Venue::new(VenueConfig::new(seed));
    struct Working {
        id: i32,
        request: OrderRequest,
        start_mid: Decimal,
        bound: Decimal,
        width: Decimal,
        mid_to_natural: Decimal,
        legs: (i32, i32),
    }
    let mut working = Vec::new();
    let mut id = 0;
    for symbol in UNIVERSE {
        for credit in [false, true] {
            let Some((long, short)) = vertical(&m, symbol, credit) else {
                continue;
            };
            let Some((mid, natural)) = mid_natural(&m, long.con_id, short.con_id) else {
                continue;
            };
            id += 1;
            let request = OrderRequest {
                client_id: 1,
                order_id: id,
                contract: OrderContract::Combo {
                    symbol: symbol.to_string(),
                    legs: vec![
                        ComboLeg {
                            con_id: long.con_id,
                            ratio: 1,
                            action: Action::Buy,
                        },
                        ComboLeg {
                            con_id: short.con_id,
                            ratio: 1,
                            action: Action::Sell,
                        },
                    ],
                },
                action: Action::Buy,
                quantity: Decimal::ONE,
                order_type: OrderType::Limit,
                limit_price: Some(mid.floor_dp(2)),
                tif: TimeInForce::Day,
                order_ref: format!("stats-{seed}-{id}"),
                account: String::new(),
            };
            if venue.place(&m, request.clone(), m.now()).is_err() {
                continue;
            }
            working.push(Working {
                id,
                bound: pct.map_or(mid.floor_dp(2), |p| step(mid, natural, p, STEPS)),
                request,
                start_mid: mid,
                width: (long.strike - short.strike).abs(),
                mid_to_natural: natural - mid,
                legs: (long.con_id, short.con_id),
            });
        }
    }
    let mut ended: Vec<Option<i64>> = vec![None; working.len()];
    for s in 1..=TIMEOUT_S {
        let t = start + Duration::seconds(s);
        m.advance_to(t);
        if let Some(pct) = pct
            && s % INTERVAL_S == 0
            && s / INTERVAL_S <= STEPS
        {
            // The next step, priced from the market of its moment and never
            // past the planned walk's last price.
            for w in &working {
                if !venue.order(1, w.id).is_some_and(|o| o.status.is_working()) {
                    continue;
                }
                let Some((mid, natural)) = mid_natural(&m, w.legs.0, w.legs.1) else {
                    continue;
                };
                let price = step(mid, natural, pct, s / INTERVAL_S).min(w.bound);
                let mut request = w.request.clone();
                request.limit_price = Some(price);
                let _ = venue.place(&m, request, t);
            }
        }
        for event in venue.on_tick(&m, t) {
            if let OrderEvent::Status(o) = event
                && o.status == OrderStatus::Filled
                && let Some(k) = working.iter().position(|w| w.id == o.order_id())
            {
                ended[k] = Some(s);
            }
        }
    }
    working
        .iter()
        .zip(ended)
        .map(|(w, filled_after)| {
            let order = venue.order(1, w.id).expect("placed");
            Outcome {
                filled_after: filled_after.or_else(|| {
                    // Filled on placement (marketable at once).
                    (order.status == OrderStatus::Filled).then_some(0)
                }),
                slippage: order.avg_fill_price - w.start_mid,
                width: w.width,
                mid_to_natural: w.mid_to_natural,
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

fn report(policy: &str, outcomes: &[Outcome]) {
    let n = outcomes.len();
    let filled: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.filled_after.is_some())
        .collect();
    let mut times: Vec<f64> = filled
        .iter()
        .filter_map(|o| o.filled_after.map(|t| t as f64))
        .collect();
    times.sort_by(f64::total_cmp);
    let mut of_width: Vec<f64> = filled
        .iter()
        .map(|o| (o.slippage / o.width).to_f64().unwrap_or(f64::NAN) * 100.0)
        .collect();
    of_width.sort_by(f64::total_cmp);
    let mut of_distance: Vec<f64> = filled
        .iter()
        .filter(|o| o.mid_to_natural > Decimal::ZERO)
        .map(|o| (o.slippage / o.mid_to_natural).to_f64().unwrap_or(f64::NAN) * 100.0)
        .collect();
    of_distance.sort_by(f64::total_cmp);
    println!("{policy}: {n} one-lot verticals");
    println!(
        "  filled within {TIMEOUT_S} s: {} ({:.1}%)",
        filled.len(),
        100.0 * filled.len() as f64 / n.max(1) as f64
    );
    println!(
        "  time to fill: median {:.0} s, p90 {:.0} s",
        percentile(&times, 0.5),
        percentile(&times, 0.9)
    );
    println!(
        "  slippage vs the starting mid: median {:.2}% / p95 {:.2}% of the strike width; median {:.0}% of mid-to-natural",
        percentile(&of_width, 0.5),
        percentile(&of_width, 0.95),
        percentile(&of_distance, 0.5)
    );
}
