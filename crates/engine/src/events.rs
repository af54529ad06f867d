//! The engine's event stream: every decision, order event, config change and
//! control action, numbered in order, fanned out to live subscribers (the
//! WebSocket) and kept in a bounded in-memory history for late joiners.
//! The durable record is the journal: a bus with a journal attached writes
//! each event there before anyone hears of it; this is the live view of it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tokio::sync::broadcast;
use tracing::warn;
use vspread_core::clock::{Clock, SystemClock};
use vspread_core::journal::{Journal, JournalEvent};

/// One event as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Strictly increasing from 1 within a process run.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// What happened, dotted: `config.applied`, `control.paused`, ...
    pub kind: String,
    /// One line for people.
    pub message: String,
    /// The details, shaped by `kind`.
    pub data: Json,
}

/// Publishes events to subscribers and keeps the most recent ones.
#[derive(Debug)]
pub struct EventBus {
    seq: AtomicU64,
    history: Mutex<VecDeque<Event>>,
    capacity: usize,
    tx: broadcast::Sender<Event>,
    /// Events on their way to the journal's writer thread.
    journal: OnceLock<Mutex<std::sync::mpsc::Sender<JournalEvent>>>,
    /// Stamps events; the wall clock unless the engine runs on another.
    clock: Arc<dyn Clock>,
}

impl EventBus {
    /// A bus that keeps the last `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A bus that stamps events with `clock` (the engine's, so the journal
    /// and the orders agree on when things happened).
    pub fn with_clock(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self {
            seq: AtomicU64::new(0),
            history: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            tx,
            journal: OnceLock::new(),
            clock,
        }
    }

    /// Writes every event published from now on to `journal`, in order, on
    /// a writer thread of its own: a journal write waits for the disk, and
    /// publishers are async tasks that must not (the broker's reader among
    /// them). An event reaches the journal microseconds after it is
    /// published. Once only; a second journal is refused and returned.
    pub fn attach_journal(&self, journal: Arc<dyn Journal>) -> Result<(), Arc<dyn Journal>> {
        let (tx, rx) = std::sync::mpsc::channel::<JournalEvent>();
        if self.journal.set(Mutex::new(tx)).is_err() {
            return Err(journal);
        }
        let spawned = std::thread::Builder::new()
            .name("vspread-journal-events".into())
            .spawn(move || {
                // Ends when the bus (the sender) is dropped.
                for event in rx {
                    if let Err(e) = journal.record_event(&event) {
                        warn!(kind = %event.kind, error = %e, "event not journaled");
                    }
                }
            });
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start the journal's event writer; events are not journaled");
        }
        Ok(())
    }

    /// Numbers and publishes an event; returns it.
    pub fn publish(&self, kind: &str, message: impl Into<String>, data: Json) -> Event {
        // Numbering and recording under one lock keeps history in seq order.
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let event = Event {
            seq: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            at: self.clock.now(),
            kind: kind.to_string(),
            message: message.into(),
            data,
        };
        if let Some(journal) = self.journal.get() {
            let record = JournalEvent {
                at: event.at,
                kind: event.kind.clone(),
                message: event.message.clone(),
                data: event.data.to_string(),
            };
            let sent = journal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(record);
            if sent.is_err() {
                warn!(kind = %event.kind, "the journal's event writer has stopped");
            }
        }
        if history.len() == self.capacity {
            history.pop_front();
        }
        history.push_back(event.clone());
        // No subscriber is fine: the history still has it.
        let _ = self.tx.send(event.clone());
        event
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Events with `seq > after`, oldest first, at most `limit`.
    pub fn since(&self, after: u64, limit: usize) -> Vec<Event> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }

    /// The newest `limit` events, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<Event> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let skip = history.len().saturating_sub(limit);
        history.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_order_and_keeps_the_newest() {
        let bus = EventBus::new(3);
        let mut rx = bus.subscribe();
        for i in 0..5 {
            bus.publish(
                "test.tick",
                format!("tick {i}"),
                serde_json::json!({ "i": i }),
            );
        }
        let seqs: Vec<u64> = bus.recent(10).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(bus.since(4, 10).len(), 1);
        assert_eq!(bus.recent(1)[0].data["i"], 4);
        assert_eq!(rx.try_recv().unwrap().seq, 1);
    }
}
