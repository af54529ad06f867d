//! `vspread config ...`: the config file's life cycle from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use vspread_core::config::{Config, LoadError, config_schema, diff};
use vspread_engine::config_store::{ConfigStore, SaveReport, StoreError};
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
    /// Write the commented default config.toml (every key with its default,
    /// unit and allowed values).
    Init {
        #[command(flatten)]
        config: ConfigPath,
        /// Replace an existing file (it is backed up first).
        #[arg(long)]
        force: bool,
    },
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
    /// List the backups kept beside the config file, newest first.
    Backups(ConfigPath),
    /// Restore a backup (validated, with the current file backed up first).
    Rollback {
        /// The backup id, as `config backups` lists it.
        id: String,
        #[command(flatten)]
        config: ConfigPath,
    },
    /// Set one key and save (validated, backed up, atomic; comments kept).
    /// VALUE is a TOML value (`1.5`, `true`, `["SPY", "QQQ"]`, `"13:30"`);
    /// a bare word is taken as a string.
    Set {
        /// Dotted key path, such as exits.stop_loss_atr_mult.
        key: String,
        #[arg(allow_hyphen_values = true)]
        value: String,
        #[command(flatten)]
        config: ConfigPath,
    },
    /// Run the hot-reload watcher in the foreground and log every reload or
    /// refusal (edit the file or send SIGHUP); stops on Ctrl-C or SIGTERM.
    Watch(ConfigPath),
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Init { config, force } => init(&config.path, force),
        ConfigCommand::Validate(p) => validate(&p.path),
        ConfigCommand::Backups(p) => backups(&p.path),
        ConfigCommand::Rollback { id, config } => {
            report_save(ConfigStore::new(&config.path).rollback(&id))
        }
        ConfigCommand::Set { key, value, config } => set(&config.path, &key, &value),
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
        // The notification targets' secrets must be where the file says,
        // as an engine starting on it would require.
        Ok(config) => match vspread_engine::notify::secrets::check(&config, path) {
            Err(errors) => {
                eprint!("{}", errors.with_source_name(path.display().to_string()));
                Ok(ExitCode::from(1))
            }
            Ok(()) => {
                println!("{}: valid", path.display());
                Ok(ExitCode::SUCCESS)
            }
        },
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

fn init(path: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let report = ConfigStore::new(path).init(force);
    match report {
        Ok(r) => {
            println!("wrote {}", path.display());
            if let Some(id) = r.backup_id {
                println!("previous file backed up as {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ StoreError::Exists { .. }) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn backups(path: &Path) -> anyhow::Result<ExitCode> {
    let list = ConfigStore::new(path).backups()?;
    if list.is_empty() {
        println!("no backups of {}", path.display());
    }
    for b in list {
        println!("{}  {}  {} bytes", b.id, b.time.to_rfc3339(), b.size);
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what a save did; invalid configs and unknown backups are exit 1.
fn report_save(result: Result<SaveReport, StoreError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(r) if r.changes.is_empty() => {
            println!("no change");
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            for c in &r.changes {
                println!("{}: {} -> {}", c.path, c.old, c.new);
            }
            if let Some(id) = r.backup_id {
                println!("previous file backed up as {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(StoreError::Invalid(errors)) => {
            eprint!("{errors}");
            Ok(ExitCode::from(1))
        }
        Err(e @ StoreError::UnknownBackup { .. }) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn set(path: &Path, key: &str, value: &str) -> anyhow::Result<ExitCode> {
    let store = ConfigStore::new(path);
    let loaded = store.load()?;
    let parsed = parse_value(value);
    let mut json = serde_json::to_value(&loaded.config)?;
    let mut slot = &mut json;
    for part in key.split('.') {
        // A missing key is inserted so validation names it (with a suggestion).
        let object = slot
            .as_object_mut()
            .with_context(|| format!("{key}: `{part}` is not inside a table"))?;
        slot = object
            .entry(part.to_string())
            .or_insert(serde_json::Value::Null);
    }
    *slot = parsed;
    let config = match Config::from_json(&json) {
        Ok(c) => c,
        Err(errors) => {
            eprint!("{}", errors.with_source_name(path.display().to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    report_save(store.save(&config, Some(&loaded.version)))
}

/// A TOML value literal as JSON; text that is not one is a string.
fn parse_value(text: &str) -> serde_json::Value {
    let doc = format!("v = {text}");
    toml::from_str::<toml::Table>(&doc)
        .ok()
        .and_then(|t| t.get("v").cloned())
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_else(|| serde_json::Value::String(text.to_string()))
}
