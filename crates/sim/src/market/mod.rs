//! The simulated market: a fixed universe of US stocks and ETFs, their
//! option chains, a seeded price process and the quotes, bars and contract
//! data TWS would report for them. Everything is a function of the seed and
//! the simulated time the market has been advanced to; the market never
//! reads a clock itself (callers pass `now`).
//!
//! Submodules, one idea each: [`calendar`] (New York time, sessions,
//! expiries), [`instrument`] (universe, contracts, conIds, ticks),
//! [`process`] (the random walk and regimes), [`history`] (daily bars),
//! [`surface`] (implied volatility), [`chain`] (expiries and strikes),
//! [`pricing`] (Black-Scholes via `vspread-analytics`), [`quote`] (what a
//! market-data line shows) and [`rng`] (seeded randomness).
//!
//! ```
//! use chrono::{Duration, TimeZone, Utc};
//! use vspread_core::Right;
//! use vspread_sim::market::{Market, MarketConfig};
//!
//! let start = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(); // Monday 10:00 New York
//! let mut market = Market::new(MarketConfig { seed: 7, start, always_open: false });
//! market.advance_to(start + Duration::minutes(30));
//!
//! let expiry = market.expiries("AAPL")[2];
//! let strike = market.strikes("AAPL", expiry)[10];
//! let call = market.find_option("AAPL", expiry, strike, Right::Call).unwrap();
//! assert!(call.local_symbol.starts_with("AAPL  "));
//!
//! let quote = market.quote(call.con_id).unwrap();
//! assert!(quote.ask > quote.bid);
//! let greeks = quote.option.unwrap().model;
//! assert!(greeks.delta.unwrap() > 0.0);
//! assert!(market.daily_bars("AAPL", market.trading_date(), 300).len() == 300);
//! ```

pub mod calendar;
pub mod chain;
pub mod history;
pub mod instrument;
pub mod pricing;
pub mod process;
pub mod quote;
pub mod rng;
pub mod surface;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use vspread_core::Right;

use calendar::{
    SESSION_SECONDS, in_regular_session, is_trading_day, ny_date, prev_trading_day, session_close,
    session_open, yyyymmdd,
};
pub use chain::OptionParams;
pub use history::DailyBar;
pub use instrument::{
    Contract, ContractDetails, OptionContract, StockContract, UNIVERSE, UnderlyingSpec,
};
pub use process::Regime;
pub use quote::{OptionAnalytics, OptionComputation, Quote, UnderlyingStats};

use instrument::{
    MARKET_RULE_PENNY, MARKET_RULE_PENNY_PILOT, OPTION_MULTIPLIER, occ_symbol, option_con_id,
    option_tick, stock_con_id, stock_tick, universe_index,
};
use process::Process;
use rng::{hash_unit, str_code};

/// How to build a market.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketConfig {
    /// Seed of every random choice (prices, history, regimes, sizes).
    pub seed: u64,
    /// Simulated time the market starts at; history ends just before it.
    pub start: DateTime<Utc>,
    /// Trade around the clock instead of 09:30-16:00 New York on weekdays.
    pub always_open: bool,
}

/// What must be saved so a restarted market continues where it stopped
/// (history is regenerated from the seed and start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarketState {
    pub config: MarketConfig,
    process: Process,
}

/// The simulated market.
#[derive(Debug, Clone)]
pub struct Market {
    config: MarketConfig,
    /// Pre-start daily bars per universe index.
    history: Vec<Vec<DailyBar>>,
    process: Process,
    stocks: Vec<StockContract>,
}

impl Market {
    /// A market at `config.start`. Start prices are the universe's reference
    /// prices perturbed by the seed (within ±8%).
    pub fn new(config: MarketConfig) -> Self {
        let seed = config.seed;
        let start_date = ny_date(config.start);
        let last_history_day = if !config.always_open
            && is_trading_day(start_date)
            && config.start >= session_close(start_date)
        {
            start_date
        } else {
            prev_trading_day(start_date)
        };
        let regimes = history::regime_path(seed, history::HISTORY_DAYS);
        let prices: Vec<f64> = UNIVERSE
            .iter()
            .map(|s| {
                s.price
                    * (0.08 * (2.0 * hash_unit(&[seed, str_code(s.symbol), 0x7374]) - 1.0)).exp()
            })
            .map(history::round_cents)
            .collect();
        let history = UNIVERSE
            .iter()
            .zip(&prices)
            .map(|(s, &p)| history::generate(seed, s, p, last_history_day, &regimes))
            .collect();
        let regime = *regimes.last().unwrap_or(&Regime::Normal);
        let process = Process::new(seed, config.start, config.always_open, &prices, regime);
        Market {
            history,
            process,
            stocks: build_stocks(),
            config,
        }
    }

    /// The state to persist.
    pub fn state(&self) -> MarketState {
        MarketState {
            config: self.config.clone(),
            process: self.process.clone(),
        }
    }

    /// Rebuilds a market from a saved state.
    pub fn from_state(state: MarketState) -> Self {
        let mut m = Market::new(state.config);
        m.process = state.process;
        m
    }

    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// Simulated time the market has been advanced to.
    pub fn now(&self) -> DateTime<Utc> {
        self.process.now()
    }

    /// Moves prices forward to `now` (ignored if `now` is not later).
    pub fn advance_to(&mut self, now: DateTime<Utc>) {
        self.process.advance_to(now);
    }

    /// Whether the market trades at `now`: always when always-open, otherwise
    /// 09:30-16:00 New York time on weekdays.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.config.always_open || in_regular_session(now)
    }

    /// Current volatility regime.
    pub fn regime(&self) -> Regime {
        self.process.regime()
    }

    /// Every listed stock and ETF, in universe order.
    pub fn stocks(&self) -> &[StockContract] {
        &self.stocks
    }

    /// The stock or ETF with this symbol (case-insensitive).
    pub fn find_stock(&self, symbol: &str) -> Option<&StockContract> {
        universe_index(symbol).map(|i| &self.stocks[i])
    }

    /// Current model price of an underlying.
    pub fn spot(&self, symbol: &str) -> Option<f64> {
        universe_index(symbol).map(|i| self.process.symbols[i].price)
    }

    /// The trading date `now` belongs to.
    pub fn trading_date(&self) -> NaiveDate {
        self.process.bar_date(self.now())
    }

    /// Expiries listed today.
    pub fn expiries(&self, symbol: &str) -> Vec<NaiveDate> {
        if universe_index(symbol).is_none() {
            return Vec::new();
        }
        let today = ny_date(self.now());
        chain::expiries(today)
            .into_iter()
            .filter(|e| session_close(*e) > self.now())
            .collect()
    }

    /// Strikes listed today for one expiry (empty if the expiry is not listed).
    pub fn strikes(&self, symbol: &str, expiry: NaiveDate) -> Vec<Decimal> {
        let Some(i) = universe_index(symbol) else {
            return Vec::new();
        };
        if !self.expiries(symbol).contains(&expiry) {
            return Vec::new();
        }
        let spec = &UNIVERSE[i];
        let t = quote::years_to_expiry(expiry, self.now());
        chain::strikes(spec, self.reference_price(i), t, spec.vol)
    }

    /// A listed option: the expiry must be listed and the strike on its grid.
    pub fn find_option(
        &self,
        symbol: &str,
        expiry: NaiveDate,
        strike: Decimal,
        right: Right,
    ) -> Option<OptionContract> {
        let i = universe_index(symbol)?;
        if !self.strikes(symbol, expiry).contains(&strike.normalize()) {
            return None;
        }
        option_contract(i, expiry, strike, right)
    }

    /// Listed options matching the given fields (`None` matches anything):
    /// what a contract-details request with a partial option contract finds.
    /// Ordered by expiry, strike, then call before put.
    pub fn options(
        &self,
        symbol: &str,
        expiry: Option<NaiveDate>,
        strike: Option<Decimal>,
        right: Option<Right>,
    ) -> Vec<OptionContract> {
        let Some(i) = universe_index(symbol) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in self
            .expiries(symbol)
            .into_iter()
            .filter(|e| expiry.is_none_or(|x| x == *e))
        {
            for k in self
                .strikes(symbol, e)
                .into_iter()
                .filter(|k| strike.is_none_or(|x| x.normalize() == *k))
            {
                for r in [Right::Call, Right::Put]
                    .into_iter()
                    .filter(|r| right.is_none_or(|x| x == *r))
                {
                    out.extend(option_contract(i, e, k, r));
                }
            }
        }
        out
    }

    /// Any contract by conId, including options no longer listed (expired or
    /// off today's grid), so positions can always be described.
    pub fn contract_by_con_id(&self, con_id: i32) -> Option<Contract> {
        if con_id >= 1 << 30 {
            let index = ((con_id >> 25) & 31) as usize;
            if index >= UNIVERSE.len() {
                return None;
            }
            let week = (con_id >> 13) & 4095;
            let halves = (con_id >> 1) & 4095;
            let right = if con_id & 1 == 0 {
                Right::Call
            } else {
                Right::Put
            };
            let expiry = instrument::expiry_of_week(week);
            let strike = Decimal::from(halves) / Decimal::TWO;
            return option_contract(index, expiry, strike, right).map(Contract::Option);
        }
        self.stocks
            .iter()
            .find(|s| s.con_id == con_id)
            .cloned()
            .map(Contract::Stock)
    }

    /// The contract-details fields for a contract.
    pub fn contract_details(&self, contract: &Contract) -> ContractDetails {
        let index = universe_index(contract.symbol()).unwrap_or(0);
        let spec = &UNIVERSE[index];
        let hours = trading_hours(self.now(), self.config.always_open);
        let (rule, order_types) = match contract {
            Contract::Stock(_) => (
                MARKET_RULE_PENNY,
                "LMT,MKT,STP,STPLMT,TRAIL,REL,MOC,LOC,GTC,DAY,IOC,WHATIF",
            ),
            Contract::Option(_) if spec.penny_all => (
                MARKET_RULE_PENNY,
                "LMT,MKT,STP,STPLMT,REL,GTC,DAY,IOC,WHATIF",
            ),
            Contract::Option(_) => (
                MARKET_RULE_PENNY_PILOT,
                "LMT,MKT,STP,STPLMT,REL,GTC,DAY,IOC,WHATIF",
            ),
        };
        let exchanges = match contract {
            Contract::Stock(s) => format!("SMART,{},ARCA,NASDAQ,NYSE,BATS,IEX", s.primary_exchange),
            Contract::Option(_) => "SMART,CBOE,AMEX,ISE,PHLX,BOX,MIAX,NASDAQOM,BATS".to_string(),
        };
        let n_exchanges = exchanges.split(',').count();
        let rules = vec![rule.to_string(); n_exchanges].join(",");
        let (contract_month, real_expiration, stock_type, min_size) = match contract {
            Contract::Option(o) => (
                o.expiry.format("%Y%m").to_string(),
                yyyymmdd(o.expiry),
                String::new(),
                "1",
            ),
            Contract::Stock(_) => (
                String::new(),
                String::new(),
                if spec.etf { "ETF" } else { "COMMON" }.to_string(),
                "1",
            ),
        };
        ContractDetails {
            market_name: spec.symbol.to_string(),
            min_tick: "0.01".to_string(),
            order_types: order_types.to_string(),
            valid_exchanges: exchanges,
            price_magnifier: 1,
            under_con_id: stock_con_id(index),
            long_name: spec.long_name.to_string(),
            contract_month,
            time_zone_id: "US/Eastern".to_string(),
            trading_hours: hours.clone(),
            liquid_hours: hours,
            under_symbol: spec.symbol.to_string(),
            under_sec_type: "STK".to_string(),
            market_rule_ids: rules,
            real_expiration_date: real_expiration,
            stock_type,
            min_size: min_size.to_string(),
            size_increment: "1".to_string(),
            suggested_size_increment: if matches!(contract, Contract::Stock(_)) {
                "100"
            } else {
                "1"
            }
            .to_string(),
            contract: contract.clone(),
        }
    }

    /// The option-chain parameters of an underlying (`reqSecDefOptParams`).
    pub fn option_params(&self, symbol: &str) -> Option<OptionParams> {
        let i = universe_index(symbol)?;
        let expiries = self.expiries(symbol);
        let mut strikes: Vec<Decimal> = expiries
            .iter()
            .flat_map(|e| self.strikes(symbol, *e))
            .collect();
        strikes.sort();
        strikes.dedup();
        Some(OptionParams::new(
            UNIVERSE[i].symbol,
            stock_con_id(i),
            &expiries,
            strikes,
        ))
    }

    /// The minimum price increment of a contract at `price` (stocks 0.01;
    /// options per the penny-pilot rule, see [`instrument`]).
    pub fn tick_size(&self, con_id: i32, price: Decimal) -> Option<Decimal> {
        match self.contract_by_con_id(con_id)? {
            Contract::Stock(_) => Some(stock_tick()),
            Contract::Option(o) => Some(option_tick(
                &UNIVERSE[universe_index(&o.symbol)?],
                price.abs(),
            )),
        }
    }

    /// The quote of a contract at the market's current time. Options past
    /// their expiry have no quote.
    pub fn quote(&self, con_id: i32) -> Option<Quote> {
        let now = self.now();
        let day = self.trading_date();
        let fraction = self.session_fraction(now);
        match self.contract_by_con_id(con_id)? {
            Contract::Stock(s) => {
                let i = universe_index(&s.symbol)?;
                let spec = &UNIVERSE[i];
                let state = &self.process.symbols[i];
                let bar = state.bar.as_ref().filter(|b| b.date == day);
                Some(quote::stock_quote(quote::StockInput {
                    seed: self.config.seed,
                    con_id,
                    spec,
                    spot: state.price,
                    now,
                    bar,
                    prev_close: Some(self.prev_close(i, day)),
                    day_volume: history::day_volume(self.config.seed, spec, day, 1.0),
                    session_fraction: fraction,
                    stats: self.underlying_stats(i, day, fraction),
                }))
            }
            Contract::Option(o) => {
                if session_close(o.expiry) <= now {
                    return None;
                }
                let i = universe_index(&o.symbol)?;
                let spec = &UNIVERSE[i];
                let spot = self.process.symbols[i].price;
                Some(quote::option_quote(quote::OptionInput {
                    seed: self.config.seed,
                    spec,
                    spot,
                    now,
                    iv: self.surface_vol(i, o.expiry, o.strike.to_f64().unwrap_or(spot)),
                    contract: &o,
                    day,
                    session_fraction: fraction,
                }))
            }
        }
    }

    /// Implied volatility of the surface for an underlying at an expiry and strike.
    pub fn surface_vol(&self, index: usize, expiry: NaiveDate, strike: f64) -> f64 {
        let spot = self.process.symbols[index].price;
        let t = quote::years_to_expiry(expiry, self.now()).max(0.0);
        surface::implied_vol(
            &UNIVERSE[index],
            surface::SurfacePoint {
                vol_mult: self.process.vol_mult(),
                regime: self.process.regime(),
                t,
                forward: spot * (quote::RATE * t).exp(),
                strike,
            },
        )
    }

    /// Up to `count` daily bars ending at `end` (inclusive), oldest first:
    /// pre-start history, sessions completed since, and today's session in
    /// progress.
    pub fn daily_bars(&self, symbol: &str, end: NaiveDate, count: usize) -> Vec<DailyBar> {
        let Some(i) = universe_index(symbol) else {
            return Vec::new();
        };
        // History bars after `end` are never needed; skip the ones that
        // cannot make the last `count`.
        let history = &self.history[i];
        let end_index = history.partition_point(|b| b.date <= end);
        let all = self.all_bars(i, end_index.saturating_sub(count));
        let upto: Vec<DailyBar> = all.into_iter().filter(|b| b.date <= end).collect();
        let skip = upto.len().saturating_sub(count);
        upto.into_iter().skip(skip).collect()
    }

    /// History from index `from` on, then live sessions.
    fn all_bars(&self, i: usize, from: usize) -> Vec<DailyBar> {
        let state = &self.process.symbols[i];
        let mut bars = self.history[i][from.min(self.history[i].len())..].to_vec();
        bars.extend(state.completed.iter().cloned());
        if let Some(bar) = &state.bar {
            let mut b = *bar;
            b.volume = (history::day_volume(self.config.seed, &UNIVERSE[i], b.date, 1.0) as f64
                * self.session_fraction(self.now()))
            .round() as u64;
            b.open = history::round_cents(b.open);
            b.high = history::round_cents(b.high);
            b.low = history::round_cents(b.low);
            b.close = history::round_cents(b.close);
            bars.retain(|x| x.date != b.date);
            bars.push(b);
        }
        for b in bars.iter_mut() {
            if b.volume == 0 {
                b.volume = history::day_volume(self.config.seed, &UNIVERSE[i], b.date, 1.0);
            }
        }
        bars
    }

    /// Close of the last session before `day`.
    fn prev_close(&self, i: usize, day: NaiveDate) -> f64 {
        let state = &self.process.symbols[i];
        state
            .completed
            .iter()
            .rev()
            .chain(state.bar.iter())
            .chain(self.history[i].iter().rev())
            .find(|b| b.date < day)
            .map(|b| b.close)
            .unwrap_or(state.price)
    }

    /// The strike grid's centre: the previous session's close.
    fn reference_price(&self, i: usize) -> f64 {
        self.prev_close(i, self.trading_date())
    }

    /// Elapsed fraction of today's session (0 before the open, 1 after the close).
    fn session_fraction(&self, now: DateTime<Utc>) -> f64 {
        if self.config.always_open {
            let local = calendar::to_ny(now);
            let secs = (local - local.date().and_hms_opt(0, 0, 0).unwrap_or(local)).num_seconds();
            return secs as f64 / 86_400.0;
        }
        let d = ny_date(now);
        if !is_trading_day(d) {
            return 1.0;
        }
        ((now - session_open(d)).num_seconds() as f64 / SESSION_SECONDS as f64).clamp(0.0, 1.0)
    }

    fn underlying_stats(&self, i: usize, day: NaiveDate, fraction: f64) -> UnderlyingStats {
        let spec = &UNIVERSE[i];
        let bars = self.daily_bars(spec.symbol, day, 31);
        let rets: Vec<f64> = bars
            .windows(2)
            .map(|w| (w[1].close / w[0].close).ln())
            .collect();
        let n = rets.len().max(1) as f64;
        let mean = rets.iter().sum::<f64>() / n;
        let hv = (rets.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n * 252.0).sqrt();
        let iv = surface::atm_vol(spec, self.process.vol_mult(), 30.0 / 365.0);
        let seed = self.config.seed;
        let dc = history::date_code(day);
        let base = spec.avg_volume / 50.0;
        let u = |k: u64| 0.6 + 0.8 * hash_unit(&[seed, i as u64, dc, k]);
        let d = |x: f64| Decimal::from(x.round() as u64);
        UnderlyingStats {
            historical_vol: hv,
            implied_vol: iv,
            call_volume: d(base * u(1) * fraction),
            put_volume: d(base * 1.1 * u(2) * fraction),
            call_open_interest: d(base * 12.0 * u(3)),
            put_open_interest: d(base * 14.0 * u(4)),
        }
    }
}

fn build_stocks() -> Vec<StockContract> {
    UNIVERSE
        .iter()
        .enumerate()
        .map(|(i, s)| StockContract {
            con_id: stock_con_id(i),
            symbol: s.symbol.to_string(),
            exchange: "SMART".to_string(),
            primary_exchange: s.primary_exchange.to_string(),
            currency: "USD".to_string(),
            local_symbol: s.symbol.to_string(),
            trading_class: s.symbol.to_string(),
        })
        .collect()
}

/// The option contract of universe `index` (None if the strike has no conId).
fn option_contract(
    index: usize,
    expiry: NaiveDate,
    strike: Decimal,
    right: Right,
) -> Option<OptionContract> {
    let symbol = UNIVERSE[index].symbol;
    let strike = strike.normalize();
    Some(OptionContract {
        con_id: option_con_id(index, expiry, strike, right)?,
        symbol: symbol.to_string(),
        expiry,
        strike,
        right,
        multiplier: OPTION_MULTIPLIER,
        exchange: "SMART".to_string(),
        currency: "USD".to_string(),
        local_symbol: occ_symbol(symbol, expiry, right, strike),
        trading_class: symbol.to_string(),
        underlying_con_id: stock_con_id(index),
    })
}

/// Trading hours for the next seven days in TWS's form.
fn trading_hours(now: DateTime<Utc>, always_open: bool) -> String {
    let mut d = ny_date(now);
    let mut parts = Vec::new();
    for _ in 0..7 {
        let day = yyyymmdd(d);
        if always_open {
            parts.push(format!("{day}:0000-{day}:2359"));
        } else if is_trading_day(d) {
            parts.push(format!("{day}:0930-{day}:1600"));
        } else {
            parts.push(format!("{day}:CLOSED"));
        }
        d += Duration::days(1);
    }
    parts.join(";")
}

#[cfg(test)]
mod tests;
