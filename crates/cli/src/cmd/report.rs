//! `vspread report`: one self-contained HTML file from a data directory's
//! journal (inline SVG and CSS, no script, no network): the KPIs against
//! the plan's targets, equity and drawdown, daily P&L, fill rate, slippage,
//! time to fill, refusals by rule, the trades with R, the config versions
//! in force. The journal is opened read-only, so a running engine beside
//! it is fine.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use chrono_tz::America::New_York;
use clap::Args;
use vspread_engine::kpis::{JournalView, Period};
use vspread_journal::SqliteJournal;

use crate::report::TradingReport;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The data directory whose journal (journal.sqlite3) is reported.
    #[arg(long)]
    data_dir: PathBuf,
    /// The HTML file to write.
    #[arg(long)]
    out: PathBuf,
    /// First New York trading date reported (YYYY-MM-DD), or an RFC 3339
    /// instant.
    #[arg(long, value_parser = parse_from)]
    from: Option<DateTime<Utc>>,
    /// Last New York trading date reported (YYYY-MM-DD, included), or an
    /// RFC 3339 instant (excluded).
    #[arg(long, value_parser = parse_to)]
    to: Option<DateTime<Utc>>,
}

/// Midnight in New York of `date`, in UTC.
fn new_york_midnight(date: NaiveDate) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN);
    New_York
        .from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

fn parse_instant(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let date = if end_of_day {
            date.succ_opt().ok_or("date out of range")?
        } else {
            date
        };
        return Ok(new_york_midnight(date));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 instant"))
}

fn parse_from(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, false)
}

fn parse_to(text: &str) -> Result<DateTime<Utc>, String> {
    parse_instant(text, true)
}

/// Opens the journal of `data_dir` read-only, naming what is missing.
pub fn open_journal(data_dir: &Path) -> anyhow::Result<SqliteJournal> {
    let path = data_dir.join(vspread_journal::FILE_NAME);
    if !path.is_file() {
        anyhow::bail!(
            "no journal at {} (--data-dir names the directory an engine keeps its journal.sqlite3 in)",
            path.display()
        );
    }
    SqliteJournal::open_read_only(&path)
        .with_context(|| format!("opening {} read-only", path.display()))
}

/// Writes `html` to `out` through a temporary file, so a reader never
/// sees half a report.
pub fn write_html(out: &Path, html: &str) -> anyhow::Result<()> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        out.file_name()
            .map_or("report".into(), |n| n.to_string_lossy())
    ));
    std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from >= to
    {
        anyhow::bail!("--from {from} is not before --to {to}");
    }
    let journal = open_journal(&args.data_dir)?;
    let view = JournalView::read(&journal)
        .with_context(|| format!("reading the journal in {}", args.data_dir.display()))?;
    let period = Period {
        from: args.from,
        to: args.to,
    };
    let report = TradingReport::of(
        &view,
        &period,
        "vspread trading report",
        &args.data_dir.display().to_string(),
    );
    write_html(&args.out, &report.html())?;
    let k = &report.kpis;
    println!(
        "wrote {}: {} trades closed, realised {}, fill rate {}, slippage median {} % of width",
        args.out.display(),
        k.trades.closed,
        k.trades.realised_pnl.round_dp(2),
        k.orders
            .all
            .rate
            .map_or("–".into(), |r| format!("{:.1} %", r * 100.0)),
        k.slippage
            .median_pct
            .map_or("–".into(), |s| format!("{s:.3}")),
    );
    Ok(ExitCode::SUCCESS)
}
