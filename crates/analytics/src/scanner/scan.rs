//! Candidate enumeration, the spec's formulas and filters, and ranking.

use std::cmp::Ordering;

use rayon::prelude::*;
use vspread_core::config::ScannerConfig;
use vspread_core::{Direction, Right, SpreadKind};

use super::chain::{Chain, Group, Underlying};
use super::funnel::{Filter, Funnel, kind_index};
use crate::normal::norm_cdf;

/// One ranked spread, per share, as the output prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpreadRow {
    pub underlying: String,
    pub kind: SpreadKind,
    /// `YYYYMMDD` as a number.
    pub expiry: u32,
    pub dte: i64,
    pub long_strike: f64,
    pub short_strike: f64,
    /// The legs' identity: the line (CSV) or position (live chain) each
    /// was pushed into the chain with, so a caller finds the exact option
    /// it scanned instead of matching strikes.
    pub long_line: usize,
    pub short_line: usize,
    pub width: f64,
    pub price: f64,
    pub natural: f64,
    pub max_profit: f64,
    pub max_loss: f64,
    pub breakeven: f64,
    pub pop: f64,
    pub ev: f64,
    pub score: f64,
}

/// The ranked list and the funnel that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanResult {
    pub rows: Vec<SpreadRow>,
    pub funnel: Funnel,
}

/// `round_half_even(score * 1e9)`: scores that differ only in their last
/// bits rank as equal. Kept as an (integral) f64, so no score saturates;
/// adding 0.0 turns -0.0 into 0.0, which `total_cmp` would otherwise order
/// below it.
fn rank_of(score: f64) -> f64 {
    (score * 1e9).round_ties_even() + 0.0
}

/// A survivor before it becomes a row: cheap to compare and move.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rank: f64,
    expiry: u32,
    kind: SpreadKind,
    long_strike: f64,
    short_strike: f64,
    long_line: usize,
    short_line: usize,
    dte: i64,
    width: f64,
    price: f64,
    natural: f64,
    max_profit: f64,
    max_loss: f64,
    breakeven: f64,
    pop: f64,
    ev: f64,
    score: f64,
}

/// Rank order within one underlying: rank descending, then expiry, kind,
/// long strike, short strike ascending.
fn order(a: &Hit, b: &Hit) -> Ordering {
    b.rank
        .total_cmp(&a.rank)
        .then(a.expiry.cmp(&b.expiry))
        .then(a.kind.cmp(&b.kind))
        .then(a.long_strike.total_cmp(&b.long_strike))
        .then(a.short_strike.total_cmp(&b.short_strike))
}

/// Per-kind settings derived once from the config.
#[derive(Clone, Copy)]
struct KindPlan {
    kind: SpreadKind,
    enabled: bool,
    debit: bool,
    bullish: bool,
    long_is_low: bool,
}

fn plans_for(right: Right, config: &ScannerConfig) -> [KindPlan; 2] {
    let kinds = match right {
        Right::Call => [SpreadKind::BullCall, SpreadKind::BearCall],
        Right::Put => [SpreadKind::BearPut, SpreadKind::BullPut],
    };
    kinds.map(|kind| KindPlan {
        kind,
        enabled: config.kinds.contains(&kind),
        debit: kind.is_debit(),
        bullish: kind.direction() == Direction::Bullish,
        long_is_low: kind.long_is_low_strike(),
    })
}

/// A value below which `norm_cdf(x) < min_pop` for certain: the quantile of
/// `min_pop` less a margin far wider than the CDF's rounding error, so a
/// candidate below it fails `min_pop` without evaluating the CDF, and every
/// candidate near the edge is still decided by the spec's formula.
fn pop_floor(min_pop: f64) -> f64 {
    if min_pop.is_nan() || min_pop <= 0.0 {
        return f64::NEG_INFINITY;
    }
    let (mut lo, mut hi) = (-40.0_f64, 40.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if norm_cdf(mid) < min_pop {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo - 1e-9 * (1.0 + lo.abs())
}

/// Lower and upper bounds of [`norm_cdf`] from a table of its values on a
/// grid (1/64 apart over [-10, 10]): `norm_cdf` is monotone, so its value at
/// `x` lies between its values at the grid points around `x`. A margin of
/// 1e-12, far above the function's rounding error and far below any
/// threshold's tolerance, keeps the bounds strict.
struct CdfBounds {
    table: Vec<f64>,
}

const CDF_GRID_LOW: f64 = -10.0;
const CDF_GRID_STEPS: f64 = 64.0;
const CDF_GRID_CELLS: usize = 1280;
const CDF_MARGIN: f64 = 1e-12;

impl CdfBounds {
    fn new() -> Self {
        let table = (0..=CDF_GRID_CELLS)
            .map(|k| norm_cdf(CDF_GRID_LOW + k as f64 / CDF_GRID_STEPS))
            .collect();
        Self { table }
    }

    /// (lower, upper) bounds of `norm_cdf(x)` for a non-NaN `x`.
    fn bounds(&self, x: f64) -> (f64, f64) {
        let pos = (x - CDF_GRID_LOW) * CDF_GRID_STEPS;
        if pos <= 0.0 {
            return (0.0, self.table[0] + CDF_MARGIN);
        }
        if pos >= CDF_GRID_CELLS as f64 {
            return (self.table[CDF_GRID_CELLS] - CDF_MARGIN, 1.0);
        }
        let k = pos as usize;
        (
            self.table[k] - CDF_MARGIN,
            self.table[(k + 1).min(CDF_GRID_CELLS)] + CDF_MARGIN,
        )
    }
}

fn cdf_bounds() -> &'static CdfBounds {
    static BOUNDS: std::sync::OnceLock<CdfBounds> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(CdfBounds::new)
}

/// Scans `chain` with `config` (already validated): the ranked rows and the
/// exact filter funnel (what `--explain` prints and the engine records).
pub fn scan(chain: &Chain, config: &ScannerConfig) -> ScanResult {
    let (rows, funnel) = scan_with::<true>(chain, config);
    ScanResult { rows, funnel }
}

/// The rows of [`scan`], identical and in the same order, without the
/// funnel. Not having to say which filter removed each candidate, it drops
/// a candidate as soon as a bound shows it cannot enter its underlying's
/// top list, before the costly steps (the logarithm and the normal CDF):
/// whatever its probability of profit, its score is at most
/// `max_profit / max_loss`.
pub fn scan_rows(chain: &Chain, config: &ScannerConfig) -> Vec<SpreadRow> {
    scan_with::<false>(chain, config).0
}

/// The scan; with `FUNNEL` it also counts every candidate at the filter
/// that removed it (without, the funnel returned is empty).
fn scan_with<const FUNNEL: bool>(
    chain: &Chain,
    config: &ScannerConfig,
) -> (Vec<SpreadRow>, Funnel) {
    let top = usize::try_from(config.top_per_underlying)
        .unwrap_or(usize::MAX)
        .max(1);
    let floor = pop_floor(config.min_pop);
    let per_underlying: Vec<(Vec<Hit>, Funnel, &str)> = chain
        .underlyings
        .par_iter()
        .map(|u| {
            let (hits, funnel) = scan_underlying::<FUNNEL>(u, config, top, floor);
            (hits, funnel, u.symbol.as_str())
        })
        .collect();

    let mut funnel = Funnel::default();
    let mut merged: Vec<(&str, Hit)> = Vec::new();
    for (hits, f, symbol) in per_underlying {
        funnel.add(&f);
        merged.extend(hits.into_iter().map(|h| (symbol, h)));
    }
    merged.sort_by(|(ua, a), (ub, b)| {
        b.rank
            .total_cmp(&a.rank)
            .then(ua.as_bytes().cmp(ub.as_bytes()))
            .then_with(|| order(a, b))
    });
    let max = usize::try_from(config.max_results).unwrap_or(usize::MAX);
    merged.truncate(max);
    if FUNNEL {
        for (_, h) in &merged {
            funnel.kinds[kind_index(h.kind)].kept += 1;
        }
    }
    let rows = merged
        .into_iter()
        .map(|(symbol, h)| SpreadRow {
            underlying: symbol.to_string(),
            kind: h.kind,
            expiry: h.expiry,
            dte: h.dte,
            long_strike: h.long_strike,
            short_strike: h.short_strike,
            long_line: h.long_line,
            short_line: h.short_line,
            width: h.width,
            price: h.price,
            natural: h.natural,
            max_profit: h.max_profit,
            max_loss: h.max_loss,
            breakeven: h.breakeven,
            pop: h.pop,
            ev: h.ev,
            score: h.score,
        })
        .collect();
    (rows, funnel)
}

/// The best `top` hits of one underlying so far. Once it holds `top`, the
/// worst of them is a bar a new hit must beat to matter, which spares
/// storing the many candidates that pass every filter but cannot rank.
struct TopK {
    top: usize,
    hits: Vec<Hit>,
    bar: Option<Hit>,
    /// `rank - 0.5` of the bar (-inf without one): see [`TopK::cannot_take`].
    skip_below: f64,
}

impl TopK {
    fn new(top: usize) -> Self {
        Self {
            top,
            hits: Vec::new(),
            bar: None,
            skip_below: f64::NEG_INFINITY,
        }
    }

    fn offer(&mut self, hit: Hit) {
        if let Some(bar) = &self.bar
            && order(&hit, bar) != Ordering::Less
        {
            return;
        }
        self.hits.push(hit);
        if self.hits.len() >= 2 * self.top + 16 {
            self.hits.select_nth_unstable_by(self.top - 1, order);
            self.hits.truncate(self.top);
            let bar = self.hits[self.top - 1];
            self.skip_below = bar.rank - 0.5;
            self.bar = Some(bar);
        }
    }

    /// Whether no hit of score at most `score` can enter: its rank
    /// `round_half_even(score * 1e9)` is below the bar's, because
    /// `score * 1e9 < rank - 0.5` rounds to at most `rank - 1`. False for
    /// NaN, and false until there is a bar. (Near the edge it may say false
    /// where the rank would show it; the exact path then decides.)
    fn cannot_take(&self, score: f64) -> bool {
        score * 1e9 < self.skip_below
    }

    fn into_sorted(mut self) -> Vec<Hit> {
        self.hits.sort_by(order);
        self.hits.truncate(self.top);
        self.hits
    }
}

fn pairs(n: usize) -> u64 {
    (n as u64) * (n as u64).saturating_sub(1) / 2
}

fn scan_underlying<const FUNNEL: bool>(
    u: &Underlying,
    config: &ScannerConfig,
    top: usize,
    pop_floor: f64,
) -> (Vec<Hit>, Funnel) {
    let mut funnel = Funnel::default();
    let mut best = TopK::new(top);
    let mut legs = Legs::default();
    for g in &u.groups {
        let all = pairs(g.strike.len());
        let plans = plans_for(g.right, config);
        let dte_ok = g.dte >= config.dte_min && g.dte <= config.dte_max;
        if FUNNEL {
            for p in &plans {
                let k = &mut funnel.kinds[kind_index(p.kind)];
                k.candidates += all;
                if !p.enabled {
                    k.removed[Filter::Kinds as usize] += all;
                } else if !dte_ok {
                    k.removed[Filter::Dte as usize] += all;
                }
            }
        }
        if !dte_ok || !plans.iter().any(|p| p.enabled) {
            continue;
        }
        let (live, count) = match plans {
            [a, b] if a.enabled && b.enabled => ([a, b], 2),
            [a, b] if a.enabled => ([a, b], 1),
            [a, b] => ([b, a], 1),
        };
        legs.prepare(g, config);
        scan_group::<FUNNEL>(
            u.price,
            g,
            &legs,
            &live[..count],
            config,
            pop_floor,
            &mut funnel,
            &mut best,
            all,
        );
    }
    (best.into_sorted(), funnel)
}

/// Per-leg facts of one group, computed once per option rather than once
/// per pair (buffers reused from group to group).
#[derive(Default)]
struct Legs {
    mid: Vec<f64>,
    /// Filter results as [`OI`], [`SPREAD`] and [`DELTA`] bits.
    flags: Vec<u8>,
    /// `oi_before[k]`: how many legs below index `k` pass
    /// `min_open_interest` (`k` up to the group's size).
    oi_before: Vec<usize>,
    /// The legs passing both the open-interest and the leg-spread checks
    /// ("good"), ascending, and `good_before[k]`: how many are below `k`.
    good: Vec<usize>,
    good_before: Vec<usize>,
    /// The good legs that also pass the short-delta check, and how many are
    /// below each index.
    short_ok: Vec<usize>,
    short_ok_before: Vec<usize>,
}

const OI: u8 = 1;
const SPREAD: u8 = 2;
const DELTA: u8 = 4;

impl Legs {
    fn prepare(&mut self, g: &Group, c: &ScannerConfig) {
        let n = g.strike.len();
        for v in [
            &mut self.oi_before,
            &mut self.good,
            &mut self.good_before,
            &mut self.short_ok,
            &mut self.short_ok_before,
        ] {
            v.clear();
        }
        self.mid.clear();
        self.flags.clear();
        self.oi_before.push(0);
        self.good_before.push(0);
        self.short_ok_before.push(0);
        let mut oi_count = 0;
        for i in 0..n {
            let mid = (g.bid[i] + g.ask[i]) / 2.0;
            let a = g.delta[i].abs();
            let oi = g.open_interest[i] >= c.min_open_interest;
            let spread = g.bid[i] > 0.0 && (g.ask[i] - g.bid[i]) / mid <= c.max_leg_spread_pct;
            let delta = c.short_delta_min <= a && a <= c.short_delta_max;
            self.mid.push(mid);
            self.flags
                .push(u8::from(oi) * OI + u8::from(spread) * SPREAD + u8::from(delta) * DELTA);
            oi_count += usize::from(oi);
            if oi && spread {
                self.good.push(i);
                if delta {
                    self.short_ok.push(i);
                }
            }
            self.oi_before.push(oi_count);
            self.good_before.push(self.good.len());
            self.short_ok_before.push(self.short_ok.len());
        }
    }
}

/// Everything one candidate's evaluation reads, fixed for a group.
struct GroupCtx<'a> {
    g: &'a Group,
    legs: &'a Legs,
    c: &'a ScannerConfig,
    spot: f64,
    t: f64,
    sqrt_t: f64,
    pop_floor: f64,
    cdf: &'a CdfBounds,
}

impl GroupCtx<'_> {
    /// The spec's formulas and the filters after the leg checks for the
    /// pair (`i` < `j` by strike) as kind `p`; with `FUNNEL`, a removed
    /// candidate is counted at the filter that removed it (`removed`, by
    /// [`Filter`]) and a passing one in `passed`.
    #[inline(always)]
    fn candidate<const FUNNEL: bool>(
        &self,
        i: usize,
        j: usize,
        p: &KindPlan,
        removed: &mut [u64; 10],
        passed: &mut u64,
        best: &mut TopK,
    ) {
        let (g, c, s, mid) = (self.g, self.c, &self.g.strike, &self.legs.mid);
        let width = s[j] - s[i];
        let (long, short) = if p.long_is_low { (i, j) } else { (j, i) };
        let (price, natural) = if p.debit {
            (mid[long] - mid[short], g.ask[long] - g.bid[short])
        } else {
            (mid[short] - mid[long], g.bid[short] - g.ask[long])
        };
        if !(price > 1e-6 && width - price > 1e-6) {
            if FUNNEL {
                removed[Filter::Price as usize] += 1;
            }
            return;
        }
        let (max_profit, max_loss) = if p.debit {
            (width - price, price)
        } else {
            (price, width - price)
        };
        // Whatever pop in [0, 1] turns out to be, `pop * max_profit` is at
        // most `max_profit` and `(1 - pop) * max_loss` at least 0 (each
        // rounding is monotone), so the score is at most this quotient.
        if !FUNNEL && best.cannot_take(max_profit / max_loss) {
            return;
        }
        let ratio_ok = if p.debit {
            price / width <= c.max_debit_to_width
        } else {
            price / width >= c.min_credit_to_width
        };
        if !ratio_ok {
            if FUNNEL {
                removed[Filter::DebitCreditRatio as usize] += 1;
            }
            return;
        }
        let breakeven = match p.kind {
            SpreadKind::BullCall | SpreadKind::BearCall => s[i] + price,
            SpreadKind::BearPut | SpreadKind::BullPut => s[j] - price,
        };
        let sigma = (g.iv[long] + g.iv[short]) / 2.0;
        // d2 = (ln(q) - drift) / scale, in the spec's order of operations.
        let q = self.spot / breakeven;
        let drift = sigma * sigma * self.t / 2.0;
        let scale = sigma * self.sqrt_t;
        // Before the logarithm: bounds of the computed ln(q) from
        // (q - 1) / q <= ln(q) <= q - 1, widened by a relative 1e-12 (far
        // above the few roundings involved, so they hold for the computed
        // values), give bounds of x (the steps after ln are monotone), and
        // those of the CDF may already decide the candidate.
        let ln_hi = {
            let b = q - 1.0;
            b + 1e-12 * b.abs()
        };
        let ln_lo = {
            let b = (q - 1.0) / q;
            b - 1e-12 * b.abs()
        };
        let (d2_lo, d2_hi) = ((ln_lo - drift) / scale, (ln_hi - drift) / scale);
        let (x_lo, x_hi) = if p.bullish {
            (d2_lo, d2_hi)
        } else {
            (-d2_hi, -d2_lo)
        };
        if x_hi < self.pop_floor {
            if FUNNEL {
                removed[Filter::Pop as usize] += 1;
            }
            return;
        }
        if !x_hi.is_nan() {
            let pop_hi = self.cdf.bounds(x_hi).1;
            if pop_hi < c.min_pop {
                if FUNNEL {
                    removed[Filter::Pop as usize] += 1;
                }
                return;
            }
            let score_at = |pop: f64| (pop * max_profit - (1.0 - pop) * max_loss) / max_loss;
            let score_hi = score_at(pop_hi);
            if !FUNNEL {
                if score_hi < c.min_score || best.cannot_take(score_hi) {
                    return;
                }
            } else if !x_lo.is_nan() {
                let pop_lo = self.cdf.bounds(x_lo).0;
                if pop_lo >= c.min_pop {
                    if score_hi < c.min_score {
                        removed[Filter::Score as usize] += 1;
                        return;
                    }
                    if score_at(pop_lo) >= c.min_score && best.cannot_take(score_hi) {
                        *passed += 1;
                        return;
                    }
                }
            }
        }
        let d2 = (q.ln() - drift) / scale;
        let x = if p.bullish { d2 } else { -d2 };
        if x < self.pop_floor {
            if FUNNEL {
                removed[Filter::Pop as usize] += 1;
            }
            return;
        }
        // Where the bounds of the CDF already decide the filters and show
        // the candidate cannot rank, the exact CDF (the costliest step) is
        // not needed; everywhere else it decides. The score is monotone in
        // pop (so are its roundings).
        if !x.is_nan() {
            let (pop_lo, pop_hi) = self.cdf.bounds(x);
            let score_at = |pop: f64| (pop * max_profit - (1.0 - pop) * max_loss) / max_loss;
            if pop_hi < c.min_pop {
                if FUNNEL {
                    removed[Filter::Pop as usize] += 1;
                }
                return;
            }
            if FUNNEL {
                if pop_lo >= c.min_pop {
                    let score_hi = score_at(pop_hi);
                    if score_hi < c.min_score {
                        removed[Filter::Score as usize] += 1;
                        return;
                    }
                    if score_at(pop_lo) >= c.min_score && best.cannot_take(score_hi) {
                        *passed += 1;
                        return;
                    }
                }
            } else {
                let score_hi = score_at(pop_hi);
                if score_hi < c.min_score || best.cannot_take(score_hi) {
                    return;
                }
            }
        }
        let pop = norm_cdf(x);
        if pop.is_nan() || pop < c.min_pop {
            if FUNNEL {
                removed[Filter::Pop as usize] += 1;
            }
            return;
        }
        let ev = pop * max_profit - (1.0 - pop) * max_loss;
        let score = ev / max_loss;
        if score.is_nan() || score < c.min_score {
            if FUNNEL {
                removed[Filter::Score as usize] += 1;
            }
            return;
        }
        *passed += 1;
        best.offer(Hit {
            rank: rank_of(score),
            expiry: g.expiry,
            kind: p.kind,
            long_strike: s[long],
            short_strike: s[short],
            long_line: g.line[long],
            short_line: g.line[short],
            dte: g.dte,
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

#[allow(clippy::too_many_arguments)]
fn scan_group<const FUNNEL: bool>(
    spot: f64,
    g: &Group,
    legs: &Legs,
    plans: &[KindPlan],
    c: &ScannerConfig,
    pop_floor: f64,
    funnel: &mut Funnel,
    best: &mut TopK,
    all_pairs: u64,
) {
    let n = g.strike.len();
    let s = &g.strike;
    let t = (g.dte.max(1) as f64) / 365.0;
    let ctx = GroupCtx {
        g,
        legs,
        c,
        spot,
        t,
        sqrt_t: t.sqrt(),
        pop_floor,
        cdf: cdf_bounds(),
    };
    // Counters for this group's kinds, merged into the funnel at the end.
    let mut removed = [[0u64; 10]; 2];
    let (mut open_interest_rejects, mut leg_spread_rejects) = (0u64, 0u64);
    let mut passed = [0u64; 2];

    let mut in_window: u64 = 0;
    // For each low strike, the high strikes whose width can pass form one
    // contiguous run [lo_j, hi_j) that only moves right as i grows.
    let (mut lo_j, mut hi_j) = (0usize, 0usize);
    for i in 0..n {
        lo_j = lo_j.max(i + 1);
        while lo_j < n && s[lo_j] - s[i] < c.width_min {
            lo_j += 1;
        }
        hi_j = hi_j.max(lo_j);
        while hi_j < n && s[hi_j] - s[i] <= c.width_max {
            hi_j += 1;
        }
        let in_run = (hi_j - lo_j) as u64;
        in_window += in_run;
        // The open-interest and leg-spread checks look at both legs, so they
        // decide for every kind of the pair at once, and are counted for the
        // whole run from the per-leg counts: only pairs of two good legs are
        // visited.
        let fi = legs.flags[i];
        let (good_lo, good_hi) = (legs.good_before[lo_j], legs.good_before[hi_j]);
        if FUNNEL {
            if fi & OI == 0 {
                open_interest_rejects += in_run;
                continue;
            }
            let oi_pass = (legs.oi_before[hi_j] - legs.oi_before[lo_j]) as u64;
            open_interest_rejects += in_run - oi_pass;
            if fi & SPREAD == 0 {
                leg_spread_rejects += oi_pass;
                continue;
            }
            leg_spread_rejects += oi_pass - (good_hi - good_lo) as u64;
        } else if fi & (OI | SPREAD) != OI | SPREAD {
            continue;
        }
        if good_hi == good_lo {
            continue;
        }
        for (pi, p) in plans.iter().enumerate() {
            // The short leg's delta: the high strike's when the long leg is
            // the low one (visit only the good legs passing it), else this
            // leg's own.
            let run = if p.long_is_low {
                let (a, b) = (legs.short_ok_before[lo_j], legs.short_ok_before[hi_j]);
                if FUNNEL {
                    removed[pi][Filter::ShortDelta as usize] +=
                        ((good_hi - good_lo) - (b - a)) as u64;
                }
                &legs.short_ok[a..b]
            } else {
                if fi & DELTA == 0 {
                    if FUNNEL {
                        removed[pi][Filter::ShortDelta as usize] += (good_hi - good_lo) as u64;
                    }
                    continue;
                }
                &legs.good[good_lo..good_hi]
            };
            for &j in run {
                ctx.candidate::<FUNNEL>(i, j, p, &mut removed[pi], &mut passed[pi], best);
            }
        }
    }
    if FUNNEL {
        funnel.pairs_evaluated += in_window;
        for (pi, p) in plans.iter().enumerate() {
            let k = &mut funnel.kinds[kind_index(p.kind)];
            for (total, r) in k.removed.iter_mut().zip(&removed[pi]) {
                *total += r;
            }
            k.removed[Filter::Width as usize] += all_pairs - in_window;
            k.removed[Filter::OpenInterest as usize] += open_interest_rejects;
            k.removed[Filter::LegSpread as usize] += leg_spread_rejects;
            k.passed += passed[pi];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_round_half_even_and_tie_at_zero() {
        assert_eq!(rank_of(0.3e-9), 0.0);
        assert_eq!(rank_of(0.7e-9), 1.0);
        assert_eq!(
            rank_of(-0.4e-9).total_cmp(&rank_of(0.4e-9)),
            Ordering::Equal
        );
        // Far beyond i64: still ordered.
        assert!(rank_of(1e12) > rank_of(1e11));
    }

    #[test]
    fn cannot_take_only_when_the_rank_is_below_the_bar() {
        for bar_score in [
            -0.75, -1e-9, 0.0, 0.4e-9, 0.5e-9, 1.5e-9, 0.3, 12.5, 357.24, 4.6e6,
        ] {
            let rank = rank_of(bar_score);
            let mut top = TopK::new(1);
            top.skip_below = rank - 0.5;
            for k in -3000..=3000 {
                let score = bar_score + f64::from(k) * 1e-12 * (1.0 + bar_score.abs());
                if top.cannot_take(score) {
                    assert!(rank_of(score) < rank, "{score} vs the bar {bar_score}");
                }
            }
            assert!(!top.cannot_take(bar_score));
            assert!(!top.cannot_take(f64::NAN));
        }
        assert!(!TopK::new(1).cannot_take(f64::NEG_INFINITY));
    }

    #[test]
    fn the_cdf_bounds_hold_everywhere() {
        let b = CdfBounds::new();
        let mut x = -12.0;
        while x <= 12.0 {
            let (lo, hi) = b.bounds(x);
            let v = norm_cdf(x);
            assert!(lo <= v && v <= hi, "{x}: {lo} {v} {hi}");
            assert!(hi - lo < 0.01, "tight enough to decide: {x}");
            x += 0.000_731;
        }
        for x in [f64::NEG_INFINITY, f64::INFINITY, -10.0, 10.0, 0.0] {
            let (lo, hi) = b.bounds(x);
            assert!(lo <= norm_cdf(x) && norm_cdf(x) <= hi, "{x}");
        }
    }

    #[test]
    fn the_pop_floor_never_rejects_a_passing_probability() {
        for min_pop in [0.01, 0.1, 0.3, 0.4, 0.5, 0.75, 0.99, 1.0] {
            let floor = pop_floor(min_pop);
            assert!(norm_cdf(floor) < min_pop, "{min_pop}");
            // Just above the floor the CDF is within a hair of min_pop.
            assert!(min_pop - norm_cdf(floor + 1e-6) < 1e-6, "{min_pop}");
        }
        assert_eq!(pop_floor(0.0), f64::NEG_INFINITY);
    }
}
