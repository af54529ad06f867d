//! Daily bars of an underlying for charts, with the RSI and ATR the signals
//! read, by the signals' own functions and periods, each bar's values over
//! the window a signal evaluated on that day would have seen
//! ([`crate::signals::indicator_series`]).
//!
//! The bars come from the gateway through the broker, paced like every
//! historical request (IB allows about sixty in ten minutes), so one fetch
//! per underlying and New York day is kept and served to every later ask
//! that needs no more bars. The trader's own bars are kept apart: what an
//! operator charts never changes the window a signal is computed over.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::Serialize;
use vspread_core::DailyBar;
use vspread_core::broker::{Broker, BrokerError};
use vspread_core::config::StrategiesConfig;

use crate::manual::ManualError;
use crate::signals::{
    IndicatorPeriods, IndicatorPoint, bars_fetched, indicator_periods, indicator_series,
};

/// The most days a chart may ask for.
pub const MAX_DAYS: u32 = 1000;

/// One daily bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, JsonSchema)]
pub struct BarView {
    pub date: NaiveDate,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    /// Shares traded.
    pub volume: u64,
}

/// One strategy's indicators, a point per bar.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct IndicatorSeries {
    /// The strategy and the periods its config sets.
    #[serde(flatten)]
    pub periods: IndicatorPeriods,
    /// Aligned with the bars: the values as of each bar (none until enough
    /// bars precede it).
    pub points: Vec<IndicatorPoint>,
}

/// Daily bars and the signals' indicators.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct BarsView {
    pub symbol: String,
    /// Bars asked for; fewer come back when the gateway has fewer.
    pub days: u32,
    /// Bars each indicator value is computed over (the signals' window:
    /// what their strategies need plus a margin).
    pub window: usize,
    /// Oldest first.
    pub bars: Vec<BarView>,
    /// One series per enabled strategy.
    pub indicators: Vec<IndicatorSeries>,
}

/// The last fetch of each underlying, by New York date.
#[derive(Debug, Default)]
pub struct BarCache {
    fetched: Mutex<HashMap<String, (NaiveDate, Vec<DailyBar>)>>,
}

impl BarCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// At least the last `count` bars of `symbol` (fewer if the gateway has
    /// fewer), from today's fetch when it had enough.
    async fn get(
        &self,
        broker: &dyn Broker,
        symbol: &str,
        today: NaiveDate,
        count: usize,
    ) -> Result<Vec<DailyBar>, BrokerError> {
        let cached = {
            let fetched = self.fetched.lock().unwrap_or_else(|e| e.into_inner());
            fetched.get(symbol).cloned()
        };
        if let Some((day, bars)) = cached
            && day == today
            && bars.len() >= count
        {
            return Ok(bars);
        }
        let bars = broker
            .daily_bars(symbol, u32::try_from(count).unwrap_or(u32::MAX))
            .await?;
        self.fetched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(symbol.to_string(), (today, bars.clone()));
        Ok(bars)
    }
}

/// The last `days` bars of `symbol` with the indicators of `strategies`.
pub async fn bars(
    broker: &dyn Broker,
    cache: &BarCache,
    strategies: &StrategiesConfig,
    symbol: &str,
    days: u32,
    today: NaiveDate,
) -> Result<BarsView, ManualError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ManualError::invalid(
            "days",
            format!("{days} is outside 1 to {MAX_DAYS}"),
        ));
    }
    let symbol_ok = symbol.len() <= 10
        && symbol
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
        && symbol
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.');
    if !symbol_ok {
        return Err(ManualError::invalid(
            "symbol",
            format!("`{symbol}` is not a symbol (upper-case letters, digits and dots, at most 10)"),
        ));
    }
    let unknown =
        || ManualError::invalid("symbol", format!("the gateway knows no stock `{symbol}`"));
    match broker.stock(symbol).await {
        Ok(_) => {}
        Err(BrokerError::NoSecurityDefinition { .. }) => return Err(unknown()),
        Err(other) => return Err(ManualError::Gateway(other)),
    }
    let window = bars_fetched(strategies).max(1);
    // Enough before the first bar shown for its values to be the signal's.
    let count = days as usize + window - 1;
    let fetched = cache
        .get(broker, symbol, today, count)
        .await
        .map_err(|e| match e {
            BrokerError::NoSecurityDefinition { .. } => unknown(),
            // IB's "no data" for a stock it knows.
            BrokerError::Gateway { code: 162, message } => {
                ManualError::NoMarket(format!("{symbol}: no daily bars: {message}"))
            }
            other => ManualError::Gateway(other),
        })?;
    let fetched = &fetched[fetched.len().saturating_sub(count)..];
    let shown = fetched.len().min(days as usize);
    let skip = fetched.len() - shown;
    let indicators = indicator_periods(strategies)
        .into_iter()
        .map(|periods| IndicatorSeries {
            points: indicator_series(fetched, &periods, window)
                .split_off(skip)
                .into_iter()
                .map(|p| IndicatorPoint {
                    rsi: p.rsi.filter(|x| x.is_finite()),
                    atr: p.atr.filter(|x| x.is_finite()),
                    atr_long: p.atr_long.filter(|x| x.is_finite()),
                })
                .collect(),
            periods,
        })
        .collect();
    Ok(BarsView {
        symbol: symbol.to_string(),
        days,
        window,
        bars: fetched[skip..]
            .iter()
            .map(|b| BarView {
                date: b.date,
                open: b.open,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: b.volume,
            })
            .collect(),
        indicators,
    })
}
