//! Quotes: what a market-data line shows for a stock or an option at the
//! market's current time.
//!
//! **Stocks**: one-cent ticks; bid/ask straddle the model price one cent
//! apart (two cents for names trading under 20M shares a day); sizes 100 to
//! 3,000 shares, re-drawn every five seconds; last = the model price rounded
//! to the cent; OHLC from the session in progress; volume = the day's
//! seeded volume × the elapsed fraction of the session.
//!
//! **Options**: the theoretical value is Black-Scholes at the surface's
//! implied volatility (rate 4%, no dividends). The quoted width is
//! `liquidity × (0.02 + 0.01·theo) × (1 + 2·otm)` where `otm = clamp(1 − 2|Δ|,
//! 0, 1)` (0 at or in the money, 1 far out), and liquidity is 0.3 for
//! SPY/QQQ/IWM, 0.6 for names trading over 40M shares a day, 1.0 otherwise.
//! Bid is rounded down and ask up to the option's tick (never less than one
//! tick apart); a bid that would be zero or less is absent (no bid). Cheap
//! and far out-of-the-money options therefore carry wider relative spreads.
//! Sizes (1 to ~60 contracts, larger near the money) are re-drawn every five
//! seconds. Open interest is deterministic per contract and day (peaked at
//! the money, doubled for monthly expiries); volume is a seeded fraction of
//! open interest, accrued over the session. Option computations carry the
//! model (IV from the surface) and bid/ask/last (IV implied from the price),
//! with vega per vol point and theta per calendar day, `pvDividend` 0.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use serde::{Deserialize, Serialize};
use vspread_core::Right;

use super::calendar::{is_monthly_expiry, session_close};
use super::history::{DailyBar, date_code};
use super::instrument::{OptionContract, UnderlyingSpec, option_tick, stock_tick};
use super::pricing::{self, Valuation};
use super::rng::{hash, hash_unit};

/// Risk-free rate used for pricing (continuously compounded).
pub const RATE: f64 = 0.04;

/// One `tickOptionComputation` payload. `None` means "not computed" (the
/// wire sends IB's sentinel for it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptionComputation {
    pub implied_vol: Option<f64>,
    pub delta: Option<f64>,
    pub opt_price: Option<f64>,
    /// Present value of dividends (always 0: dividends are not modelled).
    pub pv_dividend: f64,
    pub gamma: Option<f64>,
    /// Per volatility point.
    pub vega: Option<f64>,
    /// Per calendar day.
    pub theta: Option<f64>,
    pub und_price: f64,
}

/// Option-only parts of a quote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionAnalytics {
    /// Model computation (tick type 13).
    pub model: OptionComputation,
    /// Computation at the bid (tick type 10), if there is a bid.
    pub bid: Option<OptionComputation>,
    /// Computation at the ask (tick type 11).
    pub ask: Option<OptionComputation>,
    /// Computation at the last price (tick type 12).
    pub last: Option<OptionComputation>,
    /// Open interest (generic tick 101 → tick 27 call / 28 put).
    pub open_interest: Decimal,
    /// Volume so far today (generic tick 100 → tick 29 call / 30 put).
    pub volume: Decimal,
    pub right: Right,
}

/// Underlying-only parts of a quote (generic ticks on a stock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnderlyingStats {
    /// 30-day historical volatility (tick 23, generic 104).
    pub historical_vol: f64,
    /// 30-day at-the-money implied volatility (tick 24, generic 106).
    pub implied_vol: f64,
    /// Option volume today, calls / puts (ticks 29 / 30, generic 100).
    pub call_volume: Decimal,
    pub put_volume: Decimal,
    /// Option open interest, calls / puts (ticks 27 / 28, generic 101).
    pub call_open_interest: Decimal,
    pub put_open_interest: Decimal,
}

/// A snapshot of one contract's market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub con_id: i32,
    /// Market time the quote belongs to.
    pub time: DateTime<Utc>,
    /// `None`: no bid (the wire sends price -1).
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub last: Option<Decimal>,
    pub bid_size: Decimal,
    pub ask_size: Decimal,
    pub last_size: Decimal,
    /// Today's volume (shares for stocks, contracts for options).
    pub volume: Decimal,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    /// Previous session's close.
    pub close: Option<Decimal>,
    /// Minimum tick at the quoted prices.
    pub min_tick: Decimal,
    pub option: Option<OptionAnalytics>,
    pub underlying: Option<UnderlyingStats>,
}

impl Quote {
    /// Mid price, if both sides are present; the ask alone otherwise halved
    /// toward zero (how the account marks an option with no bid).
    pub fn mark(&self) -> Option<Decimal> {
        match (self.bid, self.ask) {
            (Some(b), Some(a)) => Some((b + a) / Decimal::TWO),
            (None, Some(a)) => Some(a / Decimal::TWO),
            (Some(b), None) => Some(b),
            (None, None) => self.last,
        }
    }
}

/// Inputs for a stock quote.
pub(crate) struct StockInput<'a> {
    pub seed: u64,
    pub con_id: i32,
    pub spec: &'a UnderlyingSpec,
    pub spot: f64,
    pub now: DateTime<Utc>,
    pub bar: Option<&'a DailyBar>,
    pub prev_close: Option<f64>,
    /// Full-day volume of today's session.
    pub day_volume: u64,
    pub session_fraction: f64,
    pub stats: UnderlyingStats,
}

pub(crate) fn stock_quote(i: StockInput<'_>) -> Quote {
    let cent = stock_tick();
    let spread = if i.spec.avg_volume >= 20e6 {
        cent
    } else {
        cent * Decimal::TWO
    };
    let spot = dec(i.spot);
    let bid = ((spot - spread / Decimal::TWO) / cent).floor() * cent;
    let ask = bid + spread;
    let bucket = five_second_bucket(i.now);
    let size = |side: u64| {
        Decimal::from(
            100 * (1 + (hash_unit(&[i.seed, i.con_id as u64, bucket, side]) * 30.0) as u64),
        )
    };
    Quote {
        con_id: i.con_id,
        time: i.now,
        bid: Some(bid),
        ask: Some(ask),
        last: Some(spot.round_dp(2)),
        bid_size: size(1),
        ask_size: size(2),
        last_size: size(3),
        volume: Decimal::from((i.day_volume as f64 * i.session_fraction).round() as u64),
        open: i.bar.map(|b| dec(b.open).round_dp(2)),
        high: i.bar.map(|b| dec(b.high).round_dp(2)),
        low: i.bar.map(|b| dec(b.low).round_dp(2)),
        close: i.prev_close.map(|c| dec(c).round_dp(2)),
        min_tick: cent,
        option: None,
        underlying: Some(i.stats),
    }
}

/// Inputs for an option quote.
pub(crate) struct OptionInput<'a> {
    pub seed: u64,
    pub spec: &'a UnderlyingSpec,
    pub contract: &'a OptionContract,
    pub spot: f64,
    pub now: DateTime<Utc>,
    /// Surface volatility at this strike and expiry.
    pub iv: f64,
    /// Trading date of `now`.
    pub day: NaiveDate,
    pub session_fraction: f64,
}

/// Years from `now` to the option's expiry (16:00 New York on the expiry date).
pub fn years_to_expiry(expiry: NaiveDate, now: DateTime<Utc>) -> f64 {
    (session_close(expiry) - now).num_seconds() as f64 / (365.0 * 86_400.0)
}

fn liquidity(spec: &UnderlyingSpec) -> f64 {
    if spec.penny_all {
        0.3
    } else if spec.avg_volume > 40e6 {
        0.6
    } else {
        1.0
    }
}

pub(crate) fn option_quote(i: OptionInput<'_>) -> Quote {
    let c = i.contract;
    let k = c.strike.to_f64().unwrap_or(0.0);
    let t = years_to_expiry(c.expiry, i.now);
    let model = pricing::value(c.right, i.spot, k, t, RATE, i.iv);
    let otm = (1.0 - 2.0 * model.delta.abs()).clamp(0.0, 1.0);
    let width = liquidity(i.spec) * (0.02 + 0.01 * model.price) * (1.0 + 2.0 * otm);
    let theo = model.price.max(0.0);
    let bid_raw = dec(theo - width / 2.0);
    let ask_raw = dec(theo + width / 2.0);
    let bid_tick = option_tick(i.spec, bid_raw.max(Decimal::ZERO));
    let bid = (bid_raw / bid_tick).floor() * bid_tick;
    let ask_tick = option_tick(i.spec, ask_raw);
    let mut ask = (ask_raw / ask_tick).ceil() * ask_tick;
    let bid = (bid > Decimal::ZERO).then_some(bid);
    let floor_ask = bid.map_or(Decimal::ZERO, |b| b) + ask_tick;
    if ask < floor_ask {
        ask = floor_ask;
    }
    let mid = bid.map_or(ask / Decimal::TWO, |b| (b + ask) / Decimal::TWO);
    let last_tick = option_tick(i.spec, mid);
    let last = ((mid / last_tick).round() * last_tick).max(last_tick);

    let id = c.con_id as u64;
    let bucket = five_second_bucket(i.now);
    let near = 0.3 + model.delta.abs().min(0.5) * 2.0;
    let size = |side: u64| {
        let u = hash_unit(&[i.seed, id, bucket, side]);
        Decimal::from(1 + (u * 40.0 * near / liquidity(i.spec).sqrt()) as u64)
    };
    let x = (k / i.spot).ln() / (i.iv * t.max(1.0 / 365.0).sqrt());
    let day = date_code(i.day);
    let monthly = if is_monthly_expiry(c.expiry) {
        2.0
    } else {
        1.0
    };
    let base_oi = i.spec.avg_volume / 1_500.0;
    let oi = base_oi * (-0.5 * x * x).exp() * monthly * (0.5 + hash_unit(&[i.seed, id, day, 11]));
    let day_vol =
        oi * (0.05 + 0.3 * hash_unit(&[i.seed, id, day, 12])) * if t < 0.1 { 2.0 } else { 1.0 };
    let volume = (day_vol * i.session_fraction).round();

    let comp = |v: &Valuation, iv: Option<f64>, price: f64| OptionComputation {
        implied_vol: iv,
        delta: Some(v.delta),
        opt_price: Some(price),
        pv_dividend: 0.0,
        gamma: Some(v.gamma),
        vega: Some(v.vega),
        theta: Some(v.theta),
        und_price: i.spot,
    };
    let at_price = |p: Decimal| {
        let pf = p.to_f64()?;
        let iv = pricing::implied_vol(c.right, pf, i.spot, k, t, RATE)?;
        let v = pricing::value(c.right, i.spot, k, t, RATE, iv);
        Some(comp(&v, Some(iv), pf))
    };
    let analytics = OptionAnalytics {
        model: comp(&model, (t > 0.0).then_some(i.iv), theo),
        bid: bid.and_then(at_price),
        ask: at_price(ask),
        last: at_price(last),
        open_interest: Decimal::from(oi.round() as u64),
        volume: Decimal::from(volume as u64),
        right: c.right,
    };
    Quote {
        con_id: c.con_id,
        time: i.now,
        bid,
        ask: Some(ask),
        last: Some(last),
        bid_size: if bid.is_some() {
            size(1)
        } else {
            Decimal::ZERO
        },
        ask_size: size(2),
        last_size: Decimal::from(1 + hash(&[i.seed, id, bucket, 3]) % 10),
        volume: analytics.volume,
        open: None,
        high: None,
        low: None,
        close: None,
        min_tick: option_tick(i.spec, Decimal::ZERO),
        option: Some(analytics),
        underlying: None,
    }
}

fn five_second_bucket(now: DateTime<Utc>) -> u64 {
    (now.timestamp() / 5) as u64
}

/// f64 to Decimal (0 for non-finite input).
pub fn dec(x: f64) -> Decimal {
    Decimal::from_f64(x).unwrap_or(Decimal::ZERO)
}
