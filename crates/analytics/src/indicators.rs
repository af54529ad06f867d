//! Wilder's RSI and ATR over daily bars, for the engine's signals.
//!
//! Both seed with a simple average of the first `period` values and then
//! smooth with Wilder's `avg = (avg * (period - 1) + x) / period`, as in
//! Wilder (1978) and most charting packages.

/// One daily bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

/// RSI of `closes` after the last close; `None` with fewer than
/// `period + 1` closes or a zero period.
pub fn rsi(closes: &[f64], period: usize) -> Option<f64> {
    if period == 0 || closes.len() < period + 1 {
        return None;
    }
    let changes: Vec<f64> = closes.windows(2).map(|w| w[1] - w[0]).collect();
    let p = period as f64;
    let mut gain = changes[..period].iter().map(|c| c.max(0.0)).sum::<f64>() / p;
    let mut loss = changes[..period].iter().map(|c| (-c).max(0.0)).sum::<f64>() / p;
    for c in &changes[period..] {
        gain = (gain * (p - 1.0) + c.max(0.0)) / p;
        loss = (loss * (p - 1.0) + (-c).max(0.0)) / p;
    }
    Some(if loss == 0.0 {
        if gain == 0.0 { 50.0 } else { 100.0 }
    } else {
        100.0 - 100.0 / (1.0 + gain / loss)
    })
}

/// True range of `bar` given the previous close.
pub fn true_range(bar: &Bar, prev_close: Option<f64>) -> f64 {
    let hl = bar.high - bar.low;
    match prev_close {
        Some(pc) => hl.max((bar.high - pc).abs()).max((bar.low - pc).abs()),
        None => hl,
    }
}

/// ATR (Wilder) after the last bar; `None` with fewer than `period + 1` bars
/// (the first bar only provides a previous close) or a zero period.
pub fn atr(bars: &[Bar], period: usize) -> Option<f64> {
    if period == 0 || bars.len() < period + 1 {
        return None;
    }
    let trs: Vec<f64> = bars
        .windows(2)
        .map(|w| true_range(&w[1], Some(w[0].close)))
        .collect();
    let p = period as f64;
    let mut avg = trs[..period].iter().sum::<f64>() / p;
    for tr in &trs[period..] {
        avg = (avg * (p - 1.0) + tr) / p;
    }
    Some(avg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsi_of_wilders_example() {
        // The 14-day example of Wilder's method as popularised by charting
        // sites (which print 70.53 from rounded averages); the exact values
        // were computed independently with plain Python floats.
        let closes = [
            44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
            45.61, 46.28, 46.28, 46.00, 46.03, 46.41, 46.22, 45.64,
        ];
        let first = rsi(&closes[..15], 14).unwrap();
        assert!((first - 70.464_135_021_097_05).abs() < 1e-9, "{first}");
        let later = rsi(&closes, 14).unwrap();
        assert!((later - 57.915_020_670_085_56).abs() < 1e-9, "{later}");
        assert_eq!(rsi(&closes[..14], 14), None);
        assert_eq!(rsi(&[1.0, 2.0, 3.0], 2), Some(100.0));
        assert_eq!(rsi(&[2.0, 2.0, 2.0], 2), Some(50.0));
    }

    #[test]
    fn atr_smooths_true_ranges() {
        let bar = |h: f64, l: f64, c: f64| Bar {
            open: c,
            high: h,
            low: l,
            close: c,
        };
        let bars = [
            bar(10.0, 9.0, 9.5),
            bar(11.0, 9.5, 10.5),
            bar(10.8, 10.0, 10.2),
            bar(12.0, 10.1, 11.9),
        ];
        // TRs: 1.5, 0.8, 1.9; period 2 -> seed (1.5+0.8)/2 = 1.15 -> (1.15+1.9)/2 = 1.525
        assert!((atr(&bars, 2).unwrap() - 1.525).abs() < 1e-12);
        // A gap counts: previous close above today's high.
        assert_eq!(true_range(&bar(8.0, 7.0, 7.5), Some(9.0)), 2.0);
        assert_eq!(atr(&bars, 4), None);
    }
}
