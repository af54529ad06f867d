//! `vspread scan`: rank the vertical spreads of an option chain CSV.

use std::io::{BufWriter, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use vspread_analytics::scanner::csv::read_chain;
use vspread_analytics::scanner::{Funnel, scan, scan_rows, write_csv, write_json, write_table};
use vspread_core::config::{Config, LoadError};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The option chain CSV (columns as in docs/scanner.md, any order).
    #[arg(long)]
    chain: PathBuf,
    /// config.toml whose [scanner] section sets the filters (defaults without it).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also print the filter funnel (to stderr): how many candidates each filter removed, per kind.
    #[arg(long)]
    explain: bool,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        None => Config::default(),
        Some(path) => match Config::load_file(path) {
            Ok(c) => c,
            Err(LoadError::Invalid(errors)) => {
                eprint!("{errors}");
                return Ok(ExitCode::from(2));
            }
            Err(e) => return Err(e.into()),
        },
    };
    let t0 = Instant::now();
    let bytes = std::fs::read(&args.chain)
        .with_context(|| format!("cannot read chain file {}", args.chain.display()))?;
    let read = read_chain(&bytes).with_context(|| format!("{}", args.chain.display()))?;
    let parsed = t0.elapsed();
    // The funnel's exact counts cost time; only --explain prints them. The
    // rows are the same either way.
    let (rows, funnel): (_, Option<Funnel>) = if args.explain {
        let result = scan(&read.chain, &config.scanner);
        (result.rows, Some(result.funnel))
    } else {
        (scan_rows(&read.chain, &config.scanner), None)
    };
    let scanned = t0.elapsed() - parsed;

    let name = args.chain.display();
    for bad in &read.bad_rows {
        eprintln!("{name}: bad row skipped: {bad}");
    }
    if !read.bad_rows.is_empty() {
        eprintln!(
            "{name}: {} bad row(s) of {} skipped",
            read.bad_rows.len(),
            read.rows
        );
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Table => write_table(&mut out, &rows)?,
        Format::Csv => write_csv(&mut out, &rows)?,
        Format::Json => write_json(&mut out, &rows)?,
    }
    out.flush()?;
    if let Some(funnel) = funnel {
        eprint!("{funnel}");
        eprintln!(
            "{} options in {} underlyings; {} candidates, {} evaluated within the width bounds; parsed in {:.1} ms, scanned in {:.1} ms",
            read.chain.len(),
            read.chain.underlying_count(),
            funnel.candidates(),
            funnel.pairs_evaluated,
            parsed.as_secs_f64() * 1e3,
            scanned.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}
