//! How the trading went, from the journal alone: order fill rates,
//! slippage against the decision's mid as a share of the spread's width,
//! the time from a signal to its order and to its fill, win rate, R,
//! expectancy, realised P&L, drawdown and the refusals by rule, each with
//! the plan's target where it has one (fill rate above 98 %, slippage
//! under 0.5 % of the width, signal to order under 2 s).
//!
//! Pure functions over journal reads: [`JournalView::read`] takes what is
//! needed from a [`Journal`] (read-only is fine, beside a running engine),
//! and [`kpis`] (and [`trades`], [`equity`], [`daily_pnl`],
//! [`config_versions`] for the charts) compute over a [`Period`]. So
//! `vspread report`, `vspread simulate` and the admin API compute the same
//! figures the same way.
//!
//! Definitions (each field's doc says the same):
//! - An order counts toward the fill rate once it has ended at the gateway
//!   by its own course: filled, timed out, rejected, or cancelled by the
//!   gateway. Orders cancelled because someone asked (the kill switch, an
//!   operator, a shutdown, recovery after a restart) or never sent are
//!   left out: they say nothing about how the market filled them.
//! - Slippage is the fill's average net price against the combo mid the
//!   decision priced it at, in the direction that costs (paid more, or
//!   received less), per share, as a percentage of the strike width.
//!   Negative is price improvement.
//! - Times are on the engine's clock (the simulator's in `vspread
//!   simulate`): the signal's time is journaled with its entry order
//!   (`signal_at` in the order's context), an order's placement by its
//!   `order.placed` event, a fill by the time the journal recorded it.
//! - Percentiles interpolate linearly between the two nearest samples.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;
use vspread_core::OrderPurpose;
use vspread_core::journal::{
    EventQuery, FillRecord, Journal, JournalError, JournalEvent, OrderRecord, SpreadRecord,
};

/// The plan's fill-rate target: more than this share of orders fill.
pub const FILL_RATE_TARGET: f64 = 0.98;
/// The plan's slippage target: the median under this % of the width.
pub const SLIPPAGE_TARGET_PCT: f64 = 0.5;
/// The plan's latency target: 95 % of signals reach their order sooner.
pub const SIGNAL_TO_ORDER_TARGET_S: f64 = 2.0;

/// Bucket edges of the slippage histogram, in % of the width.
const SLIPPAGE_EDGES: [f64; 9] = [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, 5.0];
/// Bucket edges of the time histograms, in seconds.
const TIME_EDGES: [f64; 8] = [1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0];

/// The event kinds the KPIs read.
const EVENT_KINDS: [&str; 7] = [
    "order.placed",
    "order.ended",
    "decision.refused",
    "engine.started",
    "config.applied",
    "config.reloaded",
    "config.rolled_back",
];

/// A span of the engine's time, `[from, to)`; an open end is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, JsonSchema)]
pub struct Period {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

impl Period {
    /// Everything the journal holds.
    pub fn all() -> Self {
        Self::default()
    }

    /// The last `days` days up to `now` (what `GET /api/v1/kpis?days=N`
    /// asks for).
    pub fn last_days(now: DateTime<Utc>, days: u32) -> Self {
        Self {
            from: Some(now - chrono::Duration::days(i64::from(days))),
            to: None,
        }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from.is_none_or(|f| at >= f) && self.to.is_none_or(|t| at < t)
    }
}

/// What the KPIs are computed from: one read of the journal.
#[derive(Debug, Clone, Default)]
pub struct JournalView {
    pub orders: Vec<OrderRecord>,
    pub fills: Vec<FillRecord>,
    pub spreads: Vec<SpreadRecord>,
    /// Only the kinds the KPIs read, oldest first.
    pub events: Vec<JournalEvent>,
}

impl JournalView {
    /// Reads orders, fills, spreads and the events the KPIs need.
    pub fn read(journal: &dyn Journal) -> Result<Self, JournalError> {
        Ok(Self {
            orders: journal.orders()?,
            fills: journal.fills()?,
            spreads: journal.spreads()?,
            events: journal.events(&EventQuery {
                kind_prefixes: EVENT_KINDS.iter().map(|k| k.to_string()).collect(),
                order_refs: None,
                limit: 0,
                after: None,
                before: None,
            })?,
        })
    }

    fn events_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a JournalEvent, Json)> {
        self.events
            .iter()
            .filter(move |e| e.kind == kind)
            .map(|e| (e, serde_json::from_str(&e.data).unwrap_or(Json::Null)))
    }
}

/// Every figure, as the report and the admin API show them.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Kpis {
    pub period: Period,
    pub orders: OrderKpis,
    pub slippage: SlippageKpis,
    pub timing: TimingKpis,
    pub trades: TradeKpis,
    /// Entries refused, by the rule that refused them, most first.
    pub refusals: Vec<RefusalCount>,
    /// The plan's targets against what was measured.
    pub targets: Vec<TargetCheck>,
}

/// Fill rates of the orders decided in the period.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OrderKpis {
    pub all: FillRate,
    pub entry: FillRate,
    pub exit: FillRate,
}

/// How many orders filled of those that ended by their own course.
#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct FillRate {
    /// Ended at the gateway by their own course: filled, timed out,
    /// rejected, cancelled by the gateway.
    pub ended: u64,
    /// Filled completely.
    pub filled: u64,
    /// Ended with some but not all of their quantity filled.
    pub partially_filled: u64,
    /// Ended on a cancel someone asked for (kill switch, operator,
    /// shutdown, recovery), or never sent: not counted in `ended`.
    pub excluded: u64,
    /// Still working when the journal was read.
    pub working: u64,
    /// `filled / ended`; none before any order ended.
    pub rate: Option<f64>,
}

/// Slippage of filled orders against the decision's mid.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct SlippageKpis {
    /// Orders with fills measured.
    pub samples: u64,
    /// In % of the strike width (0.5 = half a percent); negative is price
    /// improvement.
    pub median_pct: Option<f64>,
    pub p95_pct: Option<f64>,
    pub mean_pct: Option<f64>,
    /// Counts by slippage, in % of the width.
    pub histogram: Vec<Bucket>,
}

/// One histogram bucket, `[from, to)`; an open end is unbounded.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Bucket {
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub count: u64,
}

/// A distribution of durations, in seconds of the engine's clock.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Distribution {
    pub count: u64,
    pub median_s: Option<f64>,
    pub p95_s: Option<f64>,
    pub max_s: Option<f64>,
    /// Counts by duration, in seconds.
    pub histogram: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TimingKpis {
    /// Entries: from the signal firing to the order placed at the gateway.
    pub signal_to_order: Distribution,
    /// Filled entries: from the signal firing to the order's last fill.
    pub signal_to_fill: Distribution,
    /// Filled orders (entries and exits): from placement to the last fill.
    pub time_to_fill: Distribution,
}

/// Spreads closed in the period.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TradeKpis {
    pub closed: u64,
    /// Closed with a positive realised P&L (after commissions).
    pub wins: u64,
    pub losses: u64,
    pub win_rate: Option<f64>,
    /// Mean R of every closed trade with an R.
    pub average_r: Option<f64>,
    pub average_win_r: Option<f64>,
    pub average_loss_r: Option<f64>,
    /// Mean realised P&L per closed trade (money, after commissions).
    pub expectancy: Option<Decimal>,
    /// `win_rate × average_win_r − (1 − win_rate) × |average_loss_r|`.
    pub expectancy_r: Option<f64>,
    /// Realised P&L of the closed trades, after commissions.
    pub realised_pnl: Decimal,
    /// Commissions of the closed trades.
    pub commissions: Decimal,
    /// Largest fall of the cumulative realised P&L from its peak (the
    /// period starting at zero), in money.
    pub max_drawdown: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RefusalCount {
    /// The rule's name (`max_positions`, `iv_circuit_breaker`, ...).
    pub rule: String,
    pub count: u64,
}

/// One of the plan's targets against the measured value.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TargetCheck {
    /// `fill_rate`, `slippage`, `signal_to_order`.
    pub kpi: String,
    /// The statistic compared (`rate`, `median`, `p95`).
    pub statistic: String,
    /// The target as people read it (`> 98 %`).
    pub target: String,
    pub value: Option<f64>,
    /// The value's unit (`%`, `% of width`, `s`).
    pub unit: String,
    /// None when nothing was measured.
    pub met: Option<bool>,
}

/// One closed trade.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Trade {
    /// The spread's entry order reference.
    pub spread_ref: String,
    pub symbol: String,
    /// `bull_call`, `bear_put`, ...
    pub kind: String,
    pub quantity: Decimal,
    pub opened_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    /// The exit rule that closed it.
    pub reason: String,
    /// After commissions.
    pub realised: Decimal,
    pub r_multiple: Option<f64>,
}

/// The cumulative realised P&L after one closed trade.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct EquityPoint {
    pub at: DateTime<Utc>,
    pub equity: Decimal,
    /// Below the peak so far (zero or positive).
    pub drawdown: Decimal,
}

/// Realised P&L of one New York trading date.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DailyPnl {
    pub date: NaiveDate,
    pub realised: Decimal,
    pub trades: u64,
}

/// A config version that came into force.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ConfigVersion {
    pub at: DateTime<Utc>,
    pub version: String,
    /// `start`, `apply`, `rollback` or `file`.
    pub origin: String,
    /// Who applied it, when an operator did.
    pub who: Option<String>,
    /// The keys it changed, with their new values (`key = value`).
    pub changes: Vec<String>,
}

fn seconds(d: chrono::Duration) -> f64 {
    d.num_microseconds()
        .map_or(d.num_seconds() as f64, |us| us as f64 / 1e6)
}

fn f64_of(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The `q` quantile (0..=1) of sorted `xs`, interpolating linearly.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    match sorted.len() {
        0 => None,
        1 => Some(sorted[0]),
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = pos.ceil() as usize;
            Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64))
        }
    }
}

fn histogram(samples: &[f64], edges: &[f64]) -> Vec<Bucket> {
    let mut buckets: Vec<Bucket> = Vec::with_capacity(edges.len() + 1);
    let mut from = None;
    for &edge in edges {
        buckets.push(Bucket {
            from,
            to: Some(edge),
            count: 0,
        });
        from = Some(edge);
    }
    buckets.push(Bucket {
        from,
        to: None,
        count: 0,
    });
    for &x in samples {
        let i = edges.iter().take_while(|&&e| x >= e).count();
        buckets[i].count += 1;
    }
    buckets
}

fn distribution(mut samples: Vec<f64>, edges: &[f64]) -> Distribution {
    samples.retain(|x| x.is_finite());
    samples.sort_by(f64::total_cmp);
    Distribution {
        count: samples.len() as u64,
        median_s: quantile(&samples, 0.5),
        p95_s: quantile(&samples, 0.95),
        max_s: samples.last().copied(),
        histogram: histogram(&samples, edges),
    }
}

/// How an ended order counts toward the fill rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndClass {
    Filled,
    Unfilled,
    Excluded,
}

/// The `order.ended` events' end tag and cancel reason, by order ref.
fn ends_by_ref(view: &JournalView) -> HashMap<String, (String, Option<String>)> {
    view.events_of("order.ended")
        .filter_map(|(_, data)| {
            let order_ref = data.get("order_ref")?.as_str()?.to_string();
            let end = data.get("end")?.as_str()?.to_string();
            let reason = data
                .get("reason")
                .and_then(|r| r.as_str())
                .map(str::to_string);
            Some((order_ref, (end, reason)))
        })
        .collect()
}

fn classify(order: &OrderRecord, ends: &HashMap<String, (String, Option<String>)>) -> EndClass {
    let Some(end) = &order.end else {
        return EndClass::Excluded;
    };
    match end.outcome.as_str() {
        "filled" => EndClass::Filled,
        "timed_out" | "rejected" => EndClass::Unfilled,
        // A cancel someone asked for carries its reason in `order.ended`;
        // one the gateway made does not.
        "cancelled" => match ends.get(&order.order.order_ref) {
            Some((_, Some(_))) => EndClass::Excluded,
            _ => EndClass::Unfilled,
        },
        _ => EndClass::Excluded,
    }
}

fn fill_rate<'a>(
    orders: impl Iterator<Item = &'a OrderRecord>,
    ends: &HashMap<String, (String, Option<String>)>,
) -> FillRate {
    let mut rate = FillRate::default();
    for o in orders {
        if o.end.is_none() {
            rate.working += 1;
            continue;
        }
        match classify(o, ends) {
            EndClass::Filled => {
                rate.ended += 1;
                rate.filled += 1;
            }
            EndClass::Unfilled => {
                rate.ended += 1;
                if !o.filled.is_zero() {
                    rate.partially_filled += 1;
                }
            }
            EndClass::Excluded => rate.excluded += 1,
        }
    }
    rate.rate = (rate.ended > 0).then(|| rate.filled as f64 / rate.ended as f64);
    rate
}

/// Slippage of one order's fills, in % of its width; `None` without fills.
pub fn slippage_pct(order: &OrderRecord) -> Option<f64> {
    let average = order.average_net?;
    if order.filled.is_zero() {
        return None;
    }
    let o = &order.order;
    let width = (o.long.strike - o.short.strike).abs();
    if width.is_zero() {
        return None;
    }
    let adverse = if o.credit {
        o.mid - average
    } else {
        average - o.mid
    };
    Some(f64_of(adverse / width) * 100.0)
}

/// When each order's last fill was recorded.
fn last_fills(view: &JournalView) -> HashMap<&str, DateTime<Utc>> {
    let mut last: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for f in &view.fills {
        let t = last.entry(f.order_ref.as_str()).or_insert(f.recorded_at);
        *t = (*t).max(f.recorded_at);
    }
    last
}

/// When each order was placed (its first `order.placed`).
fn placements(view: &JournalView) -> HashMap<String, DateTime<Utc>> {
    let mut placed = HashMap::new();
    for (e, data) in view.events_of("order.placed") {
        if let Some(r) = data.get("order_ref").and_then(|r| r.as_str()) {
            placed.entry(r.to_string()).or_insert(e.at);
        }
    }
    placed
}

/// When an entry's signal fired, from its journaled context.
fn signal_at(order: &OrderRecord) -> Option<DateTime<Utc>> {
    let context: Json = serde_json::from_str(&order.order.context).ok()?;
    let text = context.get("signal_at")?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn timing(view: &JournalView, orders: &[&OrderRecord]) -> TimingKpis {
    let placed = placements(view);
    let last_fill = last_fills(view);
    let (mut to_order, mut to_fill, mut fill_time) = (Vec::new(), Vec::new(), Vec::new());
    for o in orders {
        let order_ref = o.order.order_ref.as_str();
        let filled = o.end.as_ref().is_some_and(|e| e.outcome == "filled");
        let placed_at = placed.get(order_ref).copied();
        let filled_at = filled.then(|| last_fill.get(order_ref).copied()).flatten();
        if let (Some(p), Some(f)) = (placed_at, filled_at) {
            fill_time.push(seconds(f - p));
        }
        if o.order.purpose != OrderPurpose::Entry {
            continue;
        }
        let Some(signal) = signal_at(o) else {
            continue;
        };
        if let Some(p) = placed_at {
            to_order.push(seconds(p - signal));
        }
        if let Some(f) = filled_at {
            to_fill.push(seconds(f - signal));
        }
    }
    TimingKpis {
        signal_to_order: distribution(to_order, &TIME_EDGES),
        signal_to_fill: distribution(to_fill, &TIME_EDGES),
        time_to_fill: distribution(fill_time, &TIME_EDGES),
    }
}

fn trade_kpis(trades: &[Trade]) -> TradeKpis {
    let closed = trades.len() as u64;
    let wins: Vec<&Trade> = trades
        .iter()
        .filter(|t| t.realised > Decimal::ZERO)
        .collect();
    let losses = closed - wins.len() as u64;
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let rs: Vec<f64> = trades.iter().filter_map(|t| t.r_multiple).collect();
    let win_rs: Vec<f64> = trades
        .iter()
        .filter(|t| t.realised > Decimal::ZERO)
        .filter_map(|t| t.r_multiple)
        .collect();
    let loss_rs: Vec<f64> = trades
        .iter()
        .filter(|t| t.realised <= Decimal::ZERO)
        .filter_map(|t| t.r_multiple)
        .collect();
    let win_rate = (closed > 0).then(|| wins.len() as f64 / closed as f64);
    let realised: Decimal = trades.iter().map(|t| t.realised).sum();
    let (average_win_r, average_loss_r) = (mean(&win_rs), mean(&loss_rs));
    let expectancy_r = win_rate.map(|w| {
        w * average_win_r.unwrap_or(0.0) - (1.0 - w) * average_loss_r.unwrap_or(0.0).abs()
    });
    TradeKpis {
        closed,
        wins: wins.len() as u64,
        losses,
        win_rate,
        average_r: mean(&rs),
        average_win_r,
        average_loss_r,
        expectancy: (closed > 0).then(|| realised / Decimal::from(closed)),
        expectancy_r,
        realised_pnl: realised,
        commissions: Decimal::ZERO,
        max_drawdown: equity_of(trades)
            .iter()
            .map(|p| p.drawdown)
            .max()
            .unwrap_or_default(),
    }
}

fn refusals(view: &JournalView, period: &Period) -> Vec<RefusalCount> {
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    for (e, data) in view.events_of("decision.refused") {
        if !period.contains(e.at) {
            continue;
        }
        let rule = data
            .pointer("/refusal/rule")
            .and_then(|r| r.as_str())
            .unwrap_or("unknown");
        *by_rule.entry(rule.to_string()).or_default() += 1;
    }
    let mut out: Vec<RefusalCount> = by_rule
        .into_iter()
        .map(|(rule, count)| RefusalCount { rule, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then(a.rule.cmp(&b.rule)));
    out
}

fn targets(orders: &OrderKpis, slippage: &SlippageKpis, timing: &TimingKpis) -> Vec<TargetCheck> {
    let rate = orders.all.rate.map(|r| r * 100.0);
    vec![
        TargetCheck {
            kpi: "fill_rate".into(),
            statistic: "rate".into(),
            target: format!("> {} %", FILL_RATE_TARGET * 100.0),
            value: rate,
            unit: "%".into(),
            met: rate.map(|r| r > FILL_RATE_TARGET * 100.0),
        },
        TargetCheck {
            kpi: "slippage".into(),
            statistic: "median".into(),
            target: format!("< {SLIPPAGE_TARGET_PCT} % of width"),
            value: slippage.median_pct,
            unit: "% of width".into(),
            met: slippage.median_pct.map(|s| s < SLIPPAGE_TARGET_PCT),
        },
        TargetCheck {
            kpi: "signal_to_order".into(),
            statistic: "p95".into(),
            target: format!("< {SIGNAL_TO_ORDER_TARGET_S} s"),
            value: timing.signal_to_order.p95_s,
            unit: "s".into(),
            met: timing
                .signal_to_order
                .p95_s
                .map(|s| s < SIGNAL_TO_ORDER_TARGET_S),
        },
    ]
}

/// Every KPI over `period`: orders decided in it, trades closed in it,
/// refusals made in it.
pub fn kpis(view: &JournalView, period: &Period) -> Kpis {
    let ends = ends_by_ref(view);
    let orders: Vec<&OrderRecord> = view
        .orders
        .iter()
        .filter(|o| period.contains(o.order.created_at))
        .collect();
    let of = |purpose: OrderPurpose| {
        fill_rate(
            orders
                .iter()
                .copied()
                .filter(move |o| o.order.purpose == purpose),
            &ends,
        )
    };
    let order_kpis = OrderKpis {
        all: fill_rate(orders.iter().copied(), &ends),
        entry: of(OrderPurpose::Entry),
        exit: of(OrderPurpose::Exit),
    };
    let mut slips: Vec<f64> = orders.iter().filter_map(|o| slippage_pct(o)).collect();
    slips.sort_by(f64::total_cmp);
    let slippage = SlippageKpis {
        samples: slips.len() as u64,
        median_pct: quantile(&slips, 0.5),
        p95_pct: quantile(&slips, 0.95),
        mean_pct: (!slips.is_empty()).then(|| slips.iter().sum::<f64>() / slips.len() as f64),
        histogram: histogram(&slips, &SLIPPAGE_EDGES),
    };
    let timing = timing(view, &orders);
    let closed = trades(view, period);
    let mut trade_kpis = trade_kpis(&closed);
    trade_kpis.commissions = view
        .spreads
        .iter()
        .filter(|s| s.closure.as_ref().is_some_and(|c| period.contains(c.at)))
        .map(|s| s.commissions)
        .sum();
    Kpis {
        period: *period,
        targets: targets(&order_kpis, &slippage, &timing),
        orders: order_kpis,
        slippage,
        timing,
        trades: trade_kpis,
        refusals: refusals(view, period),
    }
}

/// The trades closed in `period`, in the order they closed.
pub fn trades(view: &JournalView, period: &Period) -> Vec<Trade> {
    let mut out: Vec<Trade> = view
        .spreads
        .iter()
        .filter_map(|s| {
            let c = s.closure.as_ref()?;
            period.contains(c.at).then(|| Trade {
                spread_ref: s.entry.order_ref.clone(),
                symbol: s.entry.symbol.clone(),
                kind: s.entry.kind.name().to_string(),
                quantity: s.opened,
                opened_at: s.entry.created_at,
                closed_at: c.at,
                reason: c.reason.clone(),
                realised: c.realised,
                r_multiple: c.r_multiple.filter(|r| r.is_finite()),
            })
        })
        .collect();
    out.sort_by_key(|t| t.closed_at);
    out
}

fn equity_of(trades: &[Trade]) -> Vec<EquityPoint> {
    let mut equity = Decimal::ZERO;
    let mut peak = Decimal::ZERO;
    trades
        .iter()
        .map(|t| {
            equity += t.realised;
            peak = peak.max(equity);
            EquityPoint {
                at: t.closed_at,
                equity,
                drawdown: peak - equity,
            }
        })
        .collect()
}

/// The cumulative realised P&L after each trade closed in `period`, from
/// zero, with the drawdown below its peak.
pub fn equity(view: &JournalView, period: &Period) -> Vec<EquityPoint> {
    equity_of(&trades(view, period))
}

/// Realised P&L per New York date of the trades closed in `period`.
pub fn daily_pnl(view: &JournalView, period: &Period) -> Vec<DailyPnl> {
    let mut days: BTreeMap<NaiveDate, (Decimal, u64)> = BTreeMap::new();
    for t in trades(view, period) {
        let day = days
            .entry(vspread_core::expiry::eastern_date(t.closed_at))
            .or_default();
        day.0 += t.realised;
        day.1 += 1;
    }
    days.into_iter()
        .map(|(date, (realised, trades))| DailyPnl {
            date,
            realised,
            trades,
        })
        .collect()
}

fn changes_of(data: &Json) -> Vec<String> {
    data.get("changes")
        .and_then(|c| c.as_array())
        .map(|changes| {
            changes
                .iter()
                .filter_map(|c| {
                    let path = c.get("path")?.as_str()?;
                    Some(format!("{path} = {}", c.get("new").unwrap_or(&Json::Null)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The config versions in force during `period`: the one in force at its
/// start (the last before it) and each that came into force within it, in
/// order.
pub fn config_versions(view: &JournalView, period: &Period) -> Vec<ConfigVersion> {
    let mut all: Vec<ConfigVersion> = Vec::new();
    for e in &view.events {
        let origin = match e.kind.as_str() {
            "engine.started" => "start",
            "config.applied" => "apply",
            "config.rolled_back" => "rollback",
            "config.reloaded" => "file",
            _ => continue,
        };
        let data: Json = serde_json::from_str(&e.data).unwrap_or(Json::Null);
        let version = data
            .get(if origin == "start" {
                "config_version"
            } else {
                "version"
            })
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        all.push(ConfigVersion {
            at: e.at,
            version,
            origin: origin.to_string(),
            who: data.get("who").and_then(|w| w.as_str()).map(str::to_string),
            changes: changes_of(&data),
        });
    }
    let before = period.from.map_or(0, |from| {
        all.iter().filter(|v| v.at < from).count().saturating_sub(1)
    });
    all.into_iter()
        .skip(before)
        .filter(|v| period.to.is_none_or(|to| v.at < to))
        .collect()
}

#[cfg(test)]
#[path = "kpis_tests.rs"]
mod tests;
