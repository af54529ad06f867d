//! vspread's journal over SQLite: one file (`journal.sqlite3` in the data
//! directory), WAL mode, `synchronous = FULL`, so every write has reached the
//! disk when it returns and a crash loses nothing written. This is the only
//! crate that speaks SQL; the engine sees [`vspread_core::journal::Journal`].
//!
//! Writers share one connection behind a mutex (writes are small and
//! serialised by SQLite anyway); readers such as `vspread journal` open the
//! file read-only beside a running engine, which WAL allows.

mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use vspread_core::journal::JournalError;

pub use schema::VERSION as SCHEMA_VERSION;

/// The journal's file name inside the data directory.
pub const FILE_NAME: &str = "journal.sqlite3";

/// Why the journal file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the journal is schema version {found}, newer than this vspread knows ({known})")]
    TooNew { found: i64, known: i64 },
    #[error("cannot open the journal {path}: {source}")]
    Open {
        path: PathBuf,
        source: Box<StoreError>,
    },
}

impl From<StoreError> for JournalError {
    fn from(e: StoreError) -> Self {
        JournalError::Storage(e.to_string())
    }
}

pub(crate) fn storage(e: rusqlite::Error) -> JournalError {
    JournalError::Storage(e.to_string())
}

/// The journal in one SQLite file.
#[derive(Debug)]
pub struct SqliteJournal {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteJournal {
    /// Opens (creating and migrating if needed) the journal in `data_dir`.
    pub fn open_in(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open(&data_dir.join(FILE_NAME))
    }

    /// Opens (creating and migrating if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let wrap = |e: StoreError| StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let mut conn = Connection::open(path).map_err(|e| wrap(e.into()))?;
        configure(&conn).map_err(|e| wrap(e.into()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| wrap(e.into()))?;
        schema::migrate(&mut conn).map_err(wrap)?;
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing journal for reading only (beside a running engine).
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let wrap = |e: StoreError| StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(e),
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| wrap(e.into()))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(|e| wrap(e.into()))?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| wrap(e.into()))?;
        if found != schema::VERSION {
            return Err(wrap(StoreError::TooNew {
                found,
                known: schema::VERSION,
            }));
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every
        // write is a transaction), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    // FULL in WAL mode syncs the log at every commit: durable on return.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl vspread_core::journal::Journal for SqliteJournal {
    fn record_order(
        &self,
        order: &vspread_core::journal::JournaledOrder,
    ) -> Result<(), JournalError> {
        write::record_order(&self.conn(), order)
    }

    fn record_order_event(
        &self,
        event: &vspread_core::broker::OrderEvent,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, JournalError> {
        write::record_order_event(&mut self.conn(), event, at)
    }

    fn record_order_end(
        &self,
        order_ref: &str,
        end: &vspread_core::journal::OrderEnd,
    ) -> Result<(), JournalError> {
        write::record_order_end(&self.conn(), order_ref, end)
    }

    fn record_closure(
        &self,
        closure: &vspread_core::journal::SpreadClosure,
    ) -> Result<(), JournalError> {
        write::record_closure(&self.conn(), closure)
    }

    fn record_event(
        &self,
        event: &vspread_core::journal::JournalEvent,
    ) -> Result<(), JournalError> {
        write::record_event(&self.conn(), event)
    }

    fn orders(&self) -> Result<Vec<vspread_core::journal::OrderRecord>, JournalError> {
        read::orders(&self.conn())
    }

    fn fills(&self) -> Result<Vec<vspread_core::journal::FillRecord>, JournalError> {
        read::fills(&self.conn())
    }

    fn spreads(&self) -> Result<Vec<vspread_core::journal::SpreadRecord>, JournalError> {
        read::spreads(&self.conn())
    }

    fn events(
        &self,
        query: &vspread_core::journal::EventQuery,
    ) -> Result<Vec<vspread_core::journal::JournalEvent>, JournalError> {
        read::events(&self.conn(), query)
    }
}

/// Raw SQL on a journal file, for tests that play a user editing the file by
/// hand; not part of the journal's interface.
#[doc(hidden)]
pub mod testing {
    use std::path::Path;

    pub fn execute(path: &Path, sql: &str) -> rusqlite::Result<()> {
        rusqlite::Connection::open(path)?.execute_batch(sql)
    }
}
