use chrono::Duration;
use proptest::prelude::*;

use super::Strategy;
use super::*;

fn day(i: usize) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(i as i64)
}

/// Bars around `closes`: each bar spans `range` around its close, the
/// close sitting `close_at` of the way up (1.0 = at the high).
fn bars(closes: &[f64], ranges: &[f64], close_at: f64) -> Vec<DailyBar> {
    closes
        .iter()
        .zip(ranges)
        .enumerate()
        .map(|(i, (&c, &r))| {
            let low = c - r * close_at;
            DailyBar {
                date: day(i),
                open: c,
                high: low + r,
                low,
                close: c,
                volume: 1_000_000,
            }
        })
        .collect()
}

/// A pull-back of 0.6 on every fourth bar (so RSI is below 100).
fn pullback(i: usize) -> f64 {
    if i % 4 == 1 { 0.6 } else { 0.0 }
}

/// 40 wide bars climbing 100 -> 120, then 20 tight bars edging up to 124,
/// each closing near its high: a textbook high base.
fn rising_base() -> Vec<DailyBar> {
    let mut closes: Vec<f64> = (0..40).map(|i| 100.0 + i as f64 * 0.5).collect();
    closes.extend((0..20).map(|i| 120.0 + i as f64 * 0.2));
    for (i, c) in closes.iter_mut().enumerate() {
        *c -= pullback(i);
    }
    let mut ranges = vec![4.0; 40];
    ranges.extend(vec![1.0; 20]);
    bars(&closes, &ranges, 0.9)
}

/// The mirror: falling 124 -> 104 on wide bars, then edging down in a
/// tight range, closing near the lows.
fn falling_base() -> Vec<DailyBar> {
    let mut closes: Vec<f64> = (0..40).map(|i| 124.0 - i as f64 * 0.5).collect();
    closes.extend((0..20).map(|i| 104.0 - i as f64 * 0.2));
    for (i, c) in closes.iter_mut().enumerate() {
        *c += pullback(i);
    }
    let mut ranges = vec![4.0; 40];
    ranges.extend(vec![1.0; 20]);
    bars(&closes, &ranges, 0.1)
}

fn config() -> StrategiesConfig {
    StrategiesConfig::default()
}

#[test]
fn a_tight_base_near_the_high_with_momentum_is_bullish() {
    let s = evaluate("XYZ", &rising_base(), &config()).unwrap();
    let signal = s.signal().expect("high_base fires");
    assert_eq!(signal.strategy, Strategy::HighBase);
    assert_eq!(signal.strategy.direction(), Direction::Bullish);
    assert!(!s.evaluations[1].fired(), "low_base does not");
    let i = &signal.indicators;
    // Base: the last 20 bars (40..=59). Highs are close + 0.1, lows
    // close - 0.9: high 123.8 + 0.1 (bar 59), low of bar 41 (120.2 - 0.6
    // pulled back) - 0.9.
    assert!((i.base_high - 123.9).abs() < 1e-9);
    assert!((i.base_low - 118.7).abs() < 1e-9);
    assert_eq!(i.close, 123.8);
    assert_eq!(i.as_of, day(59));
    // Near the high: (123.9 - 123.8) / 123.9 = 0.0807%.
    let near = &signal.conditions[0];
    assert_eq!(near.key, "strategies.high_base.near_high_pct");
    assert!((near.value - 0.1 / 123.9 * 100.0).abs() < 1e-9);
    // Contraction: the short ATR sees only 1-point bars.
    assert!(i.atr_ratio < 0.9 && i.atr < i.atr_long);
    assert!(i.rsi >= 55.0);
}

#[test]
fn the_mirror_is_bearish() {
    let s = evaluate("XYZ", &falling_base(), &config()).unwrap();
    let signal = s.signal().expect("low_base fires");
    assert_eq!(signal.strategy, Strategy::LowBase);
    assert_eq!(
        kinds_for(signal.strategy.direction()),
        vec![SpreadKind::BearCall, SpreadKind::BearPut]
    );
    assert!(signal.indicators.rsi <= 45.0);
}

#[test]
fn each_failed_condition_is_named_with_its_value_and_threshold() {
    // Volatility expanding instead: the last 20 bars are the wide ones.
    let mut closes: Vec<f64> = (0..40).map(|i| 100.0 + i as f64 * 0.5).collect();
    closes.extend((0..20).map(|i| 120.0 + i as f64 * 0.2));
    let mut ranges = vec![1.0; 40];
    ranges.extend(vec![4.0; 20]);
    let e = high_base("XYZ", &bars(&closes, &ranges, 0.9), &config().high_base).unwrap();
    assert!(!e.fired());
    let failed: Vec<&str> = e.failed().map(|c| c.key).collect();
    assert!(
        failed.contains(&"strategies.high_base.max_atr_ratio"),
        "{failed:?}"
    );
    let ratio = e
        .conditions
        .iter()
        .find(|c| c.key == "strategies.high_base.max_atr_ratio")
        .unwrap();
    assert!(ratio.value > 0.9 && ratio.threshold == 0.9);

    // The close is 0.08% below the base's high: a 0.05% bound fails only
    // the near-high condition.
    let mut strict = config().high_base;
    strict.near_high_pct = 0.05;
    let e = high_base("XYZ", &rising_base(), &strict).unwrap();
    let failed: Vec<&str> = e.failed().map(|c| c.key).collect();
    assert_eq!(failed, vec!["strategies.high_base.near_high_pct"]);

    // A strict RSI bound fails only the RSI condition.
    let mut strict = config().high_base;
    strict.min_rsi = 99.9;
    let e = high_base("XYZ", &rising_base(), &strict).unwrap();
    let failed: Vec<&str> = e.failed().map(|c| c.key).collect();
    assert_eq!(failed, vec!["strategies.high_base.min_rsi"]);
}

#[test]
fn disabled_strategies_are_not_evaluated() {
    let mut c = config();
    c.high_base.enabled = false;
    let s = evaluate("XYZ", &rising_base(), &c).unwrap();
    assert_eq!(s.evaluations.len(), 1);
    assert_eq!(s.evaluations[0].strategy, Strategy::LowBase);
    assert!(s.signal().is_none());
    c.low_base.enabled = false;
    assert!(
        evaluate("XYZ", &rising_base(), &c)
            .unwrap()
            .evaluations
            .is_empty()
    );
    assert_eq!(bars_needed(&c), 0);
}

#[test]
fn too_few_bars_and_bad_bars_are_errors_naming_the_symbol() {
    // Defaults: ATR 50 needs 51 bars.
    assert_eq!(bars_needed(&config()), 51);
    let short = &rising_base()[..50];
    let err = evaluate("XYZ", short, &config()).unwrap_err();
    assert_eq!(
        err,
        SignalError::NotEnoughBars {
            symbol: "XYZ".into(),
            strategy: "high_base",
            needed: 51,
            got: 50
        }
    );
    let mut b = rising_base();
    b[10].low = b[10].high + 1.0;
    let err = evaluate("XYZ", &b, &config()).unwrap_err();
    assert!(err.to_string().contains("XYZ") && err.to_string().contains(&day(10).to_string()));
    b[10].low = f64::NAN;
    assert!(matches!(
        evaluate("XYZ", &b, &config()),
        Err(SignalError::BadBar { .. })
    ));
}

#[test]
fn a_config_letting_both_fire_trades_neither() {
    let mut c = config();
    // A flat, tight series is near both its high and its low.
    let b = bars(&[100.0; 60], &[0.5; 60], 0.5);
    c.high_base.min_rsi = 0.0;
    c.low_base.max_rsi = 100.0;
    c.high_base.max_atr_ratio = 5.0;
    c.low_base.max_atr_ratio = 5.0;
    let s = evaluate("XYZ", &b, &c).unwrap();
    assert!(s.evaluations.iter().all(Evaluation::fired));
    assert!(s.signal().is_none());
}

proptest! {
    /// Any bars: an evaluation or an error, never a panic; and a signal
    /// only when every one of its conditions holds.
    #[test]
    fn any_bars_evaluate_or_error(
        raw in prop::collection::vec((0.01f64..1000.0, 0.0f64..50.0, 0.0f64..1.0), 0..80)
    ) {
        let b: Vec<DailyBar> = raw
            .iter()
            .enumerate()
            .map(|(i, &(c, r, at))| DailyBar {
                date: day(i),
                open: c,
                high: c + r * (1.0 - at),
                low: (c - r * at).max(0.001),
                close: c,
                volume: 0,
            })
            .collect();
        if let Ok(s) = evaluate("P", &b, &config())
            && let Some(sig) = s.signal()
        {
            prop_assert!(sig.conditions.iter().all(|c| c.passed));
        }
    }
}

#[test]
fn the_indicator_series_ends_with_what_the_signal_read() {
    let config = StrategiesConfig::default();
    let bars = rising_base();
    let window = 55;
    let periods = indicator_periods(&config);
    assert_eq!(
        periods.iter().map(|p| p.strategy).collect::<Vec<_>>(),
        [Strategy::HighBase, Strategy::LowBase]
    );
    let series = indicator_series(&bars, &periods[0], window);
    assert_eq!(series.len(), bars.len());
    // Too few bars before the RSI and ATR periods: none yet.
    assert_eq!(series[5].rsi, None);
    assert_eq!(series[5].atr_long, None);
    let last = series.last().unwrap();
    let signal = high_base("SPY", &bars[bars.len() - window..], &config.high_base).unwrap();
    assert_eq!(last.rsi, Some(signal.indicators.rsi));
    assert_eq!(last.atr, Some(signal.indicators.atr));
    assert_eq!(last.atr_long, Some(signal.indicators.atr_long));
    // A point in the middle is the signal's value on the window ending there.
    let at = 57;
    let earlier = high_base("SPY", &bars[at + 1 - window..=at], &config.high_base).unwrap();
    assert_eq!(series[at].rsi, Some(earlier.indicators.rsi));
    assert_eq!(bars_fetched(&config), bars_needed(&config) + BARS_MARGIN);
}
