//! `vspread token create|rotate|revoke|list`: the named admin and viewer
//! tokens of the admin API, kept hashed in `<data_dir>/tokens.json` (see
//! `vspread_server::tokens`). `create` and `rotate` print the new token
//! once, on stdout, and nothing else there (so `TOKEN=$(vspread token
//! create --name ci)` works); it is never stored or shown again. A running
//! engine reads the file again when it changes: a rotation or a revocation
//! holds from its next request.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use vspread_core::config::Config;
use vspread_server::Role;
use vspread_server::tokens::{TOKENS_FILE, TokenFile};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new token (prints it once).
    Create(TokenArgs),
    /// Replace a token's secret (prints the new one once; the old one stops working).
    Rotate(TokenArgs),
    /// Remove a token (it stops working at once).
    Revoke(TokenArgs),
    /// The tokens' names, roles and when they were made (never the secrets).
    List(WhereArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The token's name, as the audit trail records it (letters, digits, '.', '_', '-').
    #[arg(long, default_value = "admin")]
    name: String,
    /// What it may do: admin (everything) or viewer (read only). `create`
    /// defaults to admin; `rotate` keeps the role unless given.
    #[arg(long, value_enum)]
    role: Option<RoleArg>,
    #[command(flatten)]
    place: WhereArgs,
}

#[derive(Debug, Args)]
pub struct WhereArgs {
    /// The data directory (default: `[storage] data_dir` of --config).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The config file naming the data directory.
    #[arg(long, env = "VSPREAD_CONFIG", default_value = "config.toml")]
    config: PathBuf,
}

impl WhereArgs {
    fn tokens_file(&self) -> anyhow::Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.join(TOKENS_FILE));
        }
        let config = Config::load_file(&self.config).with_context(|| {
            format!(
                "reading {} for [storage] data_dir (or give --data-dir)",
                self.config.display()
            )
        })?;
        let base = self
            .config
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Ok(base.join(&config.storage.data_dir).join(TOKENS_FILE))
    }
}

pub fn run(command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create(a) => change(&a, |file| {
            let role = a.role.map_or(Role::Admin, Role::from);
            Ok(Some(file.create(&a.name, role)?))
        }),
        TokenCommand::Rotate(a) => change(&a, |file| {
            Ok(Some(file.rotate(&a.name, a.role.map(Role::from))?))
        }),
        TokenCommand::Revoke(a) => change(&a, |file| {
            file.revoke(&a.name)?;
            Ok(None)
        }),
        TokenCommand::List(place) => {
            let path = place.tokens_file()?;
            let file = TokenFile::load(&path)?;
            if file.tokens.is_empty() {
                eprintln!("no tokens in {}", path.display());
            }
            for t in &file.tokens {
                println!("{}\t{}\t{}", t.name, t.role.as_str(), t.created);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Loads the file, changes it, saves it; prints the new secret if any.
fn change(
    args: &TokenArgs,
    edit: impl FnOnce(&mut TokenFile) -> anyhow::Result<Option<String>>,
) -> anyhow::Result<ExitCode> {
    let path = args.place.tokens_file()?;
    let mut file = TokenFile::load(&path)?;
    let secret = edit(&mut file)?;
    file.save(&path)?;
    match secret {
        Some(secret) => {
            println!("{secret}");
            eprintln!(
                "token {:?} saved (hashed) in {}; this is the only time it is shown",
                args.name,
                path.display()
            );
        }
        None => eprintln!("token {:?} revoked in {}", args.name, path.display()),
    }
    Ok(ExitCode::SUCCESS)
}
