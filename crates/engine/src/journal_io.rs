//! The one way the engine reaches the journal from async code: every call
//! runs on tokio's blocking pool, because a journal write waits for the
//! disk (SQLite syncs money writes) and the async workers must not, or the
//! broker's reader and the admin API would stall behind an fsync.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};
use vspread_core::journal::{Journal, JournalError};

/// The first wait before a failed write of a fact is tried again; it
/// doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);
/// A write still failing is reported again every this many attempts.
const REPORT_EVERY: u32 = 30;

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

    /// Runs a write of something that has already happened at the gateway
    /// (an order's event, its end, a spread's closure) until the journal
    /// takes it. Such a fact is never dropped: no one would bring it back
    /// while the engine runs, and the journal would stay short of money the
    /// account has moved. A storage failure (the file locked by another
    /// process past the busy timeout, a full disk, an I/O error) is tried
    /// again after a pause that doubles up to 2 s, for as long as it lasts;
    /// a refusal (the record itself is wrong) cannot succeed later and is
    /// returned. `what` names the write in the warnings.
    pub async fn run_until_written<T: Send + 'static>(
        &self,
        what: impl Fn() -> String,
        call: impl Fn(&dyn Journal) -> Result<T, JournalError> + Send + Sync + 'static,
    ) -> Result<T, JournalError> {
        let call = Arc::new(call);
        let mut pause = RETRY_FIRST;
        let mut attempt: u32 = 1;
        loop {
            let once = call.clone();
            match self.run(move |j| once(j)).await {
                Ok(value) => {
                    if attempt > 1 {
                        info!(what = %what(), attempts = attempt, "journaled after the journal failed");
                    }
                    return Ok(value);
                }
                Err(e @ JournalError::Storage(_)) => {
                    if attempt == 1 || attempt.is_multiple_of(REPORT_EVERY) {
                        warn!(what = %what(), attempt, error = %e, "journal write failed; trying again");
                    }
                }
                Err(e) => {
                    warn!(what = %what(), error = %e, "journal refused the write");
                    return Err(e);
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(RETRY_MAX);
            attempt = attempt.saturating_add(1);
        }
    }
}
