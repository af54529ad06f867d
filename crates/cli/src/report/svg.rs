//! Inline SVG charts: bars (daily P&L, histograms, rates, refusals) and a
//! line over time (equity, drawdown). Each mark carries its value in
//! `data-value` (the exact figure, as text) and a `<title>` a browser shows
//! on hover, so the chart reads without script and a test can check every
//! number it draws.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::html::escape;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 48.0;

const POSITIVE: &str = "#2f7d4f";
const NEGATIVE: &str = "#b3261e";
const NEUTRAL: &str = "#3867b5";

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    /// Where the bar reaches.
    pub value: f64,
    /// The figure as shown and carried in `data-value`.
    pub shown: String,
}

/// How bars are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// Green above zero, red below (P&L).
    BySign,
    /// One colour.
    Plain,
}

fn axis_label(value: f64) -> String {
    if value.abs() >= 1000.0 || value == value.trunc() {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The frame, zero line and the y axis's labels for values in `lo..=hi`;
/// returns the markup and the y of a value.
fn frame(lo: f64, hi: f64) -> (String, impl Fn(f64) -> f64) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    };
    let plot = HEIGHT - TOP - BOTTOM;
    let y = move |v: f64| TOP + (hi - v) / (hi - lo) * plot;
    let mut out = String::new();
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{:.1}\" stroke=\"#9aa3b2\"/>",
        HEIGHT - BOTTOM
    );
    let mut ticks = vec![lo, hi];
    if lo < 0.0 && hi > 0.0 {
        ticks.push(0.0);
    }
    for t in ticks {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT - 6.0,
            y(t) + 4.0,
            escape(&axis_label(t))
        );
    }
    let zero = y(0.0_f64.clamp(lo, hi));
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{zero:.1}\" x2=\"{:.1}\" y2=\"{zero:.1}\" stroke=\"#9aa3b2\"/>",
        WIDTH - RIGHT
    );
    (out, y)
}

fn open_svg(id: &str, label: &str) -> String {
    format!(
        "<svg id=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" aria-label=\"{}\">",
        escape(id),
        escape(label)
    )
}

fn figure(svg: &str, caption: &str) -> String {
    format!(
        "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(caption)
    )
}

/// A bar chart with `id`; `caption` under it.
pub fn bars(id: &str, caption: &str, bars: &[Bar], colour: Colour) -> String {
    let lo = bars.iter().map(|b| b.value).fold(0.0, f64::min);
    let hi = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let (mut out, y) = frame(lo, hi);
    let slot = (WIDTH - LEFT - RIGHT) / bars.len().max(1) as f64;
    let width = (slot * 0.7).max(1.0);
    // Label every bar when they fit, else about 12 of them.
    let label_every = bars.len().div_ceil(12).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - width) / 2.0;
        let (top, bottom) = if b.value >= 0.0 {
            (y(b.value), y(0.0_f64.max(lo)))
        } else {
            (y(0.0_f64.min(hi)), y(b.value))
        };
        let fill = match colour {
            Colour::BySign if b.value < 0.0 => NEGATIVE,
            Colour::BySign => POSITIVE,
            Colour::Plain => NEUTRAL,
        };
        let _ = write!(
            out,
            "<rect class=\"bar\" data-label=\"{}\" data-value=\"{}\" x=\"{x:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}: {}</title></rect>",
            escape(&b.label),
            escape(&b.shown),
            (bottom - top).max(0.5),
            escape(&b.label),
            escape(&b.shown)
        );
        if i % label_every == 0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + width / 2.0,
                HEIGHT - BOTTOM + 16.0,
                escape(&b.label)
            );
        }
    }
    figure(&format!("{}{out}</svg>", open_svg(id, caption)), caption)
}

/// One point of a line.
#[derive(Debug, Clone)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub value: f64,
    /// The figure as shown and carried in `data-value`.
    pub shown: String,
}

/// A line over time with `id`, a marker at each point.
pub fn line(id: &str, caption: &str, points: &[Point], colour_negative: bool) -> String {
    let lo = points.iter().map(|p| p.value).fold(0.0, f64::min);
    let hi = points.iter().map(|p| p.value).fold(0.0, f64::max);
    let (mut out, y) = frame(lo, hi);
    let (first, last) = match (points.first(), points.last()) {
        (Some(f), Some(l)) => (f.at.timestamp() as f64, l.at.timestamp() as f64),
        _ => (0.0, 1.0),
    };
    let span = (last - first).max(1.0);
    let plot = WIDTH - LEFT - RIGHT - 8.0;
    let x = |at: &DateTime<Utc>| {
        if points.len() < 2 {
            LEFT + plot / 2.0
        } else {
            LEFT + 4.0 + (at.timestamp() as f64 - first) / span * plot
        }
    };
    let colour = if colour_negative { NEGATIVE } else { NEUTRAL };
    let coords: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(&p.at), y(p.value)))
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
        coords.join(" ")
    );
    for p in points {
        let at = p.at.format("%Y-%m-%d %H:%M UTC").to_string();
        let _ = write!(
            out,
            "<circle class=\"point\" data-at=\"{}\" data-value=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}: {}</title></circle>",
            escape(&p.at.to_rfc3339()),
            escape(&p.shown),
            x(&p.at),
            y(p.value),
            escape(&at),
            escape(&p.shown)
        );
    }
    if let (Some(f), Some(l)) = (points.first(), points.last()) {
        for (anchor, p, tx) in [("start", f, LEFT + 4.0), ("end", l, WIDTH - RIGHT)] {
            let _ = write!(
                out,
                "<text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                HEIGHT - BOTTOM + 16.0,
                escape(&p.at.format("%Y-%m-%d").to_string())
            );
        }
    }
    figure(&format!("{}{out}</svg>", open_svg(id, caption)), caption)
}
