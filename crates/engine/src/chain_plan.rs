//! Model-guided chain acquisition: which option quotes are worth asking for.
//!
//! Quotes are the scarce resource (about 100 streaming lines, 50 messages a
//! second), while an underlying lists hundreds of strikes over a dozen
//! expiries. Before asking the gateway for anything, the engine prices the
//! listed chain with Black-Scholes at an implied-volatility estimate and
//! keeps only the options that can take part in a spread able to pass
//! `[scanner]`: expiries inside the DTE window, rights of the wanted kinds,
//! pairs whose short leg's model delta lies in the short-delta band and
//! whose model price passes the price-to-width bound of their kind (both
//! widened by `[market_data] model_delta_margin` and `model_ratio_margin`,
//! because the estimate is not the market's IV), at an allowed width.
//! The real quotes then decide; the plan only spares requests that could
//! never produce a candidate.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_analytics::black_scholes;
use vspread_core::OptionChainParams;
use vspread_core::config::ScannerConfig;
use vspread_core::{Right, SpreadKind};

/// What the model knows about the underlying when the plan is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInputs {
    /// The underlying's last price.
    pub spot: f64,
    /// Annualised implied-volatility estimate (0.25 = 25%), for example the
    /// at-the-money IV of the previous scan or the underlying's historical
    /// volatility.
    pub vol: f64,
    /// Annualised risk-free rate.
    pub rate: f64,
    /// Today in New York, from which days to expiry are counted.
    pub today: NaiveDate,
}

/// One option whose quote the plan asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedOption {
    pub expiry: NaiveDate,
    /// Calendar days from `today` to the expiry.
    pub dte: i64,
    pub strike: Decimal,
    pub right: Right,
    /// Black-Scholes delta at the estimate (signed: puts are negative).
    pub model_delta: f64,
}

impl PlannedOption {
    /// The option to look up (a US equity option on `underlying`); `None`
    /// when the chain's parameters name one no contract can be (a strike
    /// with more than three decimals, say).
    pub fn contract(&self, underlying: &str) -> Option<vspread_core::OptionContract> {
        vspread_core::OptionContract::builder()
            .underlying(underlying)
            .expiry(self.expiry)
            .strike(vspread_core::Price::new(self.strike))
            .right(self.right)
            .build()
            .ok()
    }
}

/// The options to quote, and how many requests asking for every strike
/// would have taken (the figure the plan is judged by).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainPlan {
    pub underlying: String,
    /// Ordered by expiry, right (calls first), strike.
    pub options: Vec<PlannedOption>,
    /// Every listed strike of every expiry inside the DTE window, in the
    /// rights of the wanted kinds: what a scan without the model requests.
    pub naive_requests: usize,
}

impl ChainPlan {
    /// Requests planned over requests a naive scan makes (0 when the naive
    /// scan would make none).
    pub fn request_ratio(&self) -> f64 {
        if self.naive_requests == 0 {
            0.0
        } else {
            self.options.len() as f64 / self.naive_requests as f64
        }
    }
}

/// The plan for one underlying's chain (`params` may hold several rows, one
/// per exchange or trading class; their expiries and strikes are merged).
///
/// `kinds` are the spread kinds the signal's direction allows, already
/// intersected with `[scanner] kinds` by the caller.
pub fn plan_chain(
    params: &[OptionChainParams],
    model: &ModelInputs,
    kinds: &[SpreadKind],
    scanner: &ScannerConfig,
    margins: PlanMargins,
) -> ChainPlan {
    let underlying = params
        .first()
        .map(|p| p.underlying.clone())
        .unwrap_or_default();
    let strikes: BTreeSet<Decimal> = params
        .iter()
        .flat_map(|p| p.strikes.iter().copied())
        .filter(|s| *s > Decimal::ZERO)
        .collect();
    let strikes: Vec<Decimal> = strikes.into_iter().collect();
    let strike_values: Vec<f64> = strikes
        .iter()
        .map(|k| k.to_f64().unwrap_or(f64::NAN))
        .collect();
    let expiries: BTreeSet<NaiveDate> = params
        .iter()
        .flat_map(|p| p.expirations.iter().copied())
        .collect();
    let rights: Vec<Right> = [Right::Call, Right::Put]
        .into_iter()
        .filter(|r| kinds.iter().any(|k| k.right() == *r))
        .collect();

    let mut options = Vec::new();
    let mut naive_requests = 0;
    let usable = model.spot.is_finite() && model.spot > 0.0 && model.vol.is_finite();
    for expiry in expiries {
        let dte = (expiry - model.today).num_days();
        if dte < scanner.dte_min || dte > scanner.dte_max {
            continue;
        }
        naive_requests += strikes.len() * rights.len();
        if !usable {
            continue;
        }
        // The scanner's own time convention: at least one day.
        let t_years = dte.max(1) as f64 / 365.0;
        for &right in &rights {
            let price =
                |k: f64| black_scholes::price(right, model.spot, k, t_years, model.vol, model.rate);
            let delta = |k: f64| {
                black_scholes::greeks(right, model.spot, k, t_years, model.vol, model.rate).delta
            };
            let deltas: Vec<f64> = strike_values.iter().map(|&k| delta(k)).collect();
            let prices: Vec<f64> = strike_values.iter().map(|&k| price(k)).collect();
            let wanted = wanted_strikes(
                &strike_values,
                &deltas,
                &prices,
                right,
                kinds,
                scanner,
                margins,
            );
            options.extend(wanted.into_iter().map(|i| PlannedOption {
                expiry,
                dte,
                strike: strikes[i],
                right,
                model_delta: deltas[i],
            }));
        }
    }
    ChainPlan {
        underlying,
        options,
        naive_requests,
    }
}

/// How far the model may be from the market before a quote is spared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanMargins {
    /// Widening of the short-delta band (`[market_data] model_delta_margin`).
    pub delta: f64,
    /// Widening of the debit-to-width and credit-to-width bounds
    /// (`[market_data] model_ratio_margin`), as a fraction of the width.
    pub ratio: f64,
}

/// Indexes (ascending) of the strikes of one expiry and right that can be
/// a leg of a wanted kind: pairs whose short leg lies inside the widened
/// delta band, whose width is allowed, and whose model price passes the
/// widened price-to-width bound of its kind.
fn wanted_strikes(
    strikes: &[f64],
    deltas: &[f64],
    prices: &[f64],
    right: Right,
    kinds: &[SpreadKind],
    scanner: &ScannerConfig,
    margins: PlanMargins,
) -> BTreeSet<usize> {
    let low = scanner.short_delta_min - margins.delta;
    let high = scanner.short_delta_max + margins.delta;
    let mut wanted = BTreeSet::new();
    for kind in kinds.iter().filter(|k| k.right() == right) {
        for (short, &delta) in deltas.iter().enumerate() {
            let d = delta.abs();
            if !(d >= low && d <= high) {
                continue;
            }
            for long in 0..strikes.len() {
                let width = if kind.long_is_low_strike() {
                    strikes[short] - strikes[long]
                } else {
                    strikes[long] - strikes[short]
                };
                if !(width > 0.0 && width >= scanner.width_min && width <= scanner.width_max) {
                    continue;
                }
                let price = if kind.is_debit() {
                    prices[long] - prices[short]
                } else {
                    prices[short] - prices[long]
                };
                let ratio = price / width;
                let passes = if kind.is_debit() {
                    ratio <= scanner.max_debit_to_width + margins.ratio
                } else {
                    ratio >= scanner.min_credit_to_width - margins.ratio
                };
                if passes {
                    wanted.insert(short);
                    wanted.insert(long);
                }
            }
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use vspread_core::ConId;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn date(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// A chain of strikes 50..=150 step 1 over four expiries (7, 30, 45 and
    /// 200 days out).
    fn params() -> OptionChainParams {
        OptionChainParams {
            underlying: "XYZ".into(),
            underlying_con_id: ConId(1),
            exchange: "SMART".into(),
            trading_class: "XYZ".into(),
            multiplier: d("100"),
            expirations: vec![
                date(2026, 12, 7),
                date(2026, 12, 30),
                date(2027, 1, 14),
                date(2027, 6, 18),
            ],
            strikes: (50..=150).map(Decimal::from).collect(),
        }
    }

    /// Both margins at `m`.
    fn margins(m: f64) -> PlanMargins {
        PlanMargins { delta: m, ratio: m }
    }

    fn model() -> ModelInputs {
        ModelInputs {
            spot: 100.0,
            vol: 0.30,
            rate: 0.0,
            today: date(2026, 11, 30),
        }
    }

    fn scanner() -> ScannerConfig {
        ScannerConfig {
            dte_min: 20,
            dte_max: 60,
            width_min: 1.0,
            width_max: 5.0,
            short_delta_min: 0.20,
            short_delta_max: 0.40,
            ..ScannerConfig::default()
        }
    }

    #[test]
    fn only_expiries_inside_the_dte_window_are_planned_or_counted() {
        let plan = plan_chain(
            &[params()],
            &model(),
            &SpreadKind::ALL,
            &scanner(),
            margins(0.0),
        );
        let expiries: BTreeSet<NaiveDate> = plan.options.iter().map(|o| o.expiry).collect();
        // 30 and 45 days out; 7 and 200 are outside [20, 60].
        assert_eq!(
            expiries.into_iter().collect::<Vec<_>>(),
            vec![date(2026, 12, 30), date(2027, 1, 14)]
        );
        // 101 strikes x 2 expiries x 2 rights.
        assert_eq!(plan.naive_requests, 404);
        assert!(plan.options.iter().all(|o| (30..=45).contains(&o.dte)));
    }

    #[test]
    fn bullish_kinds_quote_only_short_legs_in_the_band_and_their_longs() {
        let kinds = [SpreadKind::BullCall];
        let plan = plan_chain(&[params()], &model(), &kinds, &scanner(), margins(0.0));
        assert!(plan.options.iter().all(|o| o.right == Right::Call));
        assert_eq!(plan.naive_requests, 202, "calls only");
        for expiry in [date(2026, 12, 30), date(2027, 1, 14)] {
            let of_expiry: Vec<&PlannedOption> =
                plan.options.iter().filter(|o| o.expiry == expiry).collect();
            let shorts: Vec<&&PlannedOption> = of_expiry
                .iter()
                .filter(|o| (0.20..=0.40).contains(&o.model_delta))
                .collect();
            assert!(!shorts.is_empty());
            // A bull call sells the higher strike: every planned strike is
            // a short in the band or up to 5 below one.
            let lowest_short = shorts.iter().map(|o| o.strike).min().unwrap();
            let highest_short = shorts.iter().map(|o| o.strike).max().unwrap();
            for o in &of_expiry {
                assert!(o.strike >= lowest_short - d("5") && o.strike <= highest_short);
            }
            // Nothing far out of the money on either side.
            assert!(of_expiry.iter().all(|o| o.model_delta < 0.95));
        }
        assert!(plan.request_ratio() <= 0.25, "{}", plan.request_ratio());
    }

    #[test]
    fn a_wider_margin_never_plans_fewer_options() {
        let narrow = plan_chain(
            &[params()],
            &model(),
            &SpreadKind::ALL,
            &scanner(),
            margins(0.0),
        );
        let wide = plan_chain(
            &[params()],
            &model(),
            &SpreadKind::ALL,
            &scanner(),
            margins(0.1),
        );
        assert!(wide.options.len() > narrow.options.len());
        for o in &narrow.options {
            assert!(wide.options.contains(o), "{o:?}");
        }
    }

    #[test]
    fn an_unusable_estimate_plans_nothing_but_still_counts() {
        let mut m = model();
        m.vol = f64::NAN;
        let plan = plan_chain(&[params()], &m, &SpreadKind::ALL, &scanner(), margins(0.05));
        assert!(plan.options.is_empty());
        assert_eq!(plan.naive_requests, 404);
        assert_eq!(
            plan_chain(&[], &model(), &SpreadKind::ALL, &scanner(), margins(0.0)).naive_requests,
            0
        );
    }

    #[test]
    fn credit_kinds_take_long_legs_beyond_the_short_strike() {
        // Bear call: sells the lower strike, buys up to 5 above it.
        let plan = plan_chain(
            &[params()],
            &model(),
            &[SpreadKind::BearCall],
            &scanner(),
            margins(0.0),
        );
        let expiry = date(2026, 12, 30);
        let of_expiry: Vec<&PlannedOption> =
            plan.options.iter().filter(|o| o.expiry == expiry).collect();
        let shorts: Vec<Decimal> = of_expiry
            .iter()
            .filter(|o| (0.20..=0.40).contains(&o.model_delta))
            .map(|o| o.strike)
            .collect();
        let lowest_short = *shorts.iter().min().unwrap();
        let highest_short = *shorts.iter().max().unwrap();
        for o in &of_expiry {
            assert!(o.strike >= lowest_short && o.strike <= highest_short + d("5"));
        }
    }
}
