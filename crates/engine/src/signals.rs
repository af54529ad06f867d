//! Entry signals on an underlying's daily bars: `high_base` (bullish) and
//! its mirror `low_base` (bearish).
//!
//! A high base is a stock holding near its recent high in a tight range,
//! with momentum (RSI at or above `min_rsi`) and contracting volatility
//! (short ATR over long ATR at or below `max_atr_ratio`): the setup a
//! bullish vertical is bought on. A low base is the same pattern pressed
//! against a recent low with weak momentum.
//!
//! Every evaluation keeps each condition with its value and threshold, so
//! the journal can say why a symbol signalled, or why it did not.
//!
//! The base is the last `base_lookback_days` bars, the latest included.
//! Its depth is `(high - low) / high` and its height `(high - low) / low`,
//! in percent; "near" is the close's distance from the base's high (or
//! low) in percent of that high (or low).

use chrono::NaiveDate;
use serde::Serialize;
use vspread_analytics::indicators::{Bar, atr, rsi};
use vspread_core::DailyBar;
use vspread_core::config::{HighBaseConfig, LowBaseConfig, StrategiesConfig};
use vspread_core::{Direction, SpreadKind};

/// Which pattern an evaluation tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    HighBase,
    LowBase,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::HighBase => "high_base",
            Strategy::LowBase => "low_base",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Strategy::HighBase => Direction::Bullish,
            Strategy::LowBase => Direction::Bearish,
        }
    }
}

/// The spread kinds that trade a direction, in `SpreadKind::ALL` order.
pub fn kinds_for(direction: Direction) -> Vec<SpreadKind> {
    SpreadKind::ALL
        .into_iter()
        .filter(|k| k.direction() == direction)
        .collect()
}

/// Which side of its threshold a condition's value must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// `value >= threshold`.
    AtLeast,
    /// `value <= threshold`.
    AtMost,
}

/// One test of a strategy: the measured value against its bound.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Condition {
    /// The config key the threshold comes from.
    pub key: &'static str,
    pub value: f64,
    pub threshold: f64,
    /// How the value must compare with the threshold.
    pub bound: Bound,
    pub passed: bool,
}

fn at_least(key: &'static str, value: f64, threshold: f64) -> Condition {
    Condition {
        key,
        value,
        threshold,
        bound: Bound::AtLeast,
        passed: value >= threshold,
    }
}

fn at_most(key: &'static str, value: f64, threshold: f64) -> Condition {
    Condition {
        key,
        value,
        threshold,
        bound: Bound::AtMost,
        passed: value <= threshold,
    }
}

/// The indicator values of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Indicators {
    /// Date of the latest bar.
    pub as_of: NaiveDate,
    pub close: f64,
    pub rsi: f64,
    pub atr: f64,
    pub atr_long: f64,
    pub atr_ratio: f64,
    pub base_high: f64,
    pub base_low: f64,
}

/// One strategy tested on one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Evaluation {
    pub symbol: String,
    pub strategy: Strategy,
    pub indicators: Indicators,
    /// In the order the strategy states them.
    pub conditions: Vec<Condition>,
}

impl Evaluation {
    /// True when every condition holds.
    pub fn fired(&self) -> bool {
        self.conditions.iter().all(|c| c.passed)
    }

    /// The conditions that failed (empty when it fired).
    pub fn failed(&self) -> impl Iterator<Item = &Condition> {
        self.conditions.iter().filter(|c| !c.passed)
    }
}

/// Why a symbol could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignalError {
    #[error("{symbol}: {strategy} needs {needed} daily bars, got {got}")]
    NotEnoughBars {
        symbol: String,
        strategy: &'static str,
        needed: usize,
        got: usize,
    },
    #[error("{symbol}: bar of {date} is not usable ({what})")]
    BadBar {
        symbol: String,
        date: NaiveDate,
        what: &'static str,
    },
}

/// The shape both strategies share; the mirror differs in which extreme
/// the close must be near and which way RSI must lean.
struct Params {
    strategy: Strategy,
    rsi_period: i64,
    atr_period: i64,
    atr_long_period: i64,
    max_atr_ratio: f64,
    base_lookback_days: i64,
}

fn period(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

impl From<&HighBaseConfig> for Params {
    fn from(c: &HighBaseConfig) -> Self {
        Params {
            strategy: Strategy::HighBase,
            rsi_period: c.rsi_period,
            atr_period: c.atr_period,
            atr_long_period: c.atr_long_period,
            max_atr_ratio: c.max_atr_ratio,
            base_lookback_days: c.base_lookback_days,
        }
    }
}

impl From<&LowBaseConfig> for Params {
    fn from(c: &LowBaseConfig) -> Self {
        Params {
            strategy: Strategy::LowBase,
            rsi_period: c.rsi_period,
            atr_period: c.atr_period,
            atr_long_period: c.atr_long_period,
            max_atr_ratio: c.max_atr_ratio,
            base_lookback_days: c.base_lookback_days,
        }
    }
}

impl Params {
    fn bars_needed(&self) -> usize {
        (period(self.rsi_period) + 1)
            .max(period(self.atr_long_period) + 1)
            .max(period(self.atr_period) + 1)
            .max(period(self.base_lookback_days))
    }
}

fn check_bars(symbol: &str, bars: &[DailyBar]) -> Result<(), SignalError> {
    for b in bars {
        let what = if ![b.open, b.high, b.low, b.close]
            .iter()
            .all(|x| x.is_finite() && *x > 0.0)
        {
            Some("a price that is not a positive number")
        } else if b.low > b.high || b.close > b.high || b.close < b.low {
            Some("close outside its low-high range")
        } else {
            None
        };
        if let Some(what) = what {
            return Err(SignalError::BadBar {
                symbol: symbol.to_string(),
                date: b.date,
                what,
            });
        }
    }
    Ok(())
}

fn indicators(symbol: &str, bars: &[DailyBar], p: &Params) -> Result<Indicators, SignalError> {
    let needed = p.bars_needed();
    if bars.len() < needed {
        return Err(SignalError::NotEnoughBars {
            symbol: symbol.to_string(),
            strategy: p.strategy.name(),
            needed,
            got: bars.len(),
        });
    }
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let ohlc: Vec<Bar> = bars
        .iter()
        .map(|b| Bar {
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
        })
        .collect();
    let not_enough = || SignalError::NotEnoughBars {
        symbol: symbol.to_string(),
        strategy: p.strategy.name(),
        needed,
        got: bars.len(),
    };
    let rsi = rsi(&closes, period(p.rsi_period)).ok_or_else(not_enough)?;
    let atr_short = atr(&ohlc, period(p.atr_period)).ok_or_else(not_enough)?;
    let atr_long = atr(&ohlc, period(p.atr_long_period)).ok_or_else(not_enough)?;
    let base = &bars[bars.len() - period(p.base_lookback_days)..];
    let base_high = base.iter().map(|b| b.high).fold(f64::MIN, f64::max);
    let base_low = base.iter().map(|b| b.low).fold(f64::MAX, f64::min);
    let last = bars[bars.len() - 1];
    Ok(Indicators {
        as_of: last.date,
        close: last.close,
        rsi,
        atr: atr_short,
        atr_long,
        // A flat long window (zero ATR) cannot show contraction.
        atr_ratio: if atr_long > 0.0 {
            atr_short / atr_long
        } else {
            f64::INFINITY
        },
        base_high,
        base_low,
    })
}

/// `high_base` on `bars` (oldest first).
pub fn high_base(
    symbol: &str,
    bars: &[DailyBar],
    c: &HighBaseConfig,
) -> Result<Evaluation, SignalError> {
    check_bars(symbol, bars)?;
    let p = Params::from(c);
    let i = indicators(symbol, bars, &p)?;
    let from_high = (i.base_high - i.close) / i.base_high * 100.0;
    let depth = (i.base_high - i.base_low) / i.base_high * 100.0;
    let conditions = vec![
        at_most(
            "strategies.high_base.near_high_pct",
            from_high,
            c.near_high_pct,
        ),
        at_most(
            "strategies.high_base.max_base_depth_pct",
            depth,
            c.max_base_depth_pct,
        ),
        at_least("strategies.high_base.min_rsi", i.rsi, c.min_rsi),
        at_most(
            "strategies.high_base.max_atr_ratio",
            i.atr_ratio,
            p.max_atr_ratio,
        ),
    ];
    Ok(Evaluation {
        symbol: symbol.to_string(),
        strategy: Strategy::HighBase,
        indicators: i,
        conditions,
    })
}

/// `low_base` on `bars` (oldest first): the bearish mirror of `high_base`.
pub fn low_base(
    symbol: &str,
    bars: &[DailyBar],
    c: &LowBaseConfig,
) -> Result<Evaluation, SignalError> {
    check_bars(symbol, bars)?;
    let p = Params::from(c);
    let i = indicators(symbol, bars, &p)?;
    let from_low = (i.close - i.base_low) / i.base_low * 100.0;
    let height = (i.base_high - i.base_low) / i.base_low * 100.0;
    let conditions = vec![
        at_most("strategies.low_base.near_low_pct", from_low, c.near_low_pct),
        at_most(
            "strategies.low_base.max_base_height_pct",
            height,
            c.max_base_height_pct,
        ),
        at_most("strategies.low_base.max_rsi", i.rsi, c.max_rsi),
        at_most(
            "strategies.low_base.max_atr_ratio",
            i.atr_ratio,
            p.max_atr_ratio,
        ),
    ];
    Ok(Evaluation {
        symbol: symbol.to_string(),
        strategy: Strategy::LowBase,
        indicators: i,
        conditions,
    })
}

/// Every enabled strategy on one symbol's bars. A symbol signals when one
/// of them fired; the two cannot both fire (RSI cannot be at or above
/// `min_rsi` and at or below `max_rsi` when `max_rsi < min_rsi`, which the
/// config's defaults keep; if a config allows both, neither is traded:
/// [`SymbolSignals::signal`] returns `None` for a conflict).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SymbolSignals {
    pub symbol: String,
    pub evaluations: Vec<Evaluation>,
}

impl SymbolSignals {
    /// The one evaluation that fired, if exactly one did.
    pub fn signal(&self) -> Option<&Evaluation> {
        let mut fired = self.evaluations.iter().filter(|e| e.fired());
        match (fired.next(), fired.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    }
}

/// Evaluates the enabled strategies of `config` on `bars` (oldest first).
pub fn evaluate(
    symbol: &str,
    bars: &[DailyBar],
    config: &StrategiesConfig,
) -> Result<SymbolSignals, SignalError> {
    let mut evaluations = Vec::new();
    if config.high_base.enabled {
        evaluations.push(high_base(symbol, bars, &config.high_base)?);
    }
    if config.low_base.enabled {
        evaluations.push(low_base(symbol, bars, &config.low_base)?);
    }
    Ok(SymbolSignals {
        symbol: symbol.to_string(),
        evaluations,
    })
}

/// Bars fetched beyond what the strategies need, for holidays and gaps.
pub const BARS_MARGIN: usize = 10;

/// Daily bars the trader asks the gateway for: what the enabled strategies
/// need plus [`BARS_MARGIN`]. Wilder's averages start from the first bar
/// they are given, so this is also the window a signal's RSI and ATR are
/// computed over (and the window [`indicator_series`] uses per bar).
pub fn bars_fetched(config: &StrategiesConfig) -> usize {
    match bars_needed(config) {
        0 => 0,
        n => n + BARS_MARGIN,
    }
}

/// A strategy's indicator periods, as its config sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct IndicatorPeriods {
    pub strategy: Strategy,
    /// `strategies.<strategy>.rsi_period`.
    pub rsi_period: usize,
    /// `strategies.<strategy>.atr_period`.
    pub atr_period: usize,
    /// `strategies.<strategy>.atr_long_period`.
    pub atr_long_period: usize,
}

/// The periods of each enabled strategy.
pub fn indicator_periods(config: &StrategiesConfig) -> Vec<IndicatorPeriods> {
    let of = |p: Params| IndicatorPeriods {
        strategy: p.strategy,
        rsi_period: period(p.rsi_period),
        atr_period: period(p.atr_period),
        atr_long_period: period(p.atr_long_period),
    };
    let mut out = Vec::new();
    if config.high_base.enabled {
        out.push(of(Params::from(&config.high_base)));
    }
    if config.low_base.enabled {
        out.push(of(Params::from(&config.low_base)));
    }
    out
}

/// RSI, ATR and long ATR as of one bar (none until enough bars precede it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct IndicatorPoint {
    pub rsi: Option<f64>,
    pub atr: Option<f64>,
    pub atr_long: Option<f64>,
}

/// The indicators of `periods` as of each bar of `bars` (oldest first),
/// each computed by the signal's own functions over the `window` bars
/// ending at that bar, so the last point is what a signal evaluated on the
/// last `window` bars reads.
pub fn indicator_series(
    bars: &[DailyBar],
    periods: &IndicatorPeriods,
    window: usize,
) -> Vec<IndicatorPoint> {
    let ohlc: Vec<Bar> = bars
        .iter()
        .map(|b| Bar {
            open: b.open,
            high: b.high,
            low: b.low,
            close: b.close,
        })
        .collect();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    (0..bars.len())
        .map(|i| {
            let from = (i + 1).saturating_sub(window.max(1));
            IndicatorPoint {
                rsi: rsi(&closes[from..=i], periods.rsi_period),
                atr: atr(&ohlc[from..=i], periods.atr_period),
                atr_long: atr(&ohlc[from..=i], periods.atr_long_period),
            }
        })
        .collect()
}

/// Daily bars a config's enabled strategies need at the least.
pub fn bars_needed(config: &StrategiesConfig) -> usize {
    let high = config
        .high_base
        .enabled
        .then(|| Params::from(&config.high_base).bars_needed());
    let low = config
        .low_base
        .enabled
        .then(|| Params::from(&config.low_base).bars_needed());
    high.into_iter().chain(low).max().unwrap_or(0)
}

#[cfg(test)]
#[path = "signals_tests.rs"]
mod tests;
