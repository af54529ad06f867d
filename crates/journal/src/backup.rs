//! Consistent copies of a journal file, safe beside a running engine.
//!
//! [`copy_consistent`] uses SQLite's online backup API: one step copies
//! every page under one read transaction, so the copy is the journal as of
//! one commit. In WAL mode that read transaction does not block the
//! engine's writers (their commits go on into the log; the checkpointer
//! only waits to fold past the copy's snapshot), so an engine trading
//! beside it never waits for the copy. The copy is then switched to a
//! rollback journal (one self-contained file, no `-wal` beside it) and
//! checked with `PRAGMA integrity_check`.
//!
//! [`verify`] checks a file before it is put in place as a journal.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use crate::schema;

/// How long a copy waits for a source that stays locked.
const BUSY_DEADLINE: Duration = Duration::from_secs(30);

/// Why a copy or a check failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("no journal at {path}")]
    Missing { path: PathBuf },
    #[error("{path} exists already; a copy is only written to a new file")]
    TargetExists { path: PathBuf },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path} stayed locked for {}s; the copy was not taken", BUSY_DEADLINE.as_secs())]
    Busy { path: PathBuf },
    #[error("{path} failed SQLite's integrity check: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error(
        "{path} is not a vspread journal (schema version {found}; this vspread knows 1 to {known})"
    )]
    NotAJournal {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// What a copy or a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalFacts {
    /// The journal's schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// Size of the database in bytes (pages times page size).
    pub bytes: u64,
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> CopyError + '_ {
    move |source| CopyError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies the journal at `source` to the new file `target` as of one
/// commit, while other connections (an engine in another process) may go
/// on writing to it. `target` must not exist.
pub fn copy_consistent(source: &Path, target: &Path) -> Result<JournalFacts, CopyError> {
    if !source.is_file() {
        return Err(CopyError::Missing {
            path: source.to_path_buf(),
        });
    }
    if target.exists() {
        return Err(CopyError::TargetExists {
            path: target.to_path_buf(),
        });
    }
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(source))?;
    from.busy_timeout(Duration::from_secs(5))
        .map_err(sqlite(source))?;
    let mut to = Connection::open_with_flags(
        target,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(target))?;
    {
        let backup = Backup::new(&from, &mut to).map_err(sqlite(target))?;
        let started = Instant::now();
        loop {
            // -1: every page in one step, under one read transaction.
            match backup.step(-1).map_err(sqlite(source))? {
                StepResult::Done => break,
                StepResult::More => {}
                // Busy or Locked (the enum is non-exhaustive: anything
                // new is a reason to wait and try again, up to the deadline).
                _ => {
                    if started.elapsed() > BUSY_DEADLINE {
                        return Err(CopyError::Busy {
                            path: source.to_path_buf(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
    drop(from);
    // The copy carries the source's WAL setting; make it one file.
    to.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(sqlite(target))?;
    let facts = check(&to, target)?;
    to.close().map_err(|(_, e)| sqlite(target)(e))?;
    Ok(facts)
}

/// Checks that `path` is a sound journal this vspread can open: SQLite's
/// integrity check passes and its schema version is one this build knows.
pub fn verify(path: &Path) -> Result<JournalFacts, CopyError> {
    if !path.is_file() {
        return Err(CopyError::Missing {
            path: path.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(path))?;
    let facts = check(&conn, path)?;
    if facts.schema_version < 1 || facts.schema_version > schema::VERSION {
        return Err(CopyError::NotAJournal {
            path: path.to_path_buf(),
            found: facts.schema_version,
            known: schema::VERSION,
        });
    }
    Ok(facts)
}

fn check(conn: &Connection, path: &Path) -> Result<JournalFacts, CopyError> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(sqlite(path))?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sqlite(path))?
        .collect::<Result<_, _>>()
        .map_err(sqlite(path))?;
    if problems != ["ok"] {
        return Err(CopyError::Corrupt {
            path: path.to_path_buf(),
            detail: problems.join("; "),
        });
    }
    let pragma = |name: &str| -> Result<i64, CopyError> {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .map_err(sqlite(path))
    };
    let schema_version = pragma("user_version")?;
    let bytes = pragma("page_count")? * pragma("page_size")?;
    Ok(JournalFacts {
        schema_version,
        bytes: u64::try_from(bytes).unwrap_or(0),
    })
}
