//! Writes every order event the broker reports (statuses, executions,
//! commissions, rejections) to the journal as it arrives, independently of
//! whichever task is driving the order, so a fill is on disk even if that
//! task never finishes. Events of orders the journal does not know are
//! ignored by the journal; replays are recorded once.
//!
//! A write the journal's storage cannot take (a full disk, an I/O error)
//! is not dropped: it stays queued, with everything after it in the order
//! it came, and is tried again until it goes through. Order ends and spread
//! closures that could not be written are handed to the same queue
//! ([`TradingRecords::defer`]). So a full disk delays the trading record
//! but loses none of it while the process lives; after a crash, recovery
//! takes the fills from the gateway.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vspread_core::OrderEvent;
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::Clock;
use vspread_core::journal::{JournalError, OrderEnd, SpreadClosure};

use crate::journal_io::JournalIo;
use crate::storage::StorageHealth;

/// How long a write the storage refused waits before it is tried again.
const RETRY: Duration = Duration::from_millis(250);

/// One record of the trading record.
#[derive(Debug, Clone)]
pub enum TradingWrite {
    Event {
        event: OrderEvent,
        at: DateTime<Utc>,
    },
    End {
        order_ref: String,
        end: OrderEnd,
    },
    Closure(SpreadClosure),
}

impl TradingWrite {
    fn what(&self) -> String {
        match self {
            TradingWrite::Event { event, .. } => format!("order event of {}", event.order_ref()),
            TradingWrite::End { order_ref, .. } => format!("end of {order_ref}"),
            TradingWrite::Closure(c) => format!("closure of {}", c.spread_ref),
        }
    }
}

/// The queue of trading records on their way to the journal, written in
/// order; a record the storage refuses holds the ones behind it.
pub struct TradingRecords {
    journal: JournalIo,
    storage: Arc<StorageHealth>,
    queue: Mutex<VecDeque<TradingWrite>>,
    /// One writer at a time, so records keep their order.
    writing: tokio::sync::Mutex<()>,
    wake: Notify,
    /// Set when the engine stops: the recorder writes what it has received
    /// and ends.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for TradingRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TradingRecords")
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}

impl TradingRecords {
    pub fn new(journal: JournalIo, storage: Arc<StorageHealth>) -> Self {
        Self {
            journal,
            storage,
            queue: Mutex::new(VecDeque::new()),
            writing: tokio::sync::Mutex::new(()),
            wake: Notify::new(),
            stopping: tokio::sync::watch::Sender::new(false),
        }
    }

    /// The journal the records go to.
    pub fn journal(&self) -> &JournalIo {
        &self.journal
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, VecDeque<TradingWrite>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the recorder to stop once every event it has received (and
    /// every one already queued at the broker for it) is written.
    pub fn request_stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Records waiting to be written.
    pub fn pending(&self) -> usize {
        self.queue().len()
    }

    fn push(&self, write: TradingWrite) {
        let n = {
            let mut queue = self.queue();
            queue.push_back(write);
            queue.len()
        };
        self.storage.set_pending(n);
        self.wake.notify_one();
    }

    /// Hands over a record whose write failed, to be tried again until it
    /// goes through.
    pub fn defer(&self, write: TradingWrite) {
        warn!(record = %write.what(), "not journaled yet; kept and tried again until it is");
        self.push(write);
    }

    /// Writes what is queued, in order, until the queue is empty (true) or
    /// the storage refuses a write (false: it stays at the head).
    pub async fn flush(&self) -> bool {
        let _writing = self.writing.lock().await;
        loop {
            let Some(head) = self.queue().front().cloned() else {
                self.storage.set_pending(0);
                return true;
            };
            let write = head.clone();
            let result = self
                .journal
                .run(move |j| match &write {
                    TradingWrite::Event { event, at } => j.record_order_event(event, *at).map(drop),
                    TradingWrite::End { order_ref, end } => j.record_order_end(order_ref, end),
                    TradingWrite::Closure(c) => j.record_closure(c),
                })
                .await;
            match result {
                Ok(()) => {}
                Err(JournalError::Storage(e)) => {
                    let n = self.pending();
                    self.storage.set_pending(n);
                    tracing::debug!(record = %head.what(), pending = n, error = %e, "journal write refused; will retry");
                    return false;
                }
                // Never to be taken (an end of an order never journaled):
                // retrying would hold everything behind it.
                Err(e) => warn!(record = %head.what(), error = %e, "record refused by the journal"),
            }
            let n = {
                let mut queue = self.queue();
                queue.pop_front();
                queue.len()
            };
            self.storage.set_pending(n);
        }
    }
}

/// Starts recording. The subscription is taken before this returns, so no
/// event of an order placed afterwards is missed.
pub fn spawn_order_recorder(
    broker: &dyn Broker,
    records: Arc<TradingRecords>,
    clock: Arc<dyn Clock>,
) -> JoinHandle<()> {
    let mut events = broker.events();
    let mut stopping = records.stopping.subscribe();
    tokio::spawn(async move {
        let mut blocked = false;
        loop {
            tokio::select! {
                // Received events first: a stop ends the loop only once the
                // subscription's queue is empty.
                biased;
                event = events.next() => match event {
                    Some(BrokerEvent::Order(event)) => {
                        let at = clock.now();
                        records.push(TradingWrite::Event { event, at });
                    }
                    Some(_) => continue,
                    None => break,
                },
                _ = stopping.wait_for(|s| *s) => break,
                () = records.wake.notified() => {}
                () = tokio::time::sleep(RETRY), if blocked => {}
            }
            let was_blocked = blocked;
            blocked = !records.flush().await;
            if was_blocked && !blocked {
                info!("the journal takes the trading record again; every held record is written");
            } else if blocked && !was_blocked {
                warn!(
                    pending = records.pending(),
                    "the journal refuses writes: trading records are held and retried"
                );
            }
        }
        // The broker is gone, or the engine stops: one last try for what is
        // held.
        records.flush().await;
    })
}
