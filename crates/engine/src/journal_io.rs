//! The one way the engine reaches the journal from async code: every call
//! runs on tokio's blocking pool, because a journal write waits for the
//! disk (SQLite syncs money writes) and the async workers must not, or the
//! broker's reader and the admin API would stall behind an fsync.

use std::sync::Arc;

use tokio::sync::Semaphore;
use vspread_core::journal::{Journal, JournalError};

/// Reads of the journal that run at once (the admin API's pages, the KPIs,
/// the trader's checks); more wait for a turn on the async side, holding
/// no thread, so a burst of requests cannot grow the blocking pool (and
/// the memory each of its threads keeps).
pub const CONCURRENT_READS: usize = 4;

/// The journal, for async callers.
#[derive(Clone)]
pub struct JournalIo {
    journal: Arc<dyn Journal>,
    reads: Arc<Semaphore>,
}

impl std::fmt::Debug for JournalIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalIo")
    }
}

impl JournalIo {
    pub fn new(journal: Arc<dyn Journal>) -> Self {
        Self {
            journal,
            reads: Arc::new(Semaphore::new(CONCURRENT_READS)),
        }
    }

    /// The journal itself, for synchronous readers on threads of their own.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// Runs the read `call` off the async workers once one of the
    /// [`CONCURRENT_READS`] turns is free, and waits for it.
    pub async fn read<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let _turn = self
            .reads
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| JournalError::Storage(format!("journal reads closed: {e}")))?;
        self.run(call).await
    }

    /// Runs `call` off the async workers and waits for it.
    pub async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal.clone();
        tokio::task::spawn_blocking(move || call(&*journal))
            .await
            .unwrap_or_else(|e| Err(JournalError::Storage(format!("journal task failed: {e}"))))
    }
}
