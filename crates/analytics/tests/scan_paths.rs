//! The scanner's two paths against a literal reading of the spec: every pair
//! of every group, every filter in the spec's order, the exact probability
//! of profit for every candidate that reaches it. `scan` must give the same
//! rows and the same funnel, and `scan_rows` the same rows, for any config;
//! and the one-spread path (`evaluate`, `check_filters`) the same numbers,
//! to the bit, and the same first failing filter, for every candidate.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use vspread_analytics::normal::norm_cdf;
use vspread_analytics::scanner::csv::read_chain;
use vspread_analytics::scanner::synthetic::write_synthetic_chain;
use vspread_analytics::scanner::{
    Filter, Funnel, LegMarket, SpreadMarket, SpreadRow, check_filters, evaluate, scan, scan_rows,
};
use vspread_core::config::ScannerConfig;
use vspread_core::{Direction, SpreadKind};

#[path = "support/scanner_configs.rs"]
mod scanner_configs;
use scanner_configs::scanner_configs;

struct Leg {
    /// 1-based line in the file (the header is line 1).
    line: usize,
    strike: f64,
    bid: f64,
    ask: f64,
    delta: f64,
    iv: f64,
    open_interest: i64,
}

struct Group {
    underlying: String,
    spot: f64,
    expiry: u32,
    dte: i64,
    call: bool,
    legs: Vec<Leg>,
}

/// The synthetic chain's rows (clean, fixed column order) grouped by
/// (underlying, expiry, right), strikes ascending.
fn groups_of(csv: &str) -> Vec<Group> {
    let mut map: BTreeMap<(String, u32, bool), Group> = BTreeMap::new();
    for (index, line) in csv.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (underlying, expiry, call) = (f[0].to_string(), f[2].parse().unwrap(), f[5] == "C");
        let g = map
            .entry((underlying.clone(), expiry, call))
            .or_insert_with(|| Group {
                underlying,
                spot: f[1].parse().unwrap(),
                expiry,
                dte: f[3].parse().unwrap(),
                call,
                legs: Vec::new(),
            });
        g.legs.push(Leg {
            line: index + 1,
            strike: f[4].parse().unwrap(),
            bid: f[6].parse().unwrap(),
            ask: f[7].parse().unwrap(),
            delta: f[8].parse().unwrap(),
            iv: f[9].parse().unwrap(),
            open_interest: f[10].parse().unwrap(),
        });
    }
    let mut groups: Vec<Group> = map.into_values().collect();
    for g in &mut groups {
        g.legs.sort_by(|a, b| a.strike.total_cmp(&b.strike));
    }
    groups
}

fn leg_market(l: &Leg) -> LegMarket {
    LegMarket {
        strike: l.strike,
        bid: l.bid,
        ask: l.ask,
        delta: l.delta,
        iv: l.iv,
        open_interest: l.open_interest,
    }
}

fn rank(score: f64) -> f64 {
    (score * 1e9).round_ties_even() + 0.0
}

/// The spec, literally.
fn reference(groups: &[Group], c: &ScannerConfig) -> (Vec<SpreadRow>, Funnel) {
    let mut funnel = Funnel::default();
    let mut passed: Vec<SpreadRow> = Vec::new();
    for g in groups {
        let kinds = if g.call {
            [SpreadKind::BullCall, SpreadKind::BearCall]
        } else {
            [SpreadKind::BearPut, SpreadKind::BullPut]
        };
        let live =
            kinds.iter().any(|k| c.kinds.contains(k)) && c.dte_min <= g.dte && g.dte <= c.dte_max;
        let n = g.legs.len();
        for i in 0..n {
            for j in i + 1..n {
                let (lo, hi) = (&g.legs[i], &g.legs[j]);
                let width = hi.strike - lo.strike;
                if live && c.width_min <= width && width <= c.width_max {
                    funnel.pairs_evaluated += 1;
                }
                for kind in kinds {
                    let k = &mut funnel.kinds[kind as usize];
                    k.candidates += 1;
                    let (long, short) = if kind.long_is_low_strike() {
                        (lo, hi)
                    } else {
                        (hi, lo)
                    };
                    let mid = |l: &Leg| (l.bid + l.ask) / 2.0;
                    let (price, natural) = if kind.is_debit() {
                        (mid(long) - mid(short), long.ask - short.bid)
                    } else {
                        (mid(short) - mid(long), short.bid - long.ask)
                    };
                    let spread_ok =
                        |l: &Leg| l.bid > 0.0 && (l.ask - l.bid) / mid(l) <= c.max_leg_spread_pct;
                    let filter = if !c.kinds.contains(&kind) {
                        Some(Filter::Kinds)
                    } else if !(c.dte_min <= g.dte && g.dte <= c.dte_max) {
                        Some(Filter::Dte)
                    } else if !(c.width_min <= width && width <= c.width_max) {
                        Some(Filter::Width)
                    } else if long.open_interest < c.min_open_interest
                        || short.open_interest < c.min_open_interest
                    {
                        Some(Filter::OpenInterest)
                    } else if !(spread_ok(long) && spread_ok(short)) {
                        Some(Filter::LegSpread)
                    } else if !(c.short_delta_min <= short.delta.abs()
                        && short.delta.abs() <= c.short_delta_max)
                    {
                        Some(Filter::ShortDelta)
                    } else if !(price > 1e-6 && width - price > 1e-6) {
                        Some(Filter::Price)
                    } else if !(if kind.is_debit() {
                        price / width <= c.max_debit_to_width
                    } else {
                        price / width >= c.min_credit_to_width
                    }) {
                        Some(Filter::DebitCreditRatio)
                    } else {
                        None
                    };
                    // The one-spread path must say what the scan says.
                    let market = SpreadMarket {
                        kind,
                        spot: g.spot,
                        dte: g.dte,
                        long: leg_market(long),
                        short: leg_market(short),
                    };
                    let metrics = evaluate(&market).ok();
                    let first_failed = check_filters(&market, metrics.as_ref(), c)
                        .into_iter()
                        .find(|x| !x.passed)
                        .map(|x| x.filter);
                    if let Some(f) = filter {
                        assert_eq!(first_failed, Some(f), "{market:?}");
                        k.removed[f as usize] += 1;
                        continue;
                    }
                    let (max_profit, max_loss) = if kind.is_debit() {
                        (width - price, price)
                    } else {
                        (price, width - price)
                    };
                    let breakeven = if g.call {
                        lo.strike + price
                    } else {
                        hi.strike - price
                    };
                    let sigma = (long.iv + short.iv) / 2.0;
                    let t = (g.dte.max(1) as f64) / 365.0;
                    let d2 =
                        ((g.spot / breakeven).ln() - sigma * sigma * t / 2.0) / (sigma * t.sqrt());
                    let pop = norm_cdf(if kind.direction() == Direction::Bullish {
                        d2
                    } else {
                        -d2
                    });
                    let ev = pop * max_profit - (1.0 - pop) * max_loss;
                    let score = ev / max_loss;
                    let m = metrics.expect("the price rule passed");
                    let bits = |x: f64| x.to_bits();
                    assert_eq!(
                        [
                            m.width,
                            m.price,
                            m.natural,
                            m.max_profit,
                            m.max_loss,
                            m.breakeven
                        ]
                        .map(bits),
                        [width, price, natural, max_profit, max_loss, breakeven].map(bits),
                        "{market:?}"
                    );
                    assert_eq!(
                        [m.pop, m.ev, m.score].map(bits),
                        [pop, ev, score].map(bits),
                        "{market:?}"
                    );
                    if pop.is_nan() || pop < c.min_pop {
                        assert_eq!(first_failed, Some(Filter::Pop), "{market:?}");
                        k.removed[Filter::Pop as usize] += 1;
                        continue;
                    }
                    if score.is_nan() || score < c.min_score {
                        assert_eq!(first_failed, Some(Filter::Score), "{market:?}");
                        k.removed[Filter::Score as usize] += 1;
                        continue;
                    }
                    assert_eq!(first_failed, None, "{market:?}");
                    k.passed += 1;
                    passed.push(SpreadRow {
                        underlying: g.underlying.clone(),
                        kind,
                        expiry: g.expiry,
                        dte: g.dte,
                        long_strike: long.strike,
                        short_strike: short.strike,
                        long_line: long.line,
                        short_line: short.line,
                        width,
                        price,
                        natural,
                        max_profit,
                        max_loss,
                        breakeven,
                        pop,
                        ev,
                        score,
                    });
                }
            }
        }
    }
    passed.sort_by(|a, b| {
        rank(b.score)
            .total_cmp(&rank(a.score))
            .then(a.underlying.as_bytes().cmp(b.underlying.as_bytes()))
            .then(a.expiry.cmp(&b.expiry))
            .then(a.kind.cmp(&b.kind))
            .then(a.long_strike.total_cmp(&b.long_strike))
            .then(a.short_strike.total_cmp(&b.short_strike))
    });
    let mut per_underlying: HashMap<String, i64> = HashMap::new();
    let mut rows: Vec<SpreadRow> = passed
        .into_iter()
        .filter(|r| {
            let n = per_underlying.entry(r.underlying.clone()).or_insert(0);
            *n += 1;
            *n <= c.top_per_underlying
        })
        .collect();
    rows.truncate(usize::try_from(c.max_results).unwrap());
    for r in &rows {
        funnel.kinds[r.kind as usize].kept += 1;
    }
    (rows, funnel)
}

/// Checks both paths against the reference; returns how many rows.
fn check(csv: &str, config: &ScannerConfig) -> Result<usize, TestCaseError> {
    let read = read_chain(csv.as_bytes()).unwrap();
    prop_assert!(read.bad_rows.is_empty());
    let (rows, funnel) = reference(&groups_of(csv), config);
    let full = scan(&read.chain, config);
    prop_assert_eq!(&full.funnel, &funnel);
    prop_assert_eq!(&full.rows, &rows);
    prop_assert_eq!(&scan_rows(&read.chain, config), &rows);
    Ok(rows.len())
}

fn synthetic(underlyings: usize, seed: u64) -> String {
    let mut csv = Vec::new();
    write_synthetic_chain(&mut csv, underlyings, seed).unwrap();
    String::from_utf8(csv).unwrap()
}

#[test]
fn both_paths_match_the_spec_on_the_bench_settings() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/scan_bench.toml"
    ))
    .unwrap();
    let config = vspread_core::config::Config::from_toml_str(&text)
        .unwrap()
        .scanner;
    assert_eq!(check(&synthetic(6, 7), &config).unwrap(), 30);
    assert!(check(&synthetic(6, 7), &ScannerConfig::default()).unwrap() > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn both_paths_match_the_spec_for_any_config(
        seed in 1u64..1000,
        config in scanner_configs(proptest::sample::subsequence(SpreadKind::ALL.to_vec(), 1..=4)),
    ) {
        check(&synthetic(3, seed), &config)?;
    }
}
