//! vspread's journal over SQLite: one file (`journal.sqlite3` in the data
//! directory), WAL mode. This is the only crate that speaks SQL; the engine
//! sees [`vspread_core::journal::Journal`].
//!
//! Durability is chosen per write. Orders, order events (fills,
//! commissions), order ends and closures commit with `synchronous = FULL`:
//! the log is on the disk when the write returns, so an order is durable
//! before the broker hears of it. Narrative events commit with `NORMAL`:
//! in the log at once, so a killed process loses none, and on the disk with
//! the next money write's sync (or the checkpointer's); only a power loss
//! in between could lose the last few. Their syncs would otherwise sit in
//! front of the next order's.
//!
//! Writers share one connection behind a mutex (writes are small and
//! serialised by SQLite anyway). Readers take connections of their own
//! from a small pool, each read one transaction (one consistent snapshot),
//! so a long read never holds up an order's write, and what a read costs
//! follows the page it asks for (see [`vspread_core::journal::OrderQuery`]). Checkpoints run on a thread of their own,
//! with their own connection, so no write ever waits for one; readers such
//! as `vspread journal` open the file read-only beside a running engine,
//! which WAL allows. [`backup`] takes consistent copies beside a running
//! engine (SQLite's online backup) and checks files before a restore.

pub mod backup;
mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use vspread_core::journal::{JournalError, SyncTimings};

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
    #[error(
        "the journal is schema version {found}, older than this vspread's ({known}); \
         `vspread run` or `vspread demo` brings it up to date when it next opens it"
    )]
    TooOld { found: i64, known: i64 },
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
    /// Idle read connections (none for a journal opened read-only, whose
    /// one connection reads).
    readers: Option<Mutex<Vec<Connection>>>,
    /// Set on drop: the checkpointer stops.
    closing: Arc<AtomicBool>,
    /// How long each synced write took (see [`SqliteJournal::synced`]).
    sync_timings: Mutex<SyncTimings>,
}

/// How long a write waits for another connection's write lock (a user's
/// `sqlite3` shell in a transaction, a tool) before SQLite reports the
/// database locked. Past it the write fails; what must not be lost is
/// written again by its caller.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the checkpointer folds the log into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// How a write reaches the disk (see the crate's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// Synced before the write returns.
    Synced,
    /// In the log at once, synced with the next synced write.
    Logged,
}

impl Drop for SqliteJournal {
    fn drop(&mut self) {
        self.closing.store(true, Ordering::Relaxed);
    }
}

/// Folds the log into the database every [`CHECKPOINT_EVERY`] (passive:
/// it never blocks a writer) until `closing`.
fn spawn_checkpointer(path: &Path, closing: Arc<AtomicBool>) {
    let path = path.to_path_buf();
    let spawned = std::thread::Builder::new()
        .name("vspread-journal-checkpoint".into())
        .spawn(move || {
            let Ok(conn) = open_checkpointer(&path) else {
                return;
            };
            while !closing.load(Ordering::Relaxed) {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "journal checkpoint failed");
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no journal checkpointer; SQLite checkpoints on commit");
    }
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
        // Checkpoints are the checkpointer's, off the writers' path.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| wrap(e.into()))?;
        let closing = Arc::new(AtomicBool::new(false));
        spawn_checkpointer(path, closing.clone());
        // The idle readers are opened now, with the journal, rather than
        // on the first day that reads four at once: what a connection
        // holds is then in place from the start, not a step days later.
        // One that fails to open now is opened when a read needs it.
        let readers = (0..IDLE_READERS)
            .filter_map(|_| open_reader(path).ok())
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            readers: Some(Mutex::new(readers)),
            closing,
            sync_timings: Mutex::default(),
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
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| wrap(e.into()))?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| wrap(e.into()))?;
        if found > schema::VERSION {
            return Err(wrap(StoreError::TooNew {
                found,
                known: schema::VERSION,
            }));
        }
        if found < schema::VERSION {
            return Err(wrap(StoreError::TooOld {
                found,
                known: schema::VERSION,
            }));
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            readers: None,
            closing: Arc::new(AtomicBool::new(true)),
            sync_timings: Mutex::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a write waits for another connection's write lock before
    /// it fails ([`BUSY_TIMEOUT`] unless set).
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), JournalError> {
        self.conn().busy_timeout(timeout).map_err(storage)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (every
        // write is a transaction), so the connection stays usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `read` in one read transaction on a connection of the reader
    /// pool (opened when none is idle), so it sees one snapshot and never
    /// waits for the writer.
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let Some(readers) = &self.readers else {
            return read(&self.conn());
        };
        let idle = readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path).map_err(storage)?,
        };
        conn.execute_batch("BEGIN").map_err(storage)?;
        let result = read(&conn);
        // A read transaction has nothing to keep: ending it cannot lose
        // anything, and a connection that cannot end it is not reused.
        if conn.execute_batch("COMMIT").is_ok() {
            let mut idle = readers.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_READERS {
                idle.push(conn);
            }
        }
        result
    }

    /// The writer connection, set to commit with `durability`.
    fn writer(
        &self,
        durability: Durability,
    ) -> Result<std::sync::MutexGuard<'_, Connection>, JournalError> {
        let conn = self.conn();
        let level = match durability {
            Durability::Synced => "FULL",
            Durability::Logged => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", level)
            .map_err(storage)?;
        Ok(conn)
    }

    /// Runs one synced write and counts how long it took, from its first
    /// statement to its commit being on the disk (the wait for the writer
    /// lock is not the disk's and is left out): what an order waits for
    /// before the broker hears of it.
    fn synced<T>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut conn = self.writer(Durability::Synced)?;
        let started = Instant::now();
        let result = write(&mut conn);
        if result.is_ok() {
            self.sync_timings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(started.elapsed().as_secs_f64());
        }
        result
    }
}

/// Read connections opened with the journal and kept open between reads;
/// more are opened while more reads run at once, and closed after.
const IDLE_READERS: usize = 4;

/// Page cache of the writer connection, in KiB. SQLite's default (2 MiB
/// a connection) fills as the journal grows, long after start: memory
/// that grows for days. The writes append at the end of their tables and
/// indexes, so the pages they touch are few (the path from each b-tree's
/// root to its last leaf: three or four pages for each of the dozen
/// tables and indexes a write may touch); a miss is served from the OS's
/// file cache.
const WRITER_CACHE_KIB: i64 = 128;

/// Page cache of each read connection, in KiB: a read walks an index to
/// the newest rows of one table (a page of events, of decisions, the
/// orders of a day), a few dozen pages at most, and reads them once.
/// The caches share one pool (see `open_checkpointer`) that fills to the
/// sum of their sizes in the first days of a long run and stays there:
/// 800 KiB with 256 and 128, 416 KiB now.
const READER_CACHE_KIB: i64 = 64;

/// Page cache of the checkpointer's connection, in KiB: the schema's few
/// pages (see `open_checkpointer`).
const CHECKPOINTER_CACHE_KIB: i64 = 32;

/// The checkpointer's connection. A checkpoint copies the log's frames
/// without the page cache, so it needs almost none. Its size is not only
/// its own: this SQLite build (`SQLITE_ENABLE_MEMORY_MANAGEMENT`) keeps
/// one page pool for all the process's connections, bounded by the sum of
/// their sizes, so a default-sized (2 MiB) cache here let the readers'
/// pages grow to 2.9 MB in a long run, where their own sizes say 0.5 MB.
fn open_checkpointer(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "cache_size", -CHECKPOINTER_CACHE_KIB)?;
    Ok(conn)
}

/// A connection that only reads (`query_only`), beside the writer.
fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    // Negative: a size in KiB rather than a count of pages.
    conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Negative: a size in KiB rather than a count of pages.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
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
        self.synced(|conn| write::record_order(conn, order))
    }

    fn record_order_event(
        &self,
        event: &vspread_core::OrderEvent,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, JournalError> {
        self.synced(|conn| write::record_order_event(conn, event, at))
    }

    fn record_order_end(
        &self,
        order_ref: &str,
        end: &vspread_core::journal::OrderEnd,
    ) -> Result<(), JournalError> {
        self.synced(|conn| write::record_order_end(conn, order_ref, end))
    }

    fn record_closure(
        &self,
        closure: &vspread_core::journal::SpreadClosure,
    ) -> Result<(), JournalError> {
        self.synced(|conn| write::record_closure(conn, closure))
    }

    fn record_event(
        &self,
        event: &vspread_core::journal::JournalEvent,
    ) -> Result<(), JournalError> {
        write::record_event(&*self.writer(Durability::Logged)?, event)
    }

    fn record_decision(
        &self,
        decision: &vspread_core::journal::JournalDecision,
    ) -> Result<(), JournalError> {
        write::record_decision(&*self.writer(Durability::Logged)?, decision)
    }

    fn decisions(
        &self,
        query: &vspread_core::journal::DecisionQuery,
    ) -> Result<Vec<vspread_core::journal::JournalDecision>, JournalError> {
        self.read(|conn| read::decisions(conn, query))
    }

    fn orders(&self) -> Result<Vec<vspread_core::journal::OrderRecord>, JournalError> {
        self.read(read::orders)
    }

    fn fills(&self) -> Result<Vec<vspread_core::journal::FillRecord>, JournalError> {
        self.read(read::fills)
    }

    fn spreads(&self) -> Result<Vec<vspread_core::journal::SpreadRecord>, JournalError> {
        self.read(read::spreads)
    }

    fn events(
        &self,
        query: &vspread_core::journal::EventQuery,
    ) -> Result<Vec<vspread_core::journal::JournalEvent>, JournalError> {
        self.read(|conn| read::events(conn, query))
    }

    fn orders_page(
        &self,
        query: &vspread_core::journal::OrderQuery,
    ) -> Result<Vec<vspread_core::journal::OrderRecord>, JournalError> {
        let mut conditions = vec!["1".to_string()];
        let mut values = Vec::new();
        match query.open {
            Some(true) => conditions.push("o.end_outcome IS NULL".into()),
            Some(false) => conditions.push("o.end_outcome IS NOT NULL".into()),
            None => {}
        }
        if let Some(order_ref) = &query.order_ref {
            conditions.push("o.order_ref = ?".into());
            values.push(order_ref.clone());
        }
        let which = read::Selection::with(conditions.join(" AND "), values);
        self.read(|conn| read::orders_where(conn, &which, read::Page::Newest(query.limit)))
    }

    fn fills_of(
        &self,
        order_refs: &[String],
    ) -> Result<Vec<vspread_core::journal::FillRecord>, JournalError> {
        let which = read::Selection::among("f.order_ref", order_refs);
        self.read(|conn| read::fills_where(conn, &which))
    }

    fn open_spreads(&self) -> Result<Vec<vspread_core::journal::SpreadRecord>, JournalError> {
        self.read(read::open_spreads)
    }

    fn closed_spreads(
        &self,
        limit: usize,
    ) -> Result<Vec<vspread_core::journal::SpreadRecord>, JournalError> {
        self.read(|conn| read::closed_spreads(conn, limit))
    }

    fn realised_total(&self) -> Result<rust_decimal::Decimal, JournalError> {
        self.read(read::realised_total)
    }

    fn traded_con_ids(
        &self,
    ) -> Result<std::collections::BTreeSet<vspread_core::ConId>, JournalError> {
        self.read(read::traded_con_ids)
    }

    fn sync_timings(&self) -> SyncTimings {
        self.sync_timings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Takes the write lock and lets it go: fails when the file cannot be
    /// written (read-only, removed directory, a lock held too long).
    fn probe(&self) -> Result<(), JournalError> {
        let conn = self.conn();
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
            .map_err(storage)
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

    /// The journal's write lock, held from a connection of its own (as a
    /// `sqlite3` shell left in a transaction would) until dropped: the
    /// journal's writes wait [`BUSY_TIMEOUT`](crate::BUSY_TIMEOUT) for it,
    /// then fail.
    #[derive(Debug)]
    pub struct WriteLock(rusqlite::Connection);

    pub fn lock_writes(path: &Path) -> rusqlite::Result<WriteLock> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        Ok(WriteLock(conn))
    }

    impl Drop for WriteLock {
        fn drop(&mut self) {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_size(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap()
    }

    /// Each connection's page cache is the size it was given, the
    /// checkpointer's included: in this SQLite build the pages of every
    /// connection share one pool bounded by the sum of those sizes.
    #[test]
    fn every_connection_has_a_small_page_cache() {
        let dir = tempfile::tempdir().unwrap();
        let journal = SqliteJournal::open_in(dir.path()).unwrap();
        assert_eq!(cache_size(&journal.conn()), -WRITER_CACHE_KIB);
        let readers = journal.readers.as_ref().unwrap().lock().unwrap();
        assert_eq!(readers.len(), IDLE_READERS, "opened with the journal");
        for reader in readers.iter() {
            assert_eq!(cache_size(reader), -READER_CACHE_KIB);
        }
        let checkpointer = open_checkpointer(journal.path()).unwrap();
        assert_eq!(cache_size(&checkpointer), -CHECKPOINTER_CACHE_KIB);
    }
}
