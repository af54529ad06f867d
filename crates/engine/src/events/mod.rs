//! The engine's event stream: every decision, order event, config change
//! and control action, numbered in order, stamped with the engine's clock,
//! fanned out to live subscribers (the WebSocket) and kept in a bounded
//! in-memory history for late joiners. The durable record is the journal:
//! a bus with a journal attached queues each event, in order, for the
//! journal's writer thread before anyone hears of it, so a publisher never
//! waits for the disk; [`EventBus::flush_journal`] waits until what was
//! published has been written (shutdown and tests use it). Orders and
//! fills do not depend on this queue: the order manager journals them
//! itself, synchronously, before they are sent or acted on.

mod kinds;
mod pages;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::broadcast;
use tracing::{info, warn};
use vspread_core::clock::Clock;
use vspread_core::journal::{EventQuery, Journal, JournalDecision, JournalError, JournalEvent};

pub use kinds::*;
pub use pages::{JournaledEvent, PastEvent, page_from, read_back};

/// One event as the API shows it: `{seq, at, message, kind, data}`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Event {
    /// Strictly increasing, across restarts too: a run numbers on from
    /// the journal's last event, so `?after=` means the same event to a
    /// client whatever restarted in between.
    pub seq: u64,
    /// When it happened, on the engine's clock (the simulator's in the
    /// demo).
    pub at: DateTime<Utc>,
    /// One line for people.
    pub message: String,
    /// `kind` (what happened, dotted) and `data` (its numbers).
    #[serde(flatten)]
    pub event: EngineEvent,
}

impl Event {
    pub fn kind(&self) -> &'static str {
        self.event.kind()
    }
}

/// What the journal's event writer is asked to do, in order.
enum ToWriter {
    Record(JournalEvent),
    /// An entry decision, whole (the engine keeps only the newest per
    /// symbol in memory).
    Decision(Box<JournalDecision>),
    /// Answer once everything queued before has been written.
    Flush(FlushReply),
}

/// Where a flush is answered: a blocking waiter's channel, or an async
/// waiter's (which holds no thread meanwhile).
enum FlushReply {
    Blocking(std::sync::mpsc::Sender<()>),
    Async(tokio::sync::oneshot::Sender<()>),
}

impl FlushReply {
    /// Tells the waiter; one that gave up is not there to hear it.
    fn answer(self) {
        match self {
            FlushReply::Blocking(done) => {
                let _ = done.send(());
            }
            FlushReply::Async(done) => {
                let _ = done.send(());
            }
        }
    }
}

/// Narrative events held for the journal while it refuses writes; beyond
/// this the oldest are given up (and counted), so a full disk cannot make
/// the engine's memory grow without bound.
pub const EVENT_BACKLOG: usize = 20_000;

/// How long the event writer waits before trying a refused write again.
const EVENT_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// The journal's event writer: every event in order; one the storage
/// refuses is tried again (with those behind it held, up to
/// [`EVENT_BACKLOG`]). Ends when the bus is dropped, after a last try.
fn write_events(
    journal: &dyn Journal,
    rx: &std::sync::mpsc::Receiver<ToWriter>,
    dropped: &AtomicU64,
) {
    use std::sync::mpsc::RecvTimeoutError;
    let mut backlog: VecDeque<ToWriter> = VecDeque::new();
    let mut refusing = false;
    let mut open = true;
    while open || !backlog.is_empty() {
        let next = if backlog.is_empty() {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(EVENT_RETRY)
        };
        match next {
            Ok(event) => backlog.push_back(event),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                if !open {
                    break;
                }
                open = false;
            }
        }
        while let Ok(event) = rx.try_recv() {
            backlog.push_back(event);
        }
        let over = backlog.len().saturating_sub(EVENT_BACKLOG);
        if over > 0 {
            // A flush given up on is answered "not written" (its sender
            // is dropped).
            let records = backlog
                .drain(..over)
                .filter(|m| !matches!(m, ToWriter::Flush(_)))
                .count();
            dropped.fetch_add(records as u64, Ordering::Relaxed);
        }
        while let Some(front) = backlog.front() {
            let written = match front {
                ToWriter::Record(event) => journal.record_event(event),
                ToWriter::Decision(decision) => journal.record_decision(decision),
                ToWriter::Flush(_) => {
                    // Everything queued before it is written.
                    if let Some(ToWriter::Flush(reply)) = backlog.pop_front() {
                        reply.answer();
                    }
                    continue;
                }
            };
            match written {
                Ok(()) => {
                    backlog.pop_front();
                    if refusing {
                        info!("the journal takes events again");
                        refusing = false;
                    }
                }
                Err(JournalError::Storage(e)) => {
                    if !refusing {
                        warn!(error = %e, held = backlog.len(), "the journal refuses events; holding them and trying again");
                        refusing = true;
                    }
                    break;
                }
                Err(e) => {
                    let kind = match front {
                        ToWriter::Record(event) => event.kind.as_str(),
                        _ => "decision",
                    };
                    warn!(%kind, error = %e, "event not journaled");
                    backlog.pop_front();
                }
            }
        }
        if !open && refusing {
            // The bus is gone and the journal still refuses: nothing more
            // can be done for what is held.
            let records = backlog
                .iter()
                .filter(|m| !matches!(m, ToWriter::Flush(_)))
                .count();
            dropped.fetch_add(records as u64, Ordering::Relaxed);
            break;
        }
    }
}

/// Called with each event as it is published (see [`EventBus::tap`]).
type Tap = Box<dyn Fn(&Event) + Send + Sync>;

/// Publishes events to subscribers and keeps the most recent ones.
pub struct EventBus {
    seq: AtomicU64,
    /// Shared with the stream's buffer: an event held by both is held
    /// once.
    history: Mutex<VecDeque<Arc<Event>>>,
    capacity: usize,
    tx: broadcast::Sender<Arc<Event>>,
    /// Events on their way to the journal's writer thread.
    journal: OnceLock<Mutex<std::sync::mpsc::Sender<ToWriter>>>,
    /// Stamps events: the engine's clock.
    clock: Arc<dyn Clock>,
    /// Events given up on because the journal refused writes for too long.
    not_journaled: Arc<AtomicU64>,
    /// Folds that see every event (the metrics'), called in order under
    /// the history's lock.
    taps: Mutex<Vec<Tap>>,
    /// The journal's last number could not be read at attach: events are
    /// journaled unnumbered rather than under numbers it may hold.
    journal_numbers: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("seq", &self.seq)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Events a live subscriber may fall behind before it is told it lagged
/// (the WebSocket cuts a client off before, at
/// `vspread_server::routes::events::MAX_BEHIND`): a power of two (the
/// channel rounds up to one) above the cut-off. A slot holds its event
/// (an `Arc`, shared with the history while the history holds it) until
/// every subscriber has read it, so subscribers that keep up hold none.
pub const STREAM_BUFFER: usize = 1024;

impl EventBus {
    /// A bus that keeps the last `capacity` events and stamps them with
    /// `clock` (the engine's, so the journal and the orders agree on when
    /// things happened).
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        // The stream's buffer, whatever memory's history holds: a live
        // subscriber may fall this far behind however small the history
        // (a slot frees once every subscriber has read it).
        let (tx, _) = broadcast::channel(STREAM_BUFFER);
        Self {
            seq: AtomicU64::new(0),
            // Grown as events come rather than all at once.
            history: Mutex::new(VecDeque::new()),
            capacity,
            tx,
            journal: OnceLock::new(),
            clock,
            not_journaled: Arc::new(AtomicU64::new(0)),
            taps: Mutex::new(Vec::new()),
            journal_numbers: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Writes every event published from now on to `journal`, in order, on
    /// a writer thread of its own: a journal write waits for the disk, and
    /// publishers are async tasks that must not (the broker's reader among
    /// them). Once only; a second journal is refused and returned.
    ///
    /// Numbering goes on from the journal's last event (attach before the
    /// first publish): the journal keeps each event under the bus's
    /// number, so what memory no longer holds is read back from it by the
    /// same numbers.
    pub fn attach_journal(&self, journal: Arc<dyn Journal>) -> Result<(), Arc<dyn Journal>> {
        let (tx, rx) = std::sync::mpsc::channel::<ToWriter>();
        if self.journal.set(Mutex::new(tx)).is_err() {
            return Err(journal);
        }
        let newest = EventQuery {
            limit: 1,
            ..EventQuery::default()
        };
        match journal.events(&newest) {
            Ok(last) => {
                let last = last.first().and_then(|e| e.seq).unwrap_or(0);
                self.seq.fetch_max(last, Ordering::SeqCst);
            }
            // The bus's numbers could then be ones the journal holds
            // already: the journal numbers this run's events itself.
            Err(e) => {
                warn!(error = %e, "cannot read the journal's last event; the journal numbers this run's events itself");
                self.journal_numbers.store(true, Ordering::SeqCst);
            }
        }
        let dropped = self.not_journaled.clone();
        let spawned = std::thread::Builder::new()
            .name("vspread-journal-events".into())
            .spawn(move || write_events(&*journal, &rx, &dropped));
        if let Err(e) = spawned {
            warn!(error = %e, "cannot start the journal's event writer; events are not journaled");
        }
        Ok(())
    }

    /// Numbers, stamps and publishes an event, and logs its message at
    /// info level; returns it (shared with the history and the stream).
    pub fn publish(&self, message: impl Into<String>, event: EngineEvent) -> Arc<Event> {
        let event = self.publish_quietly(message, event);
        info!(kind = event.kind(), "{}", event.message);
        event
    }

    /// [`publish`](Self::publish) without the log line: for events that
    /// repeat every cycle (a refusal already logged, a symbol without a
    /// signal).
    pub fn publish_quietly(&self, message: impl Into<String>, event: EngineEvent) -> Arc<Event> {
        // Numbering and recording under one lock keeps history in seq order.
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let event = Event {
            seq: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            at: self.clock.now(),
            message: message.into(),
            event,
        };
        if self.journal.get().is_some() {
            let record = JournalEvent {
                seq: (!self.journal_numbers.load(Ordering::Relaxed)).then_some(event.seq),
                at: event.at,
                kind: event.kind().to_string(),
                message: event.message.clone(),
                data: event.event.data().to_string(),
            };
            if self.to_writer(ToWriter::Record(record)) == Some(false) {
                warn!(
                    kind = event.kind(),
                    "the journal's event writer has stopped"
                );
            }
        }
        if history.len() == self.capacity {
            history.pop_front();
        }
        // One event, shared by the history, the stream and the caller: a
        // copy per holder would allocate each event's strings twice, the
        // history's copy long-lived beside the caller's short-lived one,
        // which leaves the allocator's pages partly used for as long as
        // the history keeps it.
        let shared = Arc::new(event);
        history.push_back(shared.clone());
        for tap in self.taps.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            tap(&shared);
        }
        // No subscriber is fine: the history still has it.
        let _ = self.tx.send(shared.clone());
        shared
    }

    /// Calls `tap` with every event the history holds now, then with every
    /// event published from now on: each once, in order, on the
    /// publisher's thread. For folds that must see every event however
    /// rarely they are read (the metrics' counters between two scrapes
    /// may span more events than the history keeps). A tap must be quick
    /// and must not publish (it is called under the history's lock).
    pub fn tap(&self, tap: impl Fn(&Event) + Send + Sync + 'static) {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        for event in history.iter() {
            tap(event);
        }
        self.taps
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Box::new(tap));
    }

    /// Queues an entry decision for the journal's writer, behind the events
    /// published before it (nothing when no journal is attached).
    pub fn journal_decision(&self, decision: JournalDecision) {
        if self.to_writer(ToWriter::Decision(Box::new(decision))) == Some(false) {
            warn!("the journal's event writer has stopped");
        }
    }

    /// Hands `message` to the journal's writer: `None` when no journal is
    /// attached, else whether the writer took it.
    fn to_writer(&self, message: ToWriter) -> Option<bool> {
        let journal = self.journal.get()?;
        let sent = journal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(message);
        Some(sent.is_ok())
    }

    /// Events never journaled: the journal refused writes while more than
    /// [`EVENT_BACKLOG`] were waiting, and the oldest were given up.
    pub fn not_journaled(&self) -> u64 {
        self.not_journaled.load(Ordering::Relaxed)
    }

    /// Waits (blocking, up to `within`) until every event published so
    /// far has been written to the journal; false when it took longer or
    /// no writer runs. Blocking: call it from a blocking context.
    pub fn flush_journal(&self, within: std::time::Duration) -> bool {
        let (done, written) = std::sync::mpsc::channel();
        self.to_writer(ToWriter::Flush(FlushReply::Blocking(done))) == Some(true)
            && written.recv_timeout(within).is_ok()
    }

    /// [`flush_journal`](Self::flush_journal) for async callers: waits (up
    /// to `within`) without holding a thread.
    pub async fn journal_written(&self, within: std::time::Duration) -> bool {
        let (done, written) = tokio::sync::oneshot::channel();
        self.to_writer(ToWriter::Flush(FlushReply::Async(done))) == Some(true)
            && matches!(tokio::time::timeout(within, written).await, Ok(Ok(())))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// The number of the newest event (0 before the first).
    pub fn last_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// The number of the oldest event memory still holds (the next one's
    /// when it holds none): pages before it come from the journal.
    pub fn oldest_held(&self) -> u64 {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        match history.front() {
            Some(e) => e.seq,
            None => self.seq.load(Ordering::SeqCst) + 1,
        }
    }

    /// Events with `seq > after`, oldest first, at most `limit` (shared
    /// with the history, not copied).
    pub fn since(&self, after: u64, limit: usize) -> Vec<Arc<Event>> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect()
    }

    /// The newest `limit` events, oldest first (shared with the history).
    pub fn recent(&self, limit: usize) -> Vec<Arc<Event>> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let skip = history.len().saturating_sub(limit);
        history.iter().skip(skip).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use vspread_core::clock::ManualClock;

    fn resumed(who: &str) -> EngineEvent {
        EngineEvent::ControlResumed(ControlResumed { who: who.into() })
    }

    #[test]
    fn numbers_in_order_stamps_with_the_engines_clock_and_keeps_the_newest() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let bus = EventBus::new(3, Arc::new(ManualClock::new(t)));
        let mut rx = bus.subscribe();
        for i in 0..5 {
            bus.publish(format!("resumed {i}"), resumed(&i.to_string()));
        }
        let seqs: Vec<u64> = bus.recent(10).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(bus.since(4, 10).len(), 1);
        assert_eq!(bus.recent(1)[0].at, t);
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert_eq!(bus.last_seq(), 5);
    }

    #[test]
    fn a_subscriber_falls_behind_at_the_stream_buffer_not_the_history() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let bus = EventBus::new(4 * STREAM_BUFFER, Arc::new(ManualClock::new(t)));
        let mut rx = bus.subscribe();
        let n = 2 * STREAM_BUFFER as u64;
        for i in 0..n {
            bus.publish("resumed", resumed(&i.to_string()));
        }
        // The history keeps them all; the live stream only its buffer.
        assert_eq!(bus.recent(usize::MAX).len() as u64, n);
        match rx.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(missed)) => {
                assert_eq!(missed, n - STREAM_BUFFER as u64);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rx.try_recv().unwrap().seq, n - STREAM_BUFFER as u64 + 1);
    }

    #[test]
    fn a_tap_sees_the_history_then_every_event_once_in_order() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let bus = EventBus::new(3, Arc::new(ManualClock::new(t)));
        for i in 0..5 {
            bus.publish("resumed", resumed(&i.to_string()));
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let tapped = seen.clone();
        bus.tap(move |e| tapped.lock().unwrap().push(e.seq));
        for i in 5..10 {
            bus.publish("resumed", resumed(&i.to_string()));
        }
        // What the history held when tapped (the last 3), then the rest.
        assert_eq!(*seen.lock().unwrap(), [3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(bus.oldest_held(), 8);
    }

    #[test]
    fn an_event_serialises_as_kind_and_data() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
        let bus = EventBus::new(3, Arc::new(ManualClock::new(t)));
        let e = bus.publish("resumed by ops", resumed("ops"));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "control.resumed");
        assert_eq!(json["data"]["who"], "ops");
        assert_eq!(json["seq"], 1);
        assert_eq!(json["message"], "resumed by ops");
        assert_eq!(e.event.data(), serde_json::json!({ "who": "ops" }));
    }
}
