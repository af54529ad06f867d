//! `vspread config ...`: the config file's life cycle from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vspread_core::config::{Config, LoadError, config_schema, diff};
use vspread_engine::live_config::{LiveConfig, WatchOptions, watch};

/// Where the config file is; every `config` subcommand takes it.
#[derive(Debug, Args)]
pub struct ConfigPath {
    /// Path of config.toml.
    #[arg(
        long = "config",
        short = 'c',
        env = "VSPREAD_CONFIG",
        default_value = "config.toml"
    )]
    pub path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a config file; print every error with key path and line:column.
    Validate(ConfigPath),
    /// Print the JSON Schema of config.toml (types, defaults, bounds, units, descriptions).
    Schema,
    /// Show which keys differ between two config files (exit 0: same, 1: different).
    Diff {
        /// The old file.
        a: PathBuf,
        /// The new file.
        b: PathBuf,
    },
    /// Run the hot-reload watcher in the foreground and log every reload or
    /// refusal (edit the file or send SIGHUP); stops on Ctrl-C or SIGTERM.
    Watch(ConfigPath),
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Validate(p) => validate(&p.path),
        ConfigCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(config_schema())?);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Diff { a, b } => diff_files(&a, &b),
        ConfigCommand::Watch(p) => watch_file(&p.path),
    }
}

/// Loads a config file; invalid content is printed and becomes exit code 1,
/// I/O problems are errors with the path.
fn load_or_report(path: &Path) -> anyhow::Result<Result<Config, ExitCode>> {
    match Config::load_file(path) {
        Ok(config) => Ok(Ok(config)),
        Err(LoadError::Invalid(errors)) => {
            eprint!("{errors}");
            Ok(Err(ExitCode::from(1)))
        }
        Err(e @ LoadError::Io { .. }) => Err(e.into()),
    }
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    match load_or_report(path)? {
        Ok(_) => {
            println!("{}: valid", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

fn diff_files(a: &Path, b: &Path) -> anyhow::Result<ExitCode> {
    let old = match load_or_report(a)? {
        Ok(c) => c,
        Err(code) => return Ok(code_for_error(code)),
    };
    let new = match load_or_report(b)? {
        Ok(c) => c,
        Err(code) => return Ok(code_for_error(code)),
    };
    let changes = diff(&old, &new);
    for c in &changes {
        println!("{}: {} -> {}", c.path, c.old, c.new);
    }
    Ok(if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `diff` uses 1 for "different", so an invalid input file is 2 there.
fn code_for_error(_: ExitCode) -> ExitCode {
    ExitCode::from(2)
}

fn watch_file(path: &Path) -> anyhow::Result<ExitCode> {
    let live = match LiveConfig::load(path) {
        Ok(live) => live,
        Err(LoadError::Invalid(errors)) => {
            eprint!("{errors}");
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let _guard = watch(live.clone(), WatchOptions::default())
        .with_context(|| format!("watching {}", path.display()))?;
    tracing::info!(path = %path.display(), version = %live.current().version, "watching config");
    let mut stop = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])
    .context("installing the Ctrl-C handler")?;
    if let Some(sig) = stop.forever().next() {
        tracing::info!(signal = sig, "stopping");
    }
    Ok(ExitCode::SUCCESS)
}
