//! Writes every order event the broker reports (statuses, executions,
//! commissions, rejections) to the journal as it arrives, independently of
//! whichever task is driving the order, so a fill is on disk even if that
//! task never finishes. Events of orders the journal does not know are
//! ignored by the journal; replays are recorded once.
//!
//! An event the gateway has reported is never dropped: a write the journal
//! fails (its file locked by another process past the busy timeout, a full
//! disk, an I/O error) is tried again, in order, until it succeeds; the
//! events behind it wait in the subscription's queue. Nothing else brings a
//! lost event back while the engine runs (recovery asks the gateway only at
//! start), so moving on would leave the journal short of money the account
//! has spent for good. [`OrderRecorder::stop`] writes what is queued before
//! it returns, so a process that stops after its orders have ended leaves a
//! complete journal.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::Clock;

use crate::journal_io::JournalIo;

/// The running recorder; dropping it stops it where it is (use
/// [`stop`](Self::stop) to finish the queue first).
#[derive(Debug)]
pub struct OrderRecorder {
    task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts recording. The subscription is taken before this returns, so no
/// event of an order placed afterwards is missed.
pub fn spawn_order_recorder(
    broker: &dyn Broker,
    journal: JournalIo,
    clock: Arc<dyn Clock>,
) -> OrderRecorder {
    let mut events = broker.events();
    let (stop, mut stopping) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            // Queued events first: a stop ends the loop only once the
            // queue is empty.
            let event = tokio::select! {
                biased;
                event = events.next() => event,
                _ = stopping.wait_for(|s| *s) => return,
            };
            let Some(event) = event else { return };
            if let BrokerEvent::Order(event) = event {
                let at = clock.now();
                let event = Arc::new(event);
                let named = event.clone();
                // A refusal (an event the journal cannot take) is reported
                // by the journal's warning; it would never succeed.
                let _ = journal
                    .run_until_written(
                        || format!("order event {}", event_name(&named)),
                        move |j| j.record_order_event(&event, at),
                    )
                    .await;
            }
        }
    });
    OrderRecorder {
        task: Some(task),
        stop,
    }
}

fn event_name(event: &vspread_core::OrderEvent) -> String {
    use vspread_core::OrderEvent as E;
    match event {
        E::Status {
            order_ref, status, ..
        } => format!("{order_ref} status {status:?}"),
        E::Execution(x) => format!("{} execution {}", x.order_ref, x.exec_id),
        E::Commission {
            order_ref, exec_id, ..
        } => format!("{order_ref} commission of {exec_id}"),
        E::Rejected {
            order_ref, code, ..
        } => format!("{order_ref} rejection {code}"),
    }
}

impl OrderRecorder {
    /// Writes every event received so far, then stops; gives up after
    /// `within` (a journal that keeps failing), saying so. Returns whether
    /// everything was written.
    pub async fn stop(mut self, within: Duration) -> bool {
        let _ = self.stop.send(true);
        let Some(mut task) = self.task.take() else {
            return true;
        };
        match tokio::time::timeout(within, &mut task).await {
            Ok(_) => {
                info!("order recorder stopped with every event journaled");
                true
            }
            Err(_) => {
                task.abort();
                warn!(
                    ?within,
                    "order recorder stopped with events not journaled; the next start's recovery takes them from the gateway"
                );
                false
            }
        }
    }
}

impl Drop for OrderRecorder {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
