//! The one way the engine reaches the journal from async code: every call
//! runs on a thread of the journal's own, because a journal write waits
//! for the disk (SQLite syncs money writes) and the async workers must
//! not, or the broker's reader and the admin API would stall behind an
//! fsync.
//!
//! The threads are a fixed set started with the engine: [`CONCURRENT_READS`]
//! for reads and one for writes. With tokio's blocking pool instead, the
//! busiest moment decided how many threads the process had: each burst of
//! reads (the first busy trading day, days into a run) started more, and
//! each new thread kept memory of its own for good (its allocator pages,
//! its SQLite allocations, its stack), so the resident memory stepped up
//! long after the warm-up. A fixed set is warmed by the first minutes'
//! reads and then stays what it is.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use vspread_core::journal::{Journal, JournalError};

/// Reads of the journal that run at once (the admin API's pages, the KPIs,
/// the trader's checks), one on each reader thread. More wait for a turn
/// in the queue, holding no thread.
pub const CONCURRENT_READS: usize = 4;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads that take jobs from one queue, in order; they end when the
/// last handle to the queue is dropped.
struct Lane {
    jobs: mpsc::Sender<Job>,
    /// Threads that started (fewer than asked only when the OS refused).
    threads: usize,
}

impl Lane {
    fn start(name: &str, threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job.
                        let job = match rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        };
                        // A panicking job fails its caller (its reply is
                        // dropped), not the thread: the lane keeps its size.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                });
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::error!(error = %e, lane = name, "a journal thread could not start")
                }
            }
        }
        Self {
            jobs: tx,
            threads: started,
        }
    }

    /// Queues `call` and waits for its answer without holding a thread.
    async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        if self.threads == 0 {
            return Err(JournalError::Storage(
                "the journal's threads could not start".into(),
            ));
        }
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(call());
        });
        self.jobs
            .send(job)
            .map_err(|_| JournalError::Storage("the journal's threads have stopped".into()))?;
        answer
            .await
            .unwrap_or_else(|_| Err(JournalError::Storage("journal task failed".into())))
    }
}

/// The journal, for async callers.
#[derive(Clone)]
pub struct JournalIo {
    journal: Arc<dyn Journal>,
    reads: Arc<Lane>,
    writes: Arc<Lane>,
}

impl std::fmt::Debug for JournalIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalIo")
    }
}

impl JournalIo {
    /// Starts the journal's threads ([`CONCURRENT_READS`] readers, one writer).
    pub fn new(journal: Arc<dyn Journal>) -> Self {
        Self {
            journal,
            reads: Arc::new(Lane::start("vspread-read", CONCURRENT_READS)),
            writes: Arc::new(Lane::start("vspread-write", 1)),
        }
    }

    /// The journal itself, for synchronous readers on threads of their own.
    pub fn journal(&self) -> &Arc<dyn Journal> {
        &self.journal
    }

    /// Runs the read `call` on a reader thread once one is free, and waits
    /// for it.
    pub async fn read<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal.clone();
        self.reads.run(move || call(&*journal)).await
    }

    /// Runs `call` (a write, or a read that belongs with the writes) on
    /// the writer thread, after the ones queued before it, and waits for
    /// it. Writes never wait behind reads: the journal takes one write at a
    /// time anyway.
    pub async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Journal) -> Result<T, JournalError> + Send + 'static,
    ) -> Result<T, JournalError> {
        let journal = self.journal.clone();
        self.writes.run(move || call(&*journal)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// At most `CONCURRENT_READS` reads run at once, the rest wait their turn
    /// and all are answered; a panicking call fails only its caller.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_take_turns_on_a_fixed_set_of_threads() {
        let lane = Arc::new(Lane::start("test-read", CONCURRENT_READS));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
        let mut calls = Vec::new();
        for i in 0..40 {
            let (lane, running, most, threads) =
                (lane.clone(), running.clone(), most.clone(), threads.clone());
            calls.push(tokio::spawn(async move {
                lane.run(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    threads.lock().unwrap().insert(std::thread::current().id());
                    std::thread::sleep(Duration::from_millis(5));
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(i)
                })
                .await
            }));
        }
        let mut answers = Vec::new();
        for c in calls {
            answers.push(c.await.unwrap().unwrap());
        }
        assert_eq!(answers, (0..40).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= CONCURRENT_READS);
        assert!(threads.lock().unwrap().len() <= CONCURRENT_READS);

        let failed = lane
            .run(|| -> Result<(), JournalError> { panic!("a bad read") })
            .await;
        assert!(
            matches!(failed, Err(JournalError::Storage(_))),
            "{failed:?}"
        );
        // The lane still has all its threads: CONCURRENT_READS calls that each
        // wait for all the others finish.
        let barrier = Arc::new(std::sync::Barrier::new(CONCURRENT_READS));
        let mut together = Vec::new();
        for _ in 0..CONCURRENT_READS {
            let (lane, barrier) = (lane.clone(), barrier.clone());
            together.push(tokio::spawn(async move {
                lane.run(move || {
                    barrier.wait();
                    Ok(())
                })
                .await
            }));
        }
        for t in together {
            tokio::time::timeout(Duration::from_secs(5), t)
                .await
                .expect("every reader thread is still there")
                .unwrap()
                .unwrap();
        }
    }
}
