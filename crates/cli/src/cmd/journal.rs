//! `vspread journal`: read what the engine recorded, without SQL. Opens the
//! journal read-only, so it can run beside a trading engine.

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use vspread_core::journal::{EventQuery, Journal};
use vspread_journal::{FILE_NAME, SqliteJournal};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Record {
    /// Every order: what was decided, how it ended, what filled.
    Orders,
    /// Every execution, leg and combo level, with its commission.
    Fills,
    /// Spreads, open and closed, with their P&L after commissions, the
    /// cash their fills moved so far, and their legs' conIds.
    Positions,
    /// Signals, scans, entry and exit decisions and refusals, with reasons.
    Decisions,
    /// Config applies and rollbacks, reloads, and control actions.
    Applies,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct JournalArgs {
    /// What to show.
    #[arg(value_enum)]
    record: Record,
    /// The data directory holding the journal (`[storage] data_dir`).
    #[arg(long, default_value = ".")]
    data_dir: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// For decisions and applies: the newest N (0 = all).
    #[arg(long, default_value_t = 200)]
    limit: usize,
}

pub fn run(args: JournalArgs) -> anyhow::Result<ExitCode> {
    let path = args.data_dir.join(FILE_NAME);
    if !path.exists() {
        anyhow::bail!(
            "no journal at {} (is --data-dir the engine's [storage] data_dir?)",
            path.display()
        );
    }
    let journal = SqliteJournal::open_read_only(&path)?;
    let rows = rows(&journal, args.record, args.limit)
        .with_context(|| format!("reading {}", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        Format::Table => write_table(&mut out, &rows)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The records as flat JSON objects (one shape for both formats).
fn rows(journal: &SqliteJournal, record: Record, limit: usize) -> anyhow::Result<Vec<Value>> {
    let events = |prefixes: &[&str]| -> anyhow::Result<Vec<Value>> {
        let query = EventQuery {
            kind_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            order_refs: None,
            limit,
            after: None,
            before: None,
        };
        Ok(journal
            .events(&query)?
            .into_iter()
            .map(|e| {
                json!({
                    "at": e.at.to_rfc3339(), "kind": e.kind, "message": e.message,
                    "data": serde_json::from_str::<Value>(&e.data).unwrap_or(Value::String(e.data)),
                })
            })
            .collect())
    };
    Ok(match record {
        Record::Orders => journal
            .orders()?
            .into_iter()
            .map(|o| {
                json!({
                    "order_ref": o.order.order_ref, "purpose": o.order.purpose,
                    "spread_ref": o.order.spread_ref, "symbol": o.order.symbol,
                    "kind": o.order.kind,
                    "strikes": format!("{}/{}", o.order.long.strike, o.order.short.strike),
                    "expiry": o.order.long.expiry, "quantity": o.order.quantity,
                    "limit": o.order.limit, "credit": o.order.credit, "mid": o.order.mid,
                    "reason": o.order.reason, "created_at": o.order.created_at.to_rfc3339(),
                    "broker_order_id": o.broker_order_id, "status": o.last_status,
                    "outcome": o.end.as_ref().map(|e| e.outcome.clone()),
                    "filled": o.filled, "average_net": o.average_net,
                    "slippage_vs_mid": o.average_net.map(|a| a - o.order.mid),
                    "commissions": o.commissions,
                })
            })
            .collect(),
        Record::Fills => journal
            .fills()?
            .into_iter()
            .map(|f| {
                json!({
                    "exec_id": f.exec_id, "order_ref": f.order_ref, "con_id": f.con_id,
                    "action": f.action, "quantity": f.quantity, "price": f.price,
                    "combo": f.combo, "time": f.time, "commission": f.commission,
                })
            })
            .collect(),
        Record::Positions => journal
            .spreads()?
            .into_iter()
            .map(|s| {
                json!({
                    "spread_ref": s.entry.order_ref, "symbol": s.entry.symbol,
                    "kind": s.entry.kind,
                    "strikes": format!("{}/{}", s.entry.long.strike, s.entry.short.strike),
                    "expiry": s.entry.long.expiry, "opened": s.opened, "closed": s.closed,
                    "open": s.open_quantity(), "entry_net": s.entry_average,
                    "commissions": s.commissions, "cash": s.cash,
                    "long_con_id": s.entry.long.con_id, "short_con_id": s.entry.short.con_id,
                    "realised": (!s.is_open()).then_some(s.cash),
                    "exit_reason": s.closure.as_ref().map(|c| c.reason.clone()),
                    "r_multiple": s.closure.as_ref().and_then(|c| c.r_multiple),
                    "opened_at": s.entry.created_at.to_rfc3339(),
                    "closed_at": s.closure.as_ref().map(|c| c.at.to_rfc3339()),
                })
            })
            .collect(),
        Record::Decisions => events(&[
            "signal.fired",
            "scan.",
            "decision.",
            "order.",
            "position.",
            "exit.",
            "entry.",
            "trade.",
            "breaker.",
            "recovery.",
        ])?,
        Record::Applies => events(&["config.", "control."])?,
    })
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => v.to_string(),
        other => other.to_string(),
    }
}

/// Columns in the rows' key order; events put their data last, unpadded.
fn write_table(out: &mut impl std::io::Write, rows: &[Value]) -> std::io::Result<()> {
    let Some(Value::Object(first)) = rows.first() else {
        return writeln!(out, "(nothing recorded)");
    };
    let columns: Vec<&String> = first.keys().collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| columns.iter().map(|c| cell(&r[c.as_str()])).collect())
        .collect();
    let last = columns.len() - 1;
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([columns[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |out: &mut dyn std::io::Write, values: Vec<&str>| -> std::io::Result<()> {
        let mut text = String::new();
        for (i, v) in values.iter().enumerate() {
            if i == last {
                text.push_str(v);
            } else {
                text.push_str(&format!("{v:<w$}  ", w = widths[i]));
            }
        }
        writeln!(out, "{}", text.trim_end())
    };
    line(out, columns.iter().map(|c| c.as_str()).collect())?;
    for r in &cells {
        line(out, r.iter().map(String::as_str).collect())?;
    }
    Ok(())
}
