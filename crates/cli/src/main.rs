//! The `vspread` binary: parses the command line and wires the library
//! crates together for each subcommand. This is the only crate that uses
//! `anyhow`; libraries return typed errors and this edge adds context.

mod cmd;
mod logging;
mod report;
mod resident;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the scanner reads a million-row chain into many growing
/// column vectors from worker threads, where glibc's per-thread arenas grow
/// by mprotect calls and page faults that cost more than the parsing.
#[global_allocator]
static ALLOCATOR: vspread_alloc::MiMalloc = vspread_alloc::MiMalloc;

/// Find, open, manage and close vertical option spreads beside TWS / IB Gateway.
#[derive(Debug, Parser)]
#[command(name = "vspread", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create, check, compare, back up and roll back config.toml.
    #[command(subcommand)]
    Config(cmd::config::ConfigCommand),
    /// Rank the vertical spreads of an option chain CSV (see docs/scanner.md).
    Scan(cmd::scan::ScanArgs),
    /// Run the simulated IB gateway (TWS API wire protocol) on a TCP port.
    Sim(Box<cmd::sim::SimArgs>),
    /// Trade against TWS / IB Gateway (paper unless the config and --live say live).
    Run(cmd::run::RunArgs),
    /// Trade against the simulated gateway in this process: the whole stack, no TWS needed.
    Demo(cmd::demo::DemoArgs),
    /// Run the engine headless against the simulator for N market days, fast, and write its report.
    Simulate(cmd::simulate::SimulateArgs),
    /// Show what the engine recorded: orders, fills, positions, decisions, applies.
    Journal(cmd::journal::JournalArgs),
    /// Write a journal's KPIs, equity, fills and trades as one self-contained HTML file.
    Report(cmd::report::ReportArgs),
    /// Ask a running engine whether it is ready (exit 0) or not (exit 1).
    Healthcheck(cmd::healthcheck::HealthcheckArgs),
    /// Write the journal (a consistent copy, safe beside a running engine), the
    /// config and its backups to one tar file.
    Backup(cmd::backup::BackupArgs),
    /// Restore a backup into an empty data directory (or a used one with --force).
    Restore(cmd::backup::RestoreArgs),
    /// Check a TWS / IB Gateway setup and this machine against a config, with fixes.
    Doctor(cmd::doctor::DoctorArgs),
    /// Create, rotate, revoke and list the admin API's named tokens (kept hashed).
    #[command(subcommand)]
    Token(cmd::token::TokenCommand),
    /// Make a self-signed certificate for the admin server's TLS.
    #[command(subcommand)]
    Tls(cmd::tls::TlsCommand),
    /// Run the paper-trading validation against the configured gateway (paper accounts only).
    Validate(cmd::validate::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init_from_env();
    if matches!(
        cli.command,
        Command::Sim(_) | Command::Run(_) | Command::Demo(_)
    ) {
        resident::for_a_long_run();
    }
    let result = match cli.command {
        Command::Config(c) => cmd::config::run(c),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Sim(a) => cmd::sim::run_sim(*a),
        Command::Run(a) => cmd::run::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Journal(a) => cmd::journal::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Healthcheck(a) => cmd::healthcheck::run(a),
        Command::Backup(a) => cmd::backup::backup(a),
        Command::Restore(a) => cmd::backup::restore(a),
        Command::Doctor(a) => cmd::doctor::run(a),
        Command::Token(c) => cmd::token::run(c),
        Command::Tls(c) => cmd::tls::run(c),
        Command::Validate(a) => cmd::validate::run(a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
