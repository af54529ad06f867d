//! Stage 4: the scanner on the acquired chain: the ranked spreads, the
//! filter funnel, the near misses a trader looks at to see why a chain
//! yielded what it did, and the best spread with its legs resolved.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use vspread_analytics::scanner::{Chain, Filter, Funnel, ScanResult, scan};
use vspread_core::SpreadKind;
use vspread_core::config::ScannerConfig;

use super::quoted::QuotedSpread;
use crate::chain_acquisition::AcquiredChain;
use crate::events::{NearMiss, ScanCompleted, ScanHit};
use crate::signals::Strategy;
use crate::views::{ScanRowView, ScanSource, ScanView};

/// How many of the best rejected candidates a scan keeps.
pub const NEAR_MISSES: usize = 5;

/// What a scan found.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub result: ScanResult,
    pub near_misses: Vec<NearMiss>,
    /// The best spread, resolved; `None` when nothing ranked or its legs
    /// are not in the chain.
    pub best: Option<QuotedSpread>,
}

/// Scans `acquired` with `scanner`.
pub fn scan_chain(acquired: &AcquiredChain, scanner: &ScannerConfig) -> ScanOutcome {
    let result = scan(&acquired.chain, scanner);
    let near_misses = near_misses(&acquired.chain, scanner, NEAR_MISSES);
    let best = result
        .rows
        .first()
        .and_then(|row| QuotedSpread::from_row(row, acquired));
    ScanOutcome {
        result,
        near_misses,
        best,
    }
}

impl ScanOutcome {
    /// The event that reports it.
    pub fn event(
        &self,
        symbol: &str,
        kinds: &[SpreadKind],
        quote_requests: usize,
        naive_requests: usize,
        duration_ms: f64,
        compute_ms: f64,
    ) -> ScanCompleted {
        let hit = |r: &vspread_analytics::scanner::SpreadRow| ScanHit {
            kind: r.kind,
            expiry: r.expiry,
            long: r.long_strike,
            short: r.short_strike,
            price: r.price,
            score: r.score,
        };
        ScanCompleted {
            symbol: symbol.to_string(),
            kinds: kinds.to_vec(),
            results: self.result.rows.len(),
            candidates: self.result.funnel.candidates(),
            quote_requests,
            naive_requests,
            duration_ms,
            compute_ms,
            best: self.result.rows.first().map(hit),
            top: self.result.rows.iter().take(5).map(hit).collect(),
            funnel: FunnelView::of(&self.result.funnel, kinds),
            top_rejected: self.near_misses.clone(),
        }
    }

    /// The scan as the operator's views show it: every ranked row.
    pub fn view(
        &self,
        symbol: &str,
        at: DateTime<Utc>,
        source: ScanSource,
        signal: Option<Strategy>,
        kinds: &[SpreadKind],
        quote_requests: usize,
    ) -> ScanView {
        let rows = self
            .result
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let expiry = chrono::NaiveDate::from_ymd_opt(
                    (r.expiry / 10_000) as i32,
                    r.expiry / 100 % 100,
                    r.expiry % 100,
                )?;
                Some(ScanRowView {
                    rank: i + 1,
                    underlying: r.underlying.clone(),
                    kind: r.kind.name(),
                    expiry,
                    dte: r.dte,
                    long_strike: r.long_strike,
                    short_strike: r.short_strike,
                    width: r.width,
                    price: r.price,
                    natural: r.natural,
                    max_profit: r.max_profit,
                    max_loss: r.max_loss,
                    breakeven: r.breakeven,
                    pop: r.pop,
                    ev: r.ev,
                    score: r.score,
                    decision_id: None,
                    order_ref: None,
                })
            })
            .collect();
        ScanView {
            underlying: symbol.to_string(),
            at,
            source,
            kinds: kinds.iter().map(|k| k.name()).collect(),
            quote_requests,
            candidates: self.result.funnel.candidates(),
            funnel: FunnelView::of(&self.result.funnel, kinds),
            results: rows,
            top_rejected: self.near_misses.clone(),
            signal,
            decision: None,
        }
    }
}

/// The best-scoring candidates that passed every structural filter (DTE,
/// width, open interest, leg spread, short delta, price, debit/credit to
/// width) and were removed by the last two, `min_pop` or `min_score`. Found
/// by scanning again with those two thresholds open (a live chain scans in
/// well under a millisecond), each labelled with the threshold it missed.
pub fn near_misses(chain: &Chain, config: &ScannerConfig, k: usize) -> Vec<NearMiss> {
    let wider = |n: i64| n.saturating_mul(2).saturating_add(k as i64);
    let relaxed = ScannerConfig {
        min_pop: 0.0,
        min_score: f64::NEG_INFINITY,
        top_per_underlying: wider(config.top_per_underlying),
        max_results: wider(config.max_results),
        ..config.clone()
    };
    scan(chain, &relaxed)
        .rows
        .iter()
        .filter_map(|r| {
            let (filter, threshold) = if r.pop < config.min_pop {
                ("min_pop", config.min_pop)
            } else if r.score < config.min_score {
                ("min_score", config.min_score)
            } else {
                return None;
            };
            Some(NearMiss {
                kind: r.kind,
                expiry: r.expiry,
                long: r.long_strike,
                short: r.short_strike,
                price: r.price,
                pop: r.pop,
                score: r.score,
                removed_by: filter.to_string(),
                threshold,
            })
        })
        .take(k)
        .collect()
}

/// One kind's funnel: its candidates, what each filter removed (in the
/// scanner's order; filters that removed none left out), what passed every
/// filter and what was kept after the per-underlying and total cuts.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KindFunnelView {
    pub candidates: u64,
    /// By the filter's name (`min_open_interest`, `dte_min/dte_max`, ...),
    /// in the order the scanner applies them.
    #[serde(serialize_with = "ordered_map")]
    #[schemars(with = "BTreeMap<String, u64>")]
    pub removed: Vec<(&'static str, u64)>,
    pub passed: u64,
    pub kept: u64,
}

/// A scan's funnel, by kind (in the order the kinds were scanned).
#[derive(Debug, Clone, PartialEq, Default, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct FunnelView(
    #[serde(serialize_with = "ordered_map")]
    #[schemars(with = "BTreeMap<String, KindFunnelView>")]
    pub Vec<(String, KindFunnelView)>,
);

/// Pairs as a JSON object, keeping their order.
fn ordered_map<S, K, V>(pairs: &[(K, V)], serializer: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    K: Serialize,
    V: Serialize,
{
    use serde::ser::SerializeMap as _;
    let mut map = serializer.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl FunnelView {
    /// The funnel of a scan that ran for `kinds`.
    pub fn of(funnel: &Funnel, kinds: &[SpreadKind]) -> Self {
        FunnelView(
            kinds
                .iter()
                .map(|k| {
                    let f = funnel.kind(*k);
                    let removed = Filter::ALL
                        .iter()
                        .zip(f.removed)
                        .filter(|(_, n)| *n > 0)
                        .map(|(filter, n)| (filter.name(), n))
                        .collect();
                    (
                        k.name().to_string(),
                        KindFunnelView {
                            candidates: f.candidates,
                            removed,
                            passed: f.passed,
                            kept: f.kept,
                        },
                    )
                })
                .collect(),
        )
    }
}

/// The config keys behind each filter name the funnel uses, for links from
/// a funnel row to the setting that removed its candidates.
pub fn filter_keys() -> Vec<FilterKeys> {
    Filter::ALL
        .iter()
        .map(|f| FilterKeys {
            filter: f.name(),
            keys: f.keys().to_vec(),
        })
        .collect()
}

/// A filter's name and the config keys that set it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct FilterKeys {
    pub filter: &'static str,
    /// Empty for the scanner's fixed price rule.
    pub keys: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use vspread_analytics::scanner::csv::read_chain;
    use vspread_core::config::Config;

    use super::*;

    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data");

    #[test]
    fn near_misses_are_the_best_candidates_the_last_two_filters_removed() {
        let bytes = std::fs::read(format!("{DATA}/chain_small.csv")).unwrap();
        let toml = std::fs::read_to_string(format!("{DATA}/scan_small.toml")).unwrap();
        let config = Config::from_toml_str(&toml).unwrap().scanner;
        let chain = read_chain(&bytes).unwrap().chain;
        let kept = scan(&chain, &config);
        let missed = near_misses(&chain, &config, 5);
        assert_eq!(missed.len(), 5);
        let mut last_score = f64::INFINITY;
        for m in &missed {
            match m.removed_by.as_str() {
                "min_pop" => assert!(m.pop < config.min_pop, "{m:?}"),
                "min_score" => {
                    assert!(
                        m.pop >= config.min_pop && m.score < config.min_score,
                        "{m:?}"
                    )
                }
                other => panic!("removed by {other}"),
            }
            assert!(m.score <= last_score, "best first: {missed:?}");
            last_score = m.score;
            let same = |r: &&vspread_analytics::scanner::SpreadRow| {
                r.long_strike == m.long
                    && r.short_strike == m.short
                    && r.expiry == m.expiry
                    && r.kind == m.kind
            };
            assert!(!kept.rows.iter().any(|r| same(&r)), "{m:?} was kept");
        }
    }
}
