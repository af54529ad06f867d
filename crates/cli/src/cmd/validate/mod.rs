//! `vspread validate`: the plan's paper-trading validation, run against the
//! configured gateway before a user trusts vspread with an account.
//!
//! It refuses, before any order, a config whose `[trading] mode` is live
//! and any account that is not a paper account (IB's paper accounts start
//! with `D`). Then, through the real broker layer and the engine's own
//! parts (its decision stages, its order manager and journal, in a
//! temporary data directory of its own), it checks in turn:
//!
//! | row | what is done | passes when |
//! |---|---|---|
//! | performance | a signal handed to the decision stages (market, chain, scan, size, preview) on the first universe symbol, the order journaled and placed | the order reaches the gateway within 2 s of the signal |
//! | order execution | that order, a one-lot far from the market: acknowledged, modified by its walk, cancelled; with `--fill`, a marketable one-lot filled and closed again | each step is confirmed by the gateway |
//! | connection handling | the broker layer drops its own connection | it is ready again, every held line subscribed again and quoting |
//! | sequence numbers | an order placed after the reconnect (and the `--fill` orders) | order ids strictly increase, no error 103 |
//! | partial fills | with `--fill`, a marketable two-lot | filled in more than one execution, each journaled once, adding up; else "not observable" |
//! | risk limits | an entry whose one-contract max loss exceeds `risk.max_order_value` through the size stage, and one past `max_positions` through the gate | both refused, and the gateway never hears of either |
//! | circuit breaker | the IV breaker on three live ATM IV readings, its limits set around them | trips, holds between the two limits (hysteresis), resets |
//!
//! Each row is pass, fail or not observable, with what was measured; the
//! table is printed, `--report FILE` writes it (JSON, or HTML for a
//! `.html` file), and the exit code is 1 when a row failed (2 when the
//! validation was refused or could not run).

mod checks;
mod session;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;
use vspread_core::config::{Config, TradingMode};
use vspread_engine::live_config::LiveConfig;

use crate::report::{CheckRow, checks_page};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The config whose gateway and account are validated.
    #[arg(long, default_value = "config.toml")]
    config: PathBuf,
    /// Also trade: a marketable one-lot filled and closed again, and a
    /// two-lot for partial fills (paper money, real fills).
    #[arg(long)]
    fill: bool,
    /// Write the table to FILE: JSON, or HTML when it ends in `.html`.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Seconds to wait for each confirmation from the gateway.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout_s: u64,
}

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    NotObservable,
}

impl Verdict {
    fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NotObservable => "not observable",
        }
    }
}

/// One row of the validation table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub check: &'static str,
    pub verdict: Verdict,
    /// The figure measured (`412 ms`, `ids 7 < 9 < 11`).
    pub measured: String,
    /// What was done and seen.
    pub detail: String,
}

impl Row {
    pub fn new(
        check: &'static str,
        verdict: Verdict,
        measured: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            check,
            verdict,
            measured: measured.into(),
            detail: detail.into(),
        }
    }
}

/// The whole validation, as `--report` writes it.
#[derive(Debug, Serialize)]
struct Report {
    gateway: String,
    account: String,
    fill: bool,
    passed: bool,
    rows: Vec<Row>,
}

/// Why the validation did not run: printed, exit 2.
fn refuse(why: String) -> anyhow::Result<ExitCode> {
    eprintln!("refused: {why}");
    Ok(ExitCode::from(2))
}

pub fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let live = LiveConfig::load(&args.config)
        .with_context(|| format!("loading {}", args.config.display()))?;
    let config: Config = live.current().config.as_ref().clone();
    if config.trading.mode == TradingMode::Live {
        return refuse(format!(
            "{} says [trading] mode = \"live\": vspread validate places orders and runs on a paper account only",
            args.config.display()
        ));
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    let timeout = Duration::from_secs(args.timeout_s.max(1));
    runtime.block_on(async move {
        let account = match session::paper_account(&config).await {
            Ok(a) => a,
            Err(session::AccountRefusal::Live(account)) => {
                return refuse(format!(
                    "the gateway at {}:{} is logged in to account {account}, which is not a paper account (paper accounts start with D); log in with your paper trading username",
                    config.ibkr.host, config.ibkr.port
                ));
            }
            Err(session::AccountRefusal::Unavailable(why)) => {
                anyhow::bail!("cannot read the gateway's accounts: {why}")
            }
        };
        println!(
            "validating {}:{} (paper account {account}){}",
            config.ibkr.host,
            config.ibkr.port,
            if args.fill { ", with fills" } else { "" }
        );
        let session = session::Session::start(&config, timeout).await?;
        let rows = checks::run_all(&session, args.fill).await;
        session.stop().await;
        print_table(&rows);
        let passed = rows.iter().all(|r| r.verdict != Verdict::Fail);
        if let Some(path) = &args.report {
            let report = Report {
                gateway: format!("{}:{}", config.ibkr.host, config.ibkr.port),
                account: account.clone(),
                fill: args.fill,
                passed,
                rows: rows.clone(),
            };
            write_report(path, &report)?;
            println!("report: {}", path.display());
        }
        Ok(if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    })
}

fn print_table(rows: &[Row]) {
    let width =
        |f: &dyn Fn(&Row) -> usize, title: usize| rows.iter().map(f).max().unwrap_or(0).max(title);
    let (c, v, m) = (
        width(&|r| r.check.len(), 5),
        width(&|r| r.verdict.name().len(), 6),
        width(&|r| r.measured.chars().count(), 8),
    );
    println!("{:c$}  {:v$}  {:m$}  detail", "check", "result", "measured");
    for r in rows {
        println!(
            "{:c$}  {:v$}  {:m$}  {}",
            r.check,
            r.verdict.name(),
            r.measured,
            r.detail
        );
    }
}

fn write_report(path: &std::path::Path, report: &Report) -> anyhow::Result<()> {
    let html = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = if html {
        let rows: Vec<CheckRow> = report
            .rows
            .iter()
            .map(|r| CheckRow {
                name: r.check.to_string(),
                status: r.verdict.name().to_string(),
                measured: r.measured.clone(),
                detail: r.detail.clone(),
            })
            .collect();
        checks_page(
            "vspread paper-trading validation",
            &[
                format!(
                    "gateway {}, paper account {}",
                    report.gateway, report.account
                ),
                format!(
                    "{}{}",
                    if report.passed {
                        "no check failed"
                    } else {
                        "a check failed"
                    },
                    if report.fill { " (with fills)" } else { "" }
                ),
            ],
            &rows,
        )
    } else {
        serde_json::to_string_pretty(report)? + "\n"
    };
    super::report::write_html(path, &text)
}
