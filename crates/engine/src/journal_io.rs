//! The one way the engine reaches the journal from async code: every call
//! runs on tokio's blocking pool, because a journal write waits for the
//! disk (SQLite syncs money writes) and the async workers must not, or the
//! broker's reader and the admin API would stall behind an fsync.

use std::sync::Arc;

use vspread_core::journal::{Journal, JournalError};

/// The journal, for async callers.
#[derive(Clone)]
pub struct JournalIo(Arc<dyn Journal>);

impl std::fmt::Debug for JournalIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalIo")
    }
}

impl JournalIo {
    pub fn new(journal: Arc<dyn Journal>) -> Self {
        Self(journal)
    }

    /// The journal itself, for synchronous readers on threads of their own.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.0
    }

    /// Runs `call` off the async workers and waits for it.
    pub async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.0.clone();
        tokio::task::spawn_blocking(move || call(&*journal))
            .await
            .unwrap_or_else(|e| Err(JournalError::Storage(format!("journal task failed: {e}"))))
    }
}
