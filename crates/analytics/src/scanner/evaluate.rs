//! One named spread by the spec's formulas, outside a scan: what the scanner
//! computes for it (price, natural, max profit and loss, breakeven,
//! probability of profit, EV, score) and how each `[scanner]` filter judges
//! it.
//!
//! The scan enumerates every pair of a chain and is tuned for that (bounds
//! decide most candidates before the logarithm and the normal CDF); a
//! trader looking at one spread wants the same numbers for it, whether or
//! not the filters would keep it. [`evaluate`] follows `docs/scanner.md`
//! operation for operation, in the scan's own order, so for a spread the
//! scan ranks it returns the scan's numbers to the last bit, and
//! [`check_filters`] fails first the filter the funnel charges it to (both
//! pinned for every candidate of random chains and configs by
//! `tests/scan_paths.rs`).

use vspread_core::config::ScannerConfig;
use vspread_core::{Direction, SpreadKind};

use super::funnel::Filter;
use crate::normal::norm_cdf;

/// One leg's market, as a chain row carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegMarket {
    pub strike: f64,
    pub bid: f64,
    pub ask: f64,
    /// Signed, as the gateway reports it (puts negative).
    pub delta: f64,
    /// Annualised implied volatility (0.30 = 30%).
    pub iv: f64,
    pub open_interest: i64,
}

/// A vertical and its legs' market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadMarket {
    pub kind: SpreadKind,
    /// The underlying's price.
    pub spot: f64,
    /// Calendar days to expiry.
    pub dte: i64,
    /// The bought leg.
    pub long: LegMarket,
    /// The sold leg.
    pub short: LegMarket,
}

/// The scanner's numbers for one spread, per share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpreadMetrics {
    pub width: f64,
    /// Net at the legs' mids: paid for a debit kind, received for a credit
    /// kind.
    pub price: f64,
    /// Net crossing both legs' quotes.
    pub natural: f64,
    pub max_profit: f64,
    pub max_loss: f64,
    pub breakeven: f64,
    pub pop: f64,
    pub ev: f64,
    pub score: f64,
}

/// Why a spread has no scanner numbers.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum EvaluateError {
    /// The strikes do not make the kind: its long leg must be the low
    /// strike (`bull_call`, `bull_put`) or the high one (`bear_call`,
    /// `bear_put`), and the strikes must differ.
    #[error("a {kind} buys the {wanted} strike: long {long} and short {short} do not make one")]
    StrikeOrder {
        kind: &'static str,
        wanted: &'static str,
        long: f64,
        short: f64,
    },
    /// The spec's `1e-6` rule: the net at the mids is not above zero or
    /// not below the width (such a spread cannot lose, or cannot win).
    #[error("the net at the mids {price} is not inside (0, width {width})")]
    Price { price: f64, width: f64 },
}

/// `max(dte, 1) / 365`, the scanner's time to expiry in years.
pub fn years(dte: i64) -> f64 {
    (dte.max(1) as f64) / 365.0
}

/// The spec's probability that a `kind` spread with this `breakeven` ends
/// in profit: `N(d2)` for bullish kinds, `N(-d2)` for bearish ones, with
/// `d2 = (ln(spot / breakeven) - sigma * sigma * t / 2) / (sigma * sqrt(t))`
/// and `sigma` the mean of the legs' implied volatilities.
pub fn probability_of_profit(
    kind: SpreadKind,
    spot: f64,
    breakeven: f64,
    iv_long: f64,
    iv_short: f64,
    dte: i64,
) -> f64 {
    let sigma = (iv_long + iv_short) / 2.0;
    let t = years(dte);
    let q = spot / breakeven;
    let drift = sigma * sigma * t / 2.0;
    let scale = sigma * t.sqrt();
    let d2 = (q.ln() - drift) / scale;
    let x = if kind.direction() == Direction::Bullish {
        d2
    } else {
        -d2
    };
    norm_cdf(x)
}

/// The scanner's numbers for `spread` (see the module docs).
pub fn evaluate(spread: &SpreadMarket) -> Result<SpreadMetrics, EvaluateError> {
    let kind = spread.kind;
    let (long, short) = (&spread.long, &spread.short);
    let long_is_low = kind.long_is_low_strike();
    let ordered = if long_is_low {
        long.strike < short.strike
    } else {
        long.strike > short.strike
    };
    if !ordered {
        return Err(EvaluateError::StrikeOrder {
            kind: kind.name(),
            wanted: if long_is_low { "lower" } else { "higher" },
            long: long.strike,
            short: short.strike,
        });
    }
    let (low, high) = if long_is_low {
        (long.strike, short.strike)
    } else {
        (short.strike, long.strike)
    };
    let width = high - low;
    let mid = |leg: &LegMarket| (leg.bid + leg.ask) / 2.0;
    let (price, natural) = if kind.is_debit() {
        (mid(long) - mid(short), long.ask - short.bid)
    } else {
        (mid(short) - mid(long), short.bid - long.ask)
    };
    if !(price > 1e-6 && width - price > 1e-6) {
        return Err(EvaluateError::Price { price, width });
    }
    let (max_profit, max_loss) = if kind.is_debit() {
        (width - price, price)
    } else {
        (price, width - price)
    };
    let breakeven = match kind {
        SpreadKind::BullCall | SpreadKind::BearCall => low + price,
        SpreadKind::BearPut | SpreadKind::BullPut => high - price,
    };
    let pop = probability_of_profit(kind, spread.spot, breakeven, long.iv, short.iv, spread.dte);
    let ev = pop * max_profit - (1.0 - pop) * max_loss;
    let score = ev / max_loss;
    Ok(SpreadMetrics {
        width,
        price,
        natural,
        max_profit,
        max_loss,
        breakeven,
        pop,
        ev,
        score,
    })
}

/// How one filter judged a spread: the measured value against its bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterCheck {
    pub filter: Filter,
    /// What was measured (none for `kinds`; for the per-leg filters the
    /// worse leg's value; a NaN is a value no bound passes).
    pub value: Option<f64>,
    /// The lower bound, where the filter has one.
    pub min: Option<f64>,
    /// The upper bound, where the filter has one.
    pub max: Option<f64>,
    pub passed: bool,
}

/// A leg's `(ask - bid) / mid`, or infinity when its bid is not above
/// zero (the spec's leg-spread filter wants a bid).
fn leg_spread(leg: &LegMarket) -> f64 {
    let mid = (leg.bid + leg.ask) / 2.0;
    if leg.bid > 0.0 {
        (leg.ask - leg.bid) / mid
    } else {
        f64::INFINITY
    }
}

/// Every filter of `[scanner]` on `spread`, in the spec's order (the
/// order in which the funnel charges a candidate to the first it fails).
/// `metrics` are [`evaluate`]'s; without them (the price rule failed) the
/// price-dependent filters are reported failed with no value.
pub fn check_filters(
    spread: &SpreadMarket,
    metrics: Option<&SpreadMetrics>,
    config: &ScannerConfig,
) -> Vec<FilterCheck> {
    let (long, short) = (&spread.long, &spread.short);
    let width = (long.strike - short.strike).abs();
    let check =
        |filter, value: Option<f64>, min: Option<f64>, max: Option<f64>, passed| FilterCheck {
            filter,
            value,
            min,
            max,
            passed,
        };
    let within = |x: f64, lo: f64, hi: f64| lo <= x && x <= hi;
    let dte = spread.dte as f64;
    let oi = long.open_interest.min(short.open_interest);
    let leg_spread_ok = |leg: &LegMarket| {
        leg.bid > 0.0
            && (leg.ask - leg.bid) / ((leg.bid + leg.ask) / 2.0) <= config.max_leg_spread_pct
    };
    let worst_spread = leg_spread(long).max(leg_spread(short));
    let short_delta = short.delta.abs();
    let mut checks = vec![
        check(
            Filter::Kinds,
            None,
            None,
            None,
            config.kinds.contains(&spread.kind),
        ),
        check(
            Filter::Dte,
            Some(dte),
            Some(config.dte_min as f64),
            Some(config.dte_max as f64),
            spread.dte >= config.dte_min && spread.dte <= config.dte_max,
        ),
        check(
            Filter::Width,
            Some(width),
            Some(config.width_min),
            Some(config.width_max),
            within(width, config.width_min, config.width_max),
        ),
        check(
            Filter::OpenInterest,
            Some(oi as f64),
            Some(config.min_open_interest as f64),
            None,
            long.open_interest >= config.min_open_interest
                && short.open_interest >= config.min_open_interest,
        ),
        check(
            Filter::LegSpread,
            Some(worst_spread),
            None,
            Some(config.max_leg_spread_pct),
            leg_spread_ok(long) && leg_spread_ok(short),
        ),
        check(
            Filter::ShortDelta,
            Some(short_delta),
            Some(config.short_delta_min),
            Some(config.short_delta_max),
            within(short_delta, config.short_delta_min, config.short_delta_max),
        ),
    ];
    let Some(m) = metrics else {
        for filter in [
            Filter::Price,
            Filter::DebitCreditRatio,
            Filter::Pop,
            Filter::Score,
        ] {
            checks.push(check(filter, None, None, None, false));
        }
        return checks;
    };
    checks.push(check(
        Filter::Price,
        Some(m.price),
        Some(1e-6),
        Some(m.width - 1e-6),
        true,
    ));
    let ratio = m.price / m.width;
    checks.push(if spread.kind.is_debit() {
        check(
            Filter::DebitCreditRatio,
            Some(ratio),
            None,
            Some(config.max_debit_to_width),
            ratio <= config.max_debit_to_width,
        )
    } else {
        check(
            Filter::DebitCreditRatio,
            Some(ratio),
            Some(config.min_credit_to_width),
            None,
            ratio >= config.min_credit_to_width,
        )
    });
    checks.push(check(
        Filter::Pop,
        Some(m.pop),
        Some(config.min_pop),
        None,
        m.pop >= config.min_pop,
    ));
    checks.push(check(
        Filter::Score,
        Some(m.score),
        Some(config.min_score),
        None,
        m.score >= config.min_score,
    ));
    checks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(strike: f64, bid: f64, ask: f64, delta: f64) -> LegMarket {
        LegMarket {
            strike,
            bid,
            ask,
            delta,
            iv: 0.25,
            open_interest: 500,
        }
    }

    fn bull_call() -> SpreadMarket {
        SpreadMarket {
            kind: SpreadKind::BullCall,
            spot: 100.0,
            dte: 30,
            long: leg(100.0, 2.9, 3.1, 0.52),
            short: leg(105.0, 1.0, 1.2, 0.30),
        }
    }

    #[test]
    fn a_bull_call_by_the_specs_formulas() {
        let m = evaluate(&bull_call()).unwrap();
        assert_eq!(m.width, 5.0);
        assert!((m.price - 1.9).abs() < 1e-12, "{m:?}");
        assert!((m.natural - 2.1).abs() < 1e-12);
        assert!((m.max_profit - 3.1).abs() < 1e-12);
        assert_eq!(m.max_loss, m.price);
        assert!((m.breakeven - 101.9).abs() < 1e-12);
        assert!(m.pop > 0.3 && m.pop < 0.5, "{m:?}");
        assert_eq!(m.ev, m.pop * m.max_profit - (1.0 - m.pop) * m.max_loss);
        assert_eq!(m.score, m.ev / m.max_loss);
    }

    #[test]
    fn strikes_the_kind_cannot_have_and_prices_outside_the_width_are_refused() {
        let mut wrong = bull_call();
        wrong.kind = SpreadKind::BearCall;
        assert!(matches!(
            evaluate(&wrong),
            Err(EvaluateError::StrikeOrder {
                wanted: "higher",
                ..
            })
        ));
        let mut same = bull_call();
        same.short.strike = 100.0;
        assert!(matches!(
            evaluate(&same),
            Err(EvaluateError::StrikeOrder { .. })
        ));
        let mut free = bull_call();
        free.short = leg(105.0, 3.0, 3.2, 0.3);
        assert!(matches!(evaluate(&free), Err(EvaluateError::Price { .. })));
    }

    #[test]
    fn every_filter_is_judged_and_the_failing_ones_say_so() {
        let spread = bull_call();
        let m = evaluate(&spread).unwrap();
        let config = ScannerConfig::default();
        let checks = check_filters(&spread, Some(&m), &config);
        assert_eq!(
            checks.iter().map(|c| c.filter).collect::<Vec<_>>(),
            Filter::ALL.to_vec()
        );
        // 30 DTE is inside 21..60, the width 5 inside 1..10, both legs'
        // spreads are tight, the short delta 0.30 is in the band; 1.9 / 5 =
        // 0.38 of the width is under 0.60.
        let failed: Vec<_> = checks.iter().filter(|c| !c.passed).collect();
        assert!(failed.is_empty(), "{failed:?}");
        let strict = ScannerConfig {
            dte_min: 45,
            min_open_interest: 1000,
            short_delta_max: 0.25,
            ..config
        };
        let failed: Vec<Filter> = check_filters(&spread, Some(&m), &strict)
            .into_iter()
            .filter(|c| !c.passed)
            .map(|c| c.filter)
            .collect();
        assert_eq!(
            failed,
            vec![Filter::Dte, Filter::OpenInterest, Filter::ShortDelta]
        );
        let no_bid = SpreadMarket {
            short: leg(105.0, 0.0, 0.2, 0.1),
            ..spread
        };
        let m = evaluate(&no_bid).unwrap();
        let leg_spread = &check_filters(&no_bid, Some(&m), &ScannerConfig::default())[4];
        assert_eq!(leg_spread.filter, Filter::LegSpread);
        assert!(!leg_spread.passed);
        assert_eq!(leg_spread.value, Some(f64::INFINITY));
    }
}
