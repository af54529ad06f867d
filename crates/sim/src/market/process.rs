//! The live underlying process: a geometric random walk on a one-second grid
//! of market time, with a market-wide volatility regime.
//!
//! - **Grid**: prices change only on whole UTC seconds during market time
//!   (the regular session, or always when the market is always open); a
//!   price at any instant is the price at the last whole second. Advancing in
//!   one call or in many gives the same path, so quotes depend on the seed
//!   and the simulated time only.
//! - **Returns**: each second every symbol moves by
//!   `exp(−σ²dt/2 + σ√dt·z)`, `z = ρ·z_market + √(1−ρ²)·z_own`, with
//!   `ρ = clamp(0.75·beta, −0.9, 0.9)` so the names co-move with the index.
//!   In regular-hours mode the session carries 75% of a day's variance and
//!   the overnight gap (applied at the next open) the other 25%; always-open
//!   runs every second at the session rate.
//! - **Regimes**: calm (σ × 0.75), normal (× 1.0), stressed (× 1.8), a Markov
//!   chain stepped once per 23,400 market seconds (one session). The
//!   volatility multiplier follows the regime with a two-hour time constant,
//!   so a switch does not jump the option surface.
//! - **Bars**: each session's OHLC is recorded as it trades; completed
//!   sessions become daily bars after the history.

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::{
    SESSION_SECONDS, is_trading_day, next_trading_day, ny_date, session_close, session_open,
};
use super::history::DailyBar;
use super::instrument::UNIVERSE;
use super::rng::Rng;

/// Market-wide volatility regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Regime {
    Calm,
    Normal,
    Stressed,
}

impl Regime {
    /// Volatility multiplier of the regime.
    pub fn vol_mult(self) -> f64 {
        match self {
            Regime::Calm => 0.75,
            Regime::Normal => 1.0,
            Regime::Stressed => 1.8,
        }
    }

    /// One daily Markov transition from uniform `u`: calm stays 97%; normal
    /// goes calm 2% / stressed 1.5%; stressed calms to normal 6%.
    pub fn next_day(self, u: f64) -> Regime {
        match self {
            Regime::Calm if u < 0.03 => Regime::Normal,
            Regime::Calm => Regime::Calm,
            Regime::Normal if u < 0.02 => Regime::Calm,
            Regime::Normal if u < 0.035 => Regime::Stressed,
            Regime::Normal => Regime::Normal,
            Regime::Stressed if u < 0.06 => Regime::Normal,
            Regime::Stressed => Regime::Stressed,
        }
    }
}

/// Year fraction of one session second (75% of a day's variance).
const DT_SECOND: f64 = 0.75 / (252.0 * SESSION_SECONDS as f64);
/// Year fraction of one second when always open.
const DT_SECOND_ALWAYS: f64 = 1.0 / (252.0 * SESSION_SECONDS as f64);
/// Year fraction of the overnight gap.
const DT_OVERNIGHT: f64 = 0.25 / 252.0;
/// Per-second pull of the volatility multiplier toward its regime's level.
const VOL_PULL: f64 = 1.0 / 7_200.0;

/// One symbol's live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolState {
    pub price: f64,
    rng: Rng,
    /// The session in progress (or the last one traded).
    pub bar: Option<DailyBar>,
    /// Sessions completed since the start, oldest first.
    pub completed: Vec<DailyBar>,
}

/// The whole live process: serialisable so a restart continues the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    always_open: bool,
    /// Time the process has been advanced to (whole seconds).
    now: DateTime<Utc>,
    market_steps: u64,
    regime: Regime,
    vol_mult: f64,
    market_rng: Rng,
    pub symbols: Vec<SymbolState>,
}

impl Process {
    /// A process at `start` with the given start prices and regime.
    pub fn new(
        seed: u64,
        start: DateTime<Utc>,
        always_open: bool,
        prices: &[f64],
        regime: Regime,
    ) -> Self {
        let start = truncate(start);
        let symbols = prices
            .iter()
            .enumerate()
            .map(|(i, &price)| SymbolState {
                price,
                rng: Rng::new(seed, 1_000 + i as u64),
                bar: None,
                completed: Vec::new(),
            })
            .collect();
        let mut p = Process {
            always_open,
            now: start,
            market_steps: 0,
            regime,
            vol_mult: regime.vol_mult(),
            market_rng: Rng::new(seed, 0x6d6b74),
            symbols,
        };
        if p.is_market_time(start) {
            let day = p.bar_date(start);
            for s in &mut p.symbols {
                s.bar = Some(DailyBar::opening(day, s.price));
            }
        }
        p
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    pub fn regime(&self) -> Regime {
        self.regime
    }

    /// The smoothed volatility multiplier.
    pub fn vol_mult(&self) -> f64 {
        self.vol_mult
    }

    pub fn always_open(&self) -> bool {
        self.always_open
    }

    /// Whether `t` is market time (prices move, orders fill).
    pub fn is_market_time(&self, t: DateTime<Utc>) -> bool {
        self.always_open || super::calendar::in_regular_session(t)
    }

    /// The trading date a trade at `t` belongs to.
    pub fn bar_date(&self, t: DateTime<Utc>) -> NaiveDate {
        let d = ny_date(t);
        if is_trading_day(d) {
            d
        } else {
            next_trading_day(d)
        }
    }

    /// Advances to `target` (no-op if it is not later than now).
    pub fn advance_to(&mut self, target: DateTime<Utc>) {
        let target = truncate(target);
        while self.now < target {
            if self.always_open {
                // Steps up to the last second of this New York day share
                // one bar date; the next iteration starts the next day.
                let first = self.now + Duration::seconds(1);
                let day = self.bar_date(first);
                let midnight = super::calendar::from_ny(
                    (ny_date(first) + Duration::days(1))
                        .and_hms_opt(0, 0, 0)
                        .expect("valid time"),
                );
                let end = target.min(midnight - Duration::seconds(1)).max(first);
                while self.now < end {
                    self.now += Duration::seconds(1);
                    self.step(DT_SECOND_ALWAYS, day);
                }
            } else if super::calendar::in_regular_session(self.now) {
                let date = ny_date(self.now);
                let end = target.min(session_close(date));
                while self.now < end {
                    self.now += Duration::seconds(1);
                    self.step(DT_SECOND, date);
                }
            } else {
                let next_open = next_session_open(self.now);
                if next_open > target {
                    self.now = target;
                } else {
                    self.now = next_open;
                    self.gap(ny_date(next_open));
                }
            }
        }
    }

    fn step(&mut self, dt: f64, day: NaiveDate) {
        if self.market_steps.is_multiple_of(SESSION_SECONDS as u64) && self.market_steps > 0 {
            self.regime = self.regime.next_day(self.market_rng.uniform());
        }
        self.market_steps += 1;
        self.vol_mult += (self.regime.vol_mult() - self.vol_mult) * VOL_PULL;
        let zm = self.market_rng.normal();
        self.move_all(dt, zm, day);
    }

    fn gap(&mut self, day: NaiveDate) {
        let zm = self.market_rng.normal();
        self.move_all(DT_OVERNIGHT, zm, day);
    }

    fn move_all(&mut self, dt: f64, zm: f64, day: NaiveDate) {
        let vol_mult = self.vol_mult;
        for (i, s) in self.symbols.iter_mut().enumerate() {
            let spec = &UNIVERSE[i];
            let rho = (0.75 * spec.beta).clamp(-0.9, 0.9);
            let z = rho * zm + (1.0 - rho * rho).sqrt() * s.rng.normal();
            let sigma = spec.vol * vol_mult;
            s.price *= (-0.5 * sigma * sigma * dt + sigma * dt.sqrt() * z).exp();
            match &mut s.bar {
                Some(bar) if bar.date == day => bar.update(s.price),
                Some(bar) => {
                    let done = std::mem::replace(bar, DailyBar::opening(day, s.price));
                    s.completed.push(done);
                }
                None => s.bar = Some(DailyBar::opening(day, s.price)),
            }
        }
    }
}

/// The first session open strictly after `t`, or at `t` if `t` is before
/// that day's open.
pub fn next_session_open(t: DateTime<Utc>) -> DateTime<Utc> {
    let date = ny_date(t);
    if is_trading_day(date) && t < session_open(date) {
        return session_open(date);
    }
    session_open(next_trading_day(date))
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn prices() -> Vec<f64> {
        UNIVERSE.iter().map(|s| s.price).collect()
    }

    fn monday_open() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 14, 30, 0).unwrap()
    }

    #[test]
    fn path_does_not_depend_on_how_time_is_advanced() {
        let mut a = Process::new(9, monday_open(), false, &prices(), Regime::Normal);
        let mut b = a.clone();
        let end = monday_open() + Duration::days(3);
        a.advance_to(end);
        let mut t = monday_open();
        while t < end {
            t += Duration::milliseconds(37_123);
            b.advance_to(t.min(end));
        }
        assert_eq!(a, b);
    }

    #[test]
    fn always_open_bars_split_at_new_york_midnight() {
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 4, 0, 0).unwrap(); // 23:00 New York, Monday
        let mut a = Process::new(5, start, true, &prices(), Regime::Normal);
        let mut b = a.clone();
        a.advance_to(start + Duration::hours(2));
        for minutes in 1..=120 {
            b.advance_to(start + Duration::minutes(minutes));
        }
        assert_eq!(a, b);
        let s = &a.symbols[0];
        assert_eq!(s.completed.len(), 1);
        assert_eq!(
            s.completed[0].date,
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            s.bar.as_ref().unwrap().date,
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
    }

    #[test]
    fn prices_move_only_in_session() {
        let mut p = Process::new(1, monday_open(), false, &prices(), Regime::Normal);
        p.advance_to(monday_open() + Duration::hours(1));
        assert_ne!(p.symbols[0].price, UNIVERSE[0].price);
        let close = session_close(ny_date(monday_open()));
        p.advance_to(close);
        let at_close = p.symbols[0].price;
        p.advance_to(close + Duration::hours(5));
        assert_eq!(p.symbols[0].price, at_close);
        p.advance_to(close + Duration::hours(24));
        assert_eq!(p.symbols[0].completed.len(), 1, "one completed session");
        assert_eq!(p.symbols[0].completed[0].close, at_close);
    }

    #[test]
    fn realised_volatility_is_near_the_spec() {
        let mut p = Process::new(3, monday_open(), true, &prices(), Regime::Normal);
        let mut t = monday_open();
        let mut rets = Vec::new();
        let mut last = p.symbols[0].price;
        for _ in 0..2_000 {
            t += Duration::minutes(5);
            p.advance_to(t);
            let now = p.symbols[0].price;
            rets.push((now / last).ln());
            last = now;
        }
        let var = rets.iter().map(|r| r * r).sum::<f64>() / rets.len() as f64;
        let annual = (var * 252.0 * (SESSION_SECONDS as f64 / 300.0)).sqrt();
        let spec = UNIVERSE[0].vol;
        assert!(
            annual > spec * 0.5 && annual < spec * 2.2,
            "annualised {annual} vs {spec}"
        );
    }
}
