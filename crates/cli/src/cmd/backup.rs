//! `vspread backup` and `vspread restore`: the data directory's state in
//! one tar file, taken safely beside a running engine.
//!
//! A backup holds `vspread-backup.json` (what it is and what it holds),
//! `journal.sqlite3` (a copy as of one commit, through SQLite's online
//! backup: the engine keeps writing meanwhile), `config.toml` and the
//! config's backups (`backups/*.toml`). Admin tokens are deliberately left
//! out: a backup is not a secret store.
//!
//! A restore reads the whole archive into a staging folder beside the
//! target, checks the journal (SQLite's integrity check, a schema this
//! build knows) and the config (the same validation as `config validate`),
//! and only then moves the files into place. It refuses a data directory
//! that holds anything unless `--force` is given.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read as _};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use vspread_core::config::{Config, LoadError};
use vspread_engine::lock::{DataDirLock, LOCK_FILE};
use vspread_journal::FILE_NAME;
use vspread_journal::backup::{copy_consistent, verify};

/// The manifest's name inside the archive (its first entry).
const MANIFEST: &str = "vspread-backup.json";
/// What the manifest's `format` says.
const FORMAT: &str = "vspread-backup";
/// The archive layout this build writes and reads.
const VERSION: u64 = 1;
const CONFIG: &str = "config.toml";
const BACKUPS: &str = "backups";

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The data directory holding the journal (`[storage] data_dir`).
    #[arg(long)]
    data_dir: PathBuf,
    /// The archive to write (a tar file; must not exist).
    #[arg(long)]
    out: PathBuf,
    /// The engine's config file (default: config.toml in the data directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The archive `vspread backup` wrote.
    #[arg(long)]
    from: PathBuf,
    /// The data directory to restore into (created if missing).
    #[arg(long)]
    data_dir: PathBuf,
    /// Where the config file goes (default: config.toml in the data directory).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Restore into a data directory that is not empty, replacing the
    /// journal, the config and same-named config backups there. Stop the
    /// engine first.
    #[arg(long)]
    force: bool,
}

fn config_path(data_dir: &Path, config: Option<&PathBuf>) -> PathBuf {
    config.cloned().unwrap_or_else(|| data_dir.join(CONFIG))
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub fn backup(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let journal = args.data_dir.join(FILE_NAME);
    if !journal.is_file() {
        bail!(
            "no journal at {} (is --data-dir the engine's [storage] data_dir?)",
            journal.display()
        );
    }
    let config = config_path(&args.data_dir, args.config.as_ref());
    if !config.is_file() {
        bail!(
            "no config file at {}: give --config PATH, the file the engine runs with",
            config.display()
        );
    }
    if args.out.exists() {
        bail!(
            "{} exists already: a backup is only written to a new file",
            args.out.display()
        );
    }
    let out_dir = parent_of(&args.out);
    let staging = tempdir_in(&out_dir)?;

    let journal_copy = staging.path().join(FILE_NAME);
    let facts = copy_consistent(&journal, &journal_copy)
        .with_context(|| format!("copying the journal {}", journal.display()))?;
    // The config is replaced by rename on every save, so one read sees one version.
    let config_text = fs::read(&config).with_context(|| format!("reading {}", config.display()))?;
    let mut backups = config_backups(&parent_of(&config).join(BACKUPS))?;
    backups.sort();

    let mut files = vec![
        json!({"path": FILE_NAME, "bytes": file_len(&journal_copy)?}),
        json!({"path": CONFIG, "bytes": config_text.len()}),
    ];
    for b in &backups {
        files.push(json!({
            "path": format!("{BACKUPS}/{}", file_name(b)?),
            "bytes": file_len(b)?,
        }));
    }
    let manifest = json!({
        "format": FORMAT,
        "version": VERSION,
        "created_at": chrono::Utc::now().to_rfc3339(),
        "vspread_version": env!("CARGO_PKG_VERSION"),
        "journal_schema_version": facts.schema_version,
        "files": files,
    });

    let partial = out_dir.join(format!(
        ".{}.partial-{}",
        file_name(&args.out)?,
        std::process::id()
    ));
    let written = (|| -> anyhow::Result<()> {
        let file = File::create(&partial)?;
        let mut tar = tar::Builder::new(BufWriter::new(file));
        tar.mode(tar::HeaderMode::Deterministic);
        append_bytes(&mut tar, MANIFEST, &serde_json::to_vec_pretty(&manifest)?)?;
        append_file(&mut tar, FILE_NAME, &journal_copy)?;
        append_bytes(&mut tar, CONFIG, &config_text)?;
        for b in &backups {
            append_file(&mut tar, &format!("{BACKUPS}/{}", file_name(b)?), b)?;
        }
        let file = tar.into_inner()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&partial);
        return Err(e.context(format!("writing {}", partial.display())));
    }
    fs::rename(&partial, &args.out)
        .with_context(|| format!("renaming {} to {}", partial.display(), args.out.display()))?;
    sync_dir(&out_dir);
    println!(
        "backup written to {}: journal (schema {}, {} bytes), {}, {} config backup(s)",
        args.out.display(),
        facts.schema_version,
        facts.bytes,
        config.display(),
        backups.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let archive = File::open(&args.from)
        .with_context(|| format!("opening the backup {}", args.from.display()))?;
    let config_target = config_path(&args.data_dir, args.config.as_ref());
    let backups_target = parent_of(&config_target).join(BACKUPS);

    let created = !args.data_dir.exists();
    // A running engine holds the directory: restoring under it would swap
    // its journal from under it. The lock is held until the restore ends.
    let lock = DataDirLock::acquire(&args.data_dir).map_err(anyhow::Error::new);
    let checked = lock.and_then(|lock| {
        refuse_to_overwrite(&args, &config_target)?;
        Ok(lock)
    });
    let _lock = match checked {
        Ok(lock) => lock,
        Err(e) => {
            if created {
                let _ = fs::remove_dir_all(&args.data_dir);
            }
            return Err(e);
        }
    };
    let result = restore_into(&args, archive, &config_target, &backups_target);
    if result.is_err() && created {
        // Leave nothing behind for a restore that did not happen.
        let _ = fs::remove_dir_all(&args.data_dir);
    }
    result
}

/// Without `--force`, a restore goes into an empty directory only (the
/// lock file aside) and never replaces a config file.
fn refuse_to_overwrite(args: &RestoreArgs, config_target: &Path) -> anyhow::Result<()> {
    if args.force {
        return Ok(());
    }
    let present = entries_of(&args.data_dir)?;
    if !present.is_empty() {
        bail!(
            "{} is not empty ({}): restore into an empty or new directory, or give --force to replace the journal and config there (stop the engine first)",
            args.data_dir.display(),
            present.join(", ")
        );
    }
    if config_target.exists() {
        bail!(
            "{} exists: give --force to replace it",
            config_target.display()
        );
    }
    Ok(())
}

fn restore_into(
    args: &RestoreArgs,
    archive: File,
    config_target: &Path,
    backups_target: &Path,
) -> anyhow::Result<ExitCode> {
    let staging = tempdir_in(&args.data_dir)?;
    let staged = unpack(archive, &args.from, staging.path())?;

    let journal = staging.path().join(FILE_NAME);
    let facts = verify(&journal)
        .with_context(|| format!("the journal in {} cannot be restored", args.from.display()))?;
    if facts.schema_version != staged.journal_schema_version {
        bail!(
            "{}: the manifest says journal schema {}, the journal is schema {}",
            args.from.display(),
            staged.journal_schema_version,
            facts.schema_version
        );
    }
    let config_file = staging.path().join(CONFIG);
    let config = match Config::load_file(&config_file) {
        Ok(c) => c,
        Err(LoadError::Invalid(errors)) => bail!(
            "the config in {} is not valid for this vspread:\n{errors}",
            args.from.display()
        ),
        Err(e) => return Err(e.into()),
    };

    // Everything checked: move into place. A stale log beside the old
    // journal would be replayed into the restored one, so it goes first.
    for suffix in ["-wal", "-shm", "-journal"] {
        let stale = args.data_dir.join(format!("{FILE_NAME}{suffix}"));
        if stale.exists() {
            fs::remove_file(&stale).with_context(|| format!("removing {}", stale.display()))?;
        }
    }
    let target_journal = args.data_dir.join(FILE_NAME);
    move_into_place(&journal, &target_journal)?;
    if let Some(dir) = config_target.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    move_into_place(&config_file, config_target)?;
    if !staged.backups.is_empty() {
        fs::create_dir_all(backups_target)
            .with_context(|| format!("creating {}", backups_target.display()))?;
        for name in &staged.backups {
            move_into_place(
                &staging.path().join(BACKUPS).join(name),
                &backups_target.join(name),
            )?;
        }
        sync_dir(backups_target);
    }
    sync_dir(&args.data_dir);
    sync_dir(&parent_of(config_target));

    println!(
        "restored {} into {}: journal (schema {}, {} bytes), {}, {} config backup(s)",
        args.from.display(),
        args.data_dir.display(),
        facts.schema_version,
        facts.bytes,
        config_target.display(),
        staged.backups.len()
    );
    // The engine finds its journal at <config dir>/<data_dir>: say so if
    // that is not where it was just put.
    let expected = parent_of(config_target).join(&config.storage.data_dir);
    if !same_dir(&expected, &args.data_dir) {
        eprintln!(
            "note: {} says [storage] data_dir = {:?}, which is {}, not {}: move the journal there or change the key",
            config_target.display(),
            config.storage.data_dir,
            expected.display(),
            args.data_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What an archive held, once unpacked and checked against its manifest.
struct Staged {
    journal_schema_version: i64,
    /// File names under `backups/`.
    backups: Vec<String>,
}

/// Unpacks `archive` into `into`, accepting only the entries a backup
/// holds, each once, and checking them against the manifest.
fn unpack(archive: File, name: &Path, into: &Path) -> anyhow::Result<Staged> {
    let what = || format!("{} is not a vspread backup", name.display());
    let mut tar = tar::Archive::new(BufReader::new(archive));
    // The tar crate's errors quote the bytes it could not read: say what
    // is wrong without echoing a file that was never an archive.
    let not_tar = || anyhow::anyhow!("{}: it is not a tar archive", what());
    let mut entries = tar.entries().map_err(|_| not_tar())?;
    let manifest: Value = {
        let mut first = entries
            .next()
            .with_context(|| format!("{}: it is empty", what()))?
            .map_err(|_| not_tar())?;
        let path = first.path()?.to_string_lossy().into_owned();
        if path != MANIFEST {
            bail!("{}: its first entry is {path:?}, not {MANIFEST}", what());
        }
        let mut text = String::new();
        first
            .read_to_string(&mut text)
            .with_context(|| format!("{}: reading {MANIFEST}", name.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: {MANIFEST} is not JSON", name.display()))?
    };
    if manifest["format"] != FORMAT {
        bail!("{}: {MANIFEST} says format {}", what(), manifest["format"]);
    }
    if manifest["version"] != VERSION {
        bail!(
            "{}: archive layout version {} (this vspread reads version {VERSION})",
            name.display(),
            manifest["version"]
        );
    }
    let journal_schema_version =
        manifest["journal_schema_version"]
            .as_i64()
            .with_context(|| {
                format!(
                    "{}: {MANIFEST} has no journal_schema_version",
                    name.display()
                )
            })?;
    let mut expected: Vec<(String, u64)> = manifest["files"]
        .as_array()
        .with_context(|| format!("{}: {MANIFEST} has no files list", name.display()))?
        .iter()
        .map(|f| Some((f["path"].as_str()?.to_string(), f["bytes"].as_u64()?)))
        .collect::<Option<_>>()
        .with_context(|| {
            format!(
                "{}: {MANIFEST} lists a file without path or bytes",
                name.display()
            )
        })?;
    expected.sort();

    fs::create_dir(into.join(BACKUPS))?;
    let mut found: Vec<(String, u64)> = Vec::new();
    let mut backups = Vec::new();
    for entry in entries {
        let mut entry = entry.with_context(|| format!("reading {}", name.display()))?;
        let path = entry.path()?.into_owned();
        let shown = path.display().to_string();
        if !entry.header().entry_type().is_file() {
            bail!("{}: {shown:?} is not a plain file", what());
        }
        let target = match allowed(&path) {
            Some(Allowed::Journal) => into.join(FILE_NAME),
            Some(Allowed::Config) => into.join(CONFIG),
            Some(Allowed::Backup(file)) => {
                backups.push(file.clone());
                into.join(BACKUPS).join(file)
            }
            None => bail!("{}: unexpected entry {shown:?}", what()),
        };
        if found.iter().any(|(p, _)| *p == shown) {
            bail!("{}: {shown:?} appears twice", what());
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .with_context(|| format!("creating {}", target.display()))?;
        let bytes = std::io::copy(&mut entry, &mut out)
            .with_context(|| format!("{}: reading {shown:?}", name.display()))?;
        out.sync_all()?;
        found.push((shown, bytes));
    }
    found.sort();
    if found != expected {
        bail!(
            "{}: the archive does not hold what {MANIFEST} lists (listed {}; found {}); it may be truncated",
            name.display(),
            describe(&expected),
            describe(&found)
        );
    }
    for needed in [FILE_NAME, CONFIG] {
        if !found.iter().any(|(p, _)| p == needed) {
            bail!("{}: it holds no {needed}", what());
        }
    }
    Ok(Staged {
        journal_schema_version,
        backups,
    })
}

enum Allowed {
    Journal,
    Config,
    Backup(String),
}

/// The entries a backup may hold; nothing with `..`, absolute paths or
/// folders other than `backups/`.
fn allowed(path: &Path) -> Option<Allowed> {
    let parts: Vec<&str> = path
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [FILE_NAME] => Some(Allowed::Journal),
        [CONFIG] => Some(Allowed::Config),
        [BACKUPS, file] if file.ends_with(".toml") && !file.starts_with('.') => {
            Some(Allowed::Backup((*file).to_string()))
        }
        _ => None,
    }
}

fn describe(files: &[(String, u64)]) -> String {
    files
        .iter()
        .map(|(p, b)| format!("{p} {b} bytes"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The config backups in `dir` (none when it does not exist).
fn config_backups(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let listing = match fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    let mut files = Vec::new();
    for entry in listing {
        let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_file() && name.ends_with(".toml") && !name.starts_with('.') {
            files.push(path);
        }
    }
    Ok(files)
}

fn entries_of(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("listing {}", dir.display()))?;
    names.retain(|n| n != LOCK_FILE);
    names.sort();
    if names.len() > 5 {
        let more = names.len() - 4;
        names.truncate(4);
        names.push(format!("and {more} more"));
    }
    Ok(names)
}

fn append_bytes<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, path, bytes)
        .with_context(|| format!("adding {path}"))
}

fn append_file<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    file: &Path,
) -> anyhow::Result<()> {
    let mut f = File::open(file).with_context(|| format!("reading {}", file.display()))?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", file.display()))?;
    append_bytes(tar, path, &bytes)
}

fn file_len(path: &Path) -> anyhow::Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

fn file_name(path: &Path) -> anyhow::Result<String> {
    Ok(path
        .file_name()
        .with_context(|| format!("{} names no file", path.display()))?
        .to_string_lossy()
        .into_owned())
}

fn move_into_place(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::rename(from, to)
        .or_else(|_| fs::copy(from, to).map(|_| ()))
        .with_context(|| format!("putting {} in place", to.display()))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A staging folder that is removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

impl std::fmt::Debug for TempDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TempDir({})", self.0.display())
    }
}

fn tempdir_in(dir: &Path) -> anyhow::Result<TempDir> {
    let path = dir.join(format!(".vspread-staging-{}", std::process::id()));
    if path.exists() {
        fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok(TempDir(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_entries_of_a_backup_are_allowed() {
        assert!(matches!(
            allowed(Path::new(FILE_NAME)),
            Some(Allowed::Journal)
        ));
        assert!(matches!(allowed(Path::new(CONFIG)), Some(Allowed::Config)));
        assert!(matches!(
            allowed(Path::new("backups/config-20261122T114501.123Z.toml")),
            Some(Allowed::Backup(_))
        ));
        for bad in [
            "../journal.sqlite3",
            "/etc/passwd",
            "backups/../../x.toml",
            "backups/sub/x.toml",
            "backups/.hidden.toml",
            "admin.token",
            "journal.sqlite3-wal",
        ] {
            assert!(allowed(Path::new(bad)).is_none(), "{bad} was allowed");
        }
    }
}
