//! Self-contained HTML reports: one file with inline CSS and inline SVG,
//! no script and no network, that opens offline.
//!
//! - [`TradingReport`]: what `vspread report` and `vspread simulate` write
//!   from a journal: the KPIs against the plan's targets, the equity curve
//!   and drawdown, daily P&L, fill rates, slippage as a share of width and
//!   time to fill (histograms), refusals by rule, the trade list with R and
//!   the config versions in force. The figures are the engine's
//!   (`vspread_engine::kpis`), so the admin API shows the same.
//! - [`checks_page`]: a table of checks (`vspread validate --report`).
//!
//! Every string that comes from the journal is escaped.

pub mod html;
pub mod svg;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_engine::kpis::{
    self, Bucket, ConfigVersion, DailyPnl, Distribution, EquityPoint, FillRate, JournalView, Kpis,
    Period, Trade,
};

use html::{Cell, escape, section, table};
use svg::{Bar, Colour, Point};

/// Everything one trading report shows.
#[derive(Debug, Clone)]
pub struct TradingReport {
    pub title: String,
    /// Where the journal was read (a data directory).
    pub source: String,
    pub generated_at: DateTime<Utc>,
    pub kpis: Kpis,
    pub trades: Vec<Trade>,
    pub equity: Vec<EquityPoint>,
    pub daily: Vec<DailyPnl>,
    pub versions: Vec<ConfigVersion>,
    /// Lines shown under the title (a simulation's settings and its money
    /// check, say).
    pub notes: Vec<String>,
}

impl TradingReport {
    /// The report of `view` over `period`.
    pub fn of(view: &JournalView, period: &Period, title: &str, source: &str) -> Self {
        Self {
            title: title.to_string(),
            source: source.to_string(),
            generated_at: Utc::now(),
            kpis: kpis::kpis(view, period),
            trades: kpis::trades(view, period),
            equity: kpis::equity(view, period),
            daily: kpis::daily_pnl(view, period),
            versions: kpis::config_versions(view, period),
            notes: Vec::new(),
        }
    }

    /// The whole page.
    pub fn html(&self) -> String {
        let k = &self.kpis;
        let mut body = format!("<h1>{}</h1>\n", escape(&self.title));
        body.push_str(&format!(
            "<p class=\"meta\">{} · {} · generated {}</p>\n",
            escape(&self.source),
            escape(&period_text(&k.period)),
            escape(&self.generated_at.format("%Y-%m-%d %H:%M UTC").to_string())
        ));
        for note in &self.notes {
            body.push_str(&format!("<p class=\"meta\">{}</p>\n", escape(note)));
        }
        body.push_str(&section(
            "kpis",
            "KPIs against the plan's targets",
            &self.kpi_tables(),
        ));
        body.push_str(&section(
            "equity",
            "Equity curve and drawdown",
            &self.equity_charts(),
        ));
        body.push_str(&section("daily", "Daily P&L", &self.daily_chart()));
        body.push_str(&section("fills", "Fill rate", &fill_rate_chart(k)));
        body.push_str(&section(
            "slippage",
            "Slippage as a share of the spread's width",
            &slippage_chart(k),
        ));
        body.push_str(&section("timing", "Time to fill", &timing_chart(k)));
        body.push_str(&section("refusals", "Refusals by rule", &refusals_chart(k)));
        body.push_str(&section("trades", "Trades", &self.trade_table()));
        body.push_str(&section(
            "config",
            "Config versions in force",
            &self.config_table(),
        ));
        html::page(&self.title, &body)
    }

    fn kpi_tables(&self) -> String {
        let k = &self.kpis;
        let targets: Vec<Vec<Cell>> = k
            .targets
            .iter()
            .map(|t| {
                let verdict = match t.met {
                    Some(true) => Cell::Class("pass", "met".into()),
                    Some(false) => Cell::Class("fail", "missed".into()),
                    None => Cell::Class("na", "not measured".into()),
                };
                vec![
                    Cell::text(t.kpi.replace('_', " ")),
                    Cell::text(&t.statistic),
                    Cell::text(&t.target),
                    Cell::num(t.value.map_or("–".into(), |v| format!("{v:.3} {}", t.unit))),
                    verdict,
                ]
            })
            .collect();
        let o = &k.orders;
        let s = &k.slippage;
        let t = &k.timing;
        let tr = &k.trades;
        let rows = vec![
            figure_row(
                "orders ended (entries / exits)",
                format!("{} / {}", o.entry.ended, o.exit.ended),
            ),
            figure_row("fill rate (all)", rate_text(&o.all)),
            figure_row("fill rate (entries)", rate_text(&o.entry)),
            figure_row("fill rate (exits)", rate_text(&o.exit)),
            figure_row("partially filled", o.all.partially_filled.to_string()),
            figure_row(
                "slippage median / p95 / mean (% of width)",
                format!(
                    "{} / {} / {}",
                    opt(s.median_pct, 3),
                    opt(s.p95_pct, 3),
                    opt(s.mean_pct, 3)
                ),
            ),
            figure_row(
                "signal to order median / p95 (s)",
                dist_text(&t.signal_to_order),
            ),
            figure_row(
                "signal to fill median / p95 (s)",
                dist_text(&t.signal_to_fill),
            ),
            figure_row("time to fill median / p95 (s)", dist_text(&t.time_to_fill)),
            figure_row(
                "trades closed (wins / losses)",
                format!("{} ({} / {})", tr.closed, tr.wins, tr.losses),
            ),
            figure_row(
                "win rate",
                tr.win_rate
                    .map_or("–".into(), |w| format!("{:.1} %", w * 100.0)),
            ),
            figure_row(
                "average R (wins / losses)",
                format!(
                    "{} ({} / {})",
                    opt(tr.average_r, 2),
                    opt(tr.average_win_r, 2),
                    opt(tr.average_loss_r, 2)
                ),
            ),
            figure_row(
                "expectancy per trade",
                format!(
                    "{} ({} R)",
                    tr.expectancy.map_or("–".into(), money),
                    opt(tr.expectancy_r, 2)
                ),
            ),
            figure_row("realised P&L (after commissions)", money(tr.realised_pnl)),
            figure_row("commissions", money(tr.commissions)),
            figure_row("max drawdown", money(tr.max_drawdown)),
        ];
        format!(
            "{}{}",
            table(
                "targets",
                &["KPI", "statistic", "target", "measured", "verdict"],
                &targets
            ),
            table("figures", &["figure", "value"], &rows)
        )
    }

    fn equity_charts(&self) -> String {
        if self.equity.is_empty() {
            return html::empty("No trade closed in this period.");
        }
        let points = |f: &dyn Fn(&EquityPoint) -> Decimal| -> Vec<Point> {
            self.equity
                .iter()
                .map(|p| {
                    let v = f(p);
                    Point {
                        at: p.at,
                        value: v.to_f64().unwrap_or(0.0),
                        shown: v.round_dp(2).to_string(),
                    }
                })
                .collect()
        };
        format!(
            "{}{}",
            svg::line(
                "equity-curve",
                "Cumulative realised P&L after each closed trade (after commissions)",
                &points(&|p| p.equity),
                false
            ),
            svg::line(
                "drawdown-curve",
                "Drawdown below the equity curve's peak",
                &points(&|p| -p.drawdown),
                true
            )
        )
    }

    fn daily_chart(&self) -> String {
        if self.daily.is_empty() {
            return html::empty("No trade closed in this period.");
        }
        let bars: Vec<Bar> = self
            .daily
            .iter()
            .map(|d| Bar {
                label: d.date.format("%m-%d").to_string(),
                value: d.realised.to_f64().unwrap_or(0.0),
                shown: d.realised.round_dp(2).to_string(),
            })
            .collect();
        svg::bars(
            "daily-pnl",
            "Realised P&L per New York trading date",
            &bars,
            Colour::BySign,
        )
    }

    fn trade_table(&self) -> String {
        if self.trades.is_empty() {
            return html::empty("No trade closed in this period.");
        }
        let rows: Vec<Vec<Cell>> = self
            .trades
            .iter()
            .map(|t| {
                vec![
                    Cell::text(t.closed_at.format("%Y-%m-%d %H:%M").to_string()),
                    Cell::text(&t.symbol),
                    Cell::text(&t.kind),
                    Cell::num(t.quantity.normalize().to_string()),
                    Cell::text(t.opened_at.format("%Y-%m-%d %H:%M").to_string()),
                    Cell::text(&t.reason),
                    Cell::num(money(t.realised)),
                    Cell::num(opt(t.r_multiple, 2)),
                    Cell::text(&t.spread_ref),
                ]
            })
            .collect();
        table(
            "trade-list",
            &[
                "closed (UTC)",
                "symbol",
                "kind",
                "qty",
                "opened (UTC)",
                "exit",
                "realised",
                "R",
                "spread",
            ],
            &rows,
        )
    }

    fn config_table(&self) -> String {
        if self.versions.is_empty() {
            return html::empty("The journal records no config version for this period.");
        }
        let rows: Vec<Vec<Cell>> = self
            .versions
            .iter()
            .map(|v| {
                vec![
                    Cell::text(v.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
                    Cell::text(&v.version),
                    Cell::text(&v.origin),
                    Cell::text(v.who.clone().unwrap_or_default()),
                    Cell::text(if v.changes.is_empty() {
                        "–".to_string()
                    } else {
                        v.changes.join("; ")
                    }),
                ]
            })
            .collect();
        table(
            "config-versions",
            &["since", "version", "origin", "who", "changed keys"],
            &rows,
        )
    }
}

fn figure_row(name: &str, value: String) -> Vec<Cell> {
    vec![Cell::text(name), Cell::num(value)]
}

fn money(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

fn opt(v: Option<f64>, places: usize) -> String {
    v.map_or("–".into(), |v| format!("{v:.places$}"))
}

fn rate_text(r: &FillRate) -> String {
    match r.rate {
        Some(rate) => format!("{:.1} % ({} of {})", rate * 100.0, r.filled, r.ended),
        None => "–".into(),
    }
}

fn dist_text(d: &Distribution) -> String {
    format!(
        "{} / {} (n = {})",
        opt(d.median_s, 1),
        opt(d.p95_s, 1),
        d.count
    )
}

fn period_text(p: &Period) -> String {
    let f = |t: Option<DateTime<Utc>>| {
        t.map_or("…".into(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
    };
    if p.from.is_none() && p.to.is_none() {
        "the whole journal".into()
    } else {
        format!("{} to {}", f(p.from), f(p.to))
    }
}

fn bucket_label(b: &Bucket, unit: &str) -> String {
    match (b.from, b.to) {
        (None, Some(to)) => format!("< {to}{unit}"),
        (Some(from), None) => format!("≥ {from}{unit}"),
        (Some(from), Some(to)) => format!("{from}–{to}{unit}"),
        (None, None) => "all".into(),
    }
}

fn histogram_bars(buckets: &[Bucket], unit: &str) -> Vec<Bar> {
    buckets
        .iter()
        .map(|b| Bar {
            label: bucket_label(b, unit),
            value: b.count as f64,
            shown: b.count.to_string(),
        })
        .collect()
}

fn fill_rate_chart(k: &Kpis) -> String {
    let o = &k.orders;
    if o.all.ended == 0 {
        return html::empty("No order ended in this period.");
    }
    let bars: Vec<Bar> = [("all", &o.all), ("entries", &o.entry), ("exits", &o.exit)]
        .into_iter()
        .filter_map(|(label, r)| {
            r.rate.map(|rate| Bar {
                label: label.to_string(),
                value: rate * 100.0,
                shown: format!("{:.1}", rate * 100.0),
            })
        })
        .collect();
    svg::bars(
        "fill-rate-chart",
        &format!(
            "Orders filled, % of those ended by their own course (target > {} %); {} left out as cancelled on request",
            kpis::FILL_RATE_TARGET * 100.0,
            o.all.excluded
        ),
        &bars,
        Colour::Plain,
    )
}

fn slippage_chart(k: &Kpis) -> String {
    if k.slippage.samples == 0 {
        return html::empty("No fill in this period.");
    }
    svg::bars(
        "slippage-histogram",
        &format!(
            "Filled orders by slippage against the decision's mid, % of the strike width (median {} %, p95 {} %; target median < {} %)",
            opt(k.slippage.median_pct, 3),
            opt(k.slippage.p95_pct, 3),
            kpis::SLIPPAGE_TARGET_PCT
        ),
        &histogram_bars(&k.slippage.histogram, " %"),
        Colour::Plain,
    )
}

fn timing_chart(k: &Kpis) -> String {
    let t = &k.timing.time_to_fill;
    if t.count == 0 {
        return html::empty("No order filled in this period.");
    }
    svg::bars(
        "time-to-fill-histogram",
        &format!(
            "Filled orders by time from placement to the last fill, seconds of the engine's clock (median {} s, p95 {} s); signal to fill median {} s",
            opt(t.median_s, 1),
            opt(t.p95_s, 1),
            opt(k.timing.signal_to_fill.median_s, 1)
        ),
        &histogram_bars(&t.histogram, " s"),
        Colour::Plain,
    )
}

fn refusals_chart(k: &Kpis) -> String {
    if k.refusals.is_empty() {
        return html::empty("No entry was refused in this period.");
    }
    let bars: Vec<Bar> = k
        .refusals
        .iter()
        .map(|r| Bar {
            label: r.rule.clone(),
            value: r.count as f64,
            shown: r.count.to_string(),
        })
        .collect();
    svg::bars(
        "refusals-chart",
        "Entries refused, by the rule that refused them",
        &bars,
        Colour::Plain,
    )
}

/// One row of a checks table.
#[derive(Debug, Clone)]
pub struct CheckRow {
    pub name: String,
    /// `pass`, `fail` or `not observable`.
    pub status: String,
    pub measured: String,
    pub detail: String,
}

/// A page with one table of checks (`vspread validate --report FILE.html`).
pub fn checks_page(title: &str, notes: &[String], rows: &[CheckRow]) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape(title));
    for note in notes {
        body.push_str(&format!("<p class=\"meta\">{}</p>\n", escape(note)));
    }
    let cells: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let class = match r.status.as_str() {
                "pass" => "pass",
                "fail" => "fail",
                _ => "na",
            };
            vec![
                Cell::text(&r.name),
                Cell::Class(class, r.status.clone()),
                Cell::num(&r.measured),
                Cell::text(&r.detail),
            ]
        })
        .collect();
    body.push_str(&table(
        "checks",
        &["check", "result", "measured", "detail"],
        &cells,
    ));
    html::page(title, &body)
}
