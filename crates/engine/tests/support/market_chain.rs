//! The simulator's market model as a chain source without the wire: what a
//! scan of every listed option finds, and what a scan of only the options a
//! [`ChainPlan`] asks for finds, at the same instant. Shared by the
//! universe-wide plan test and the request-count benchmark.

use chrono::{NaiveDate, TimeZone as _, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_analytics::scanner::{ChainBuilder, OptionRow, ScanResult, scan};
use vspread_core::config::{Config, ScannerConfig};
use vspread_core::{ConId, OptionChainParams};
use vspread_core::{Right, SpreadKind};
use vspread_engine::chain_plan::{ChainPlan, ModelInputs, PlanMargins, plan_chain};
use vspread_sim::market::{Market, MarketConfig};

/// The market of `seed` on Monday 2026-11-23 at 10:00 New York.
pub fn market(seed: u64) -> Market {
    Market::new(MarketConfig {
        seed,
        start: Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
        always_open: false,
    })
}

/// The chain parameters the gateway would send for `symbol`.
pub fn chain_params(m: &Market, symbol: &str) -> OptionChainParams {
    let p = m.option_params(symbol).unwrap();
    OptionChainParams {
        underlying: symbol.to_string(),
        underlying_con_id: ConId(p.underlying_con_id.into()),
        exchange: p.exchange.clone(),
        trading_class: p.trading_class.clone(),
        multiplier: p.multiplier.parse().unwrap(),
        expirations: p
            .expirations
            .iter()
            .map(|e| NaiveDate::parse_from_str(e, "%Y%m%d").unwrap())
            .collect(),
        strikes: p
            .strikes
            .iter()
            .map(|k| Decimal::try_from(*k).unwrap())
            .collect(),
    }
}

fn yyyymmdd(d: NaiveDate) -> u32 {
    d.format("%Y%m%d").to_string().parse().unwrap()
}

/// A scan of the listed options of `symbol` inside the DTE window that
/// `keep` accepts, each row priced at `spot`; and how many rows it had.
pub fn scan_listed(
    m: &Market,
    symbol: &str,
    spot: f64,
    scanner: &ScannerConfig,
    keep: impl Fn(NaiveDate, Decimal, Right) -> bool,
) -> (ScanResult, usize) {
    let today = m.trading_date();
    let mut builder = ChainBuilder::new();
    let mut rows = 0;
    for o in m.options(symbol, None, None, None) {
        let dte = (o.expiry - today).num_days();
        if dte < scanner.dte_min || dte > scanner.dte_max || !keep(o.expiry, o.strike, o.right) {
            continue;
        }
        let q = m.quote(o.con_id).unwrap();
        let a = q.option.as_ref().unwrap();
        let (Some(bid), Some(ask)) = (q.bid, q.ask) else {
            continue;
        };
        let row = OptionRow {
            underlying: symbol,
            underlying_price: spot,
            expiry: yyyymmdd(o.expiry),
            dte,
            strike: o.strike.to_f64().unwrap(),
            right: o.right,
            bid: bid.to_f64().unwrap(),
            ask: ask.to_f64().unwrap(),
            delta: a.model.delta.unwrap(),
            iv: a.model.implied_vol.unwrap(),
            open_interest: a.open_interest.to_i64().unwrap(),
            volume: a.volume.to_i64().unwrap(),
        };
        rows += 1;
        builder.push(rows, &row).unwrap();
    }
    let (chain, bad) = builder.build();
    assert!(bad.is_empty(), "{bad:?}");
    (scan(&chain, scanner), rows)
}

/// The model IV a plan starts from: the at-the-money call's IV at the
/// listed expiry nearest the middle of the DTE window.
pub fn atm_vol(m: &Market, symbol: &str, spot: f64, scanner: &ScannerConfig) -> f64 {
    let today = m.trading_date();
    let target = (scanner.dte_min + scanner.dte_max) / 2;
    let expiry = m
        .expiries(symbol)
        .into_iter()
        .filter(|e| *e > today)
        .min_by_key(|e| ((*e - today).num_days() - target).abs())
        .unwrap();
    let strike = m
        .strikes(symbol, expiry)
        .into_iter()
        .min_by(|a, b| {
            let da = (a.to_f64().unwrap() - spot).abs();
            let db = (b.to_f64().unwrap() - spot).abs();
            da.total_cmp(&db)
        })
        .unwrap();
    let o = m.find_option(symbol, expiry, strike, Right::Call).unwrap();
    let q = m.quote(o.con_id).unwrap();
    q.option.unwrap().model.implied_vol.unwrap()
}

/// One symbol and direction: the plan, the scan of every listed option and
/// the scan of the planned ones.
pub struct PlanCase {
    pub plan: ChainPlan,
    pub listed_rows: usize,
    pub full: ScanResult,
    pub planned: ScanResult,
}

/// Plans `symbol`'s chain for `kinds` with the default config's scanner and
/// margins, and scans both ways.
pub fn plan_case(m: &Market, symbol: &str, kinds: &[SpreadKind]) -> PlanCase {
    let config = Config::default();
    let scanner = ScannerConfig {
        kinds: kinds.to_vec(),
        ..config.scanner.clone()
    };
    let spot = m.spot(symbol).unwrap();
    let model = ModelInputs {
        spot,
        vol: atm_vol(m, symbol, spot, &scanner),
        rate: 0.0,
        today: m.trading_date(),
    };
    let margins = PlanMargins {
        delta: config.market_data.model_delta_margin,
        ratio: config.market_data.model_ratio_margin,
    };
    let plan = plan_chain(&[chain_params(m, symbol)], &model, kinds, &scanner, margins);
    let (full, listed_rows) = scan_listed(m, symbol, spot, &scanner, |_, _, _| true);
    let (planned, _) = scan_listed(m, symbol, spot, &scanner, |expiry, strike, right| {
        plan.options
            .iter()
            .any(|o| o.expiry == expiry && o.strike == strike && o.right == right)
    });
    PlanCase {
        plan,
        listed_rows,
        full,
        planned,
    }
}

/// A scan's rows without the legs' lines: the positions options took in
/// one chain, which differ between two chains of the same options (the
/// rows still name their legs by strike).
pub fn spreads_of(result: &ScanResult) -> Vec<vspread_analytics::scanner::SpreadRow> {
    result
        .rows
        .iter()
        .cloned()
        .map(|mut r| {
            (r.long_line, r.short_line) = (0, 0);
            r
        })
        .collect()
}
