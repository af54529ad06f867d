//! The state every connection shares: the market and the venue (one lock,
//! because placing an order reads the market and changes the venue), the
//! registry of connected clients with their subscriptions, the limits IB
//! enforces across an account (market data lines, historical pacing), the
//! fault switches, and persistence.
//!
//! [`Gateway::tick`] is the heartbeat: it advances the market to the clock,
//! lets the venue act (fills, expiries, DAY cancels), routes the resulting
//! order events to the clients that own them, sends streaming quotes that
//! changed, and saves the state file when something changed.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{Notify, mpsc, watch};

use crate::faults::Faults;
use crate::handlers::{account, market_data, orders};
use crate::market::Market;
use crate::orders::{OrderEvent, Venue};
use crate::pacing::HistoryPacer;
use crate::persist::{self, SavedState};
use crate::server::SimSettings;
use crate::wire::frame::encode_protobuf;
use crate::wire::messages::{ErrorMessage, reply};

/// The market and the venue, locked together.
#[derive(Debug)]
pub struct Book {
    pub market: Market,
    pub venue: Venue,
}

/// Frames queued for one client's socket. Never blocks: a client that
/// does not keep up is disconnected (TWS drops such clients too rather
/// than buffering without bound). Not keeping up means the queue stayed
/// above `capacity` frames for [`OUTBOX_GRACE`] (a client that reads takes
/// a burst larger than that in its stride), or reached
/// [`OUTBOX_HARD_FACTOR`] times `capacity`.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Vec<u8>>,
    capacity: usize,
    /// When the queue was last at or under `capacity` (ms since `epoch`).
    under_ms: Arc<AtomicU64>,
    epoch: std::time::Instant,
    overflowed: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

/// How long a queue may stay over its capacity before its client counts
/// as not reading.
pub const OUTBOX_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The queue's hard bound, as a multiple of its capacity.
pub const OUTBOX_HARD_FACTOR: usize = 16;

impl Outbox {
    /// A queue of `capacity` frames (see [`Outbox`]) and its receiving end.
    pub fn new(capacity: usize) -> (Outbox, mpsc::Receiver<Vec<u8>>) {
        let capacity = capacity.max(1);
        let (tx, rx) = mpsc::channel(capacity.saturating_mul(OUTBOX_HARD_FACTOR));
        (
            Outbox {
                tx,
                capacity,
                under_ms: Arc::new(AtomicU64::new(0)),
                epoch: std::time::Instant::now(),
                overflowed: Arc::new(AtomicBool::new(false)),
                wake: Arc::new(Notify::new()),
            },
            rx,
        )
    }

    fn overflow(&self) {
        if !self.overflowed.swap(true, Ordering::SeqCst) {
            tracing::warn!("client is not reading; closing its connection");
        }
        self.wake.notify_one();
    }

    /// Whether the client keeps up: false (and the queue marked
    /// overflowed) once it has been over its capacity for the grace.
    /// Called on every push and, while nothing is pushed, by the
    /// connection's loop.
    pub fn check(&self) -> bool {
        if self.overflowed() {
            return false;
        }
        let queued = self.tx.max_capacity() - self.tx.capacity();
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        if queued <= self.capacity {
            self.under_ms.store(now, Ordering::Relaxed);
        } else if now.saturating_sub(self.under_ms.load(Ordering::Relaxed))
            > u64::try_from(OUTBOX_GRACE.as_millis()).unwrap_or(u64::MAX)
        {
            self.overflow();
            return false;
        }
        true
    }

    /// Queues one encoded frame.
    pub fn push(&self, frame: Vec<u8>) {
        if !self.check() {
            return;
        }
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.overflow(),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues a protobuf message of table id `type_id`.
    pub fn send(&self, type_id: u32, message: &impl prost::Message) {
        self.push(encode_protobuf(type_id, message));
    }

    /// Whether the queue overflowed (the connection must close).
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::SeqCst)
    }

    /// Completes once the queue has overflowed.
    pub async fn wait_overflow(&self) {
        while !self.overflowed() {
            self.wake.notified().await;
        }
    }
}

/// One streaming `reqMktData` subscription and what was last sent for it.
#[derive(Debug, Clone)]
pub struct Stream {
    pub con_id: i32,
    pub last: market_data::Sent,
    /// Served as delayed data (delayed tick types).
    pub delayed: bool,
}

/// What one connection has subscribed to.
#[derive(Debug, Default)]
pub struct Subscriptions {
    /// Streaming market data by request id (each holds one line).
    pub market_data: BTreeMap<i32, Stream>,
    /// `reqPositions` is active (updates follow fills until cancelled).
    pub positions: bool,
    /// `reqAccountUpdates` is active.
    pub account_updates: bool,
    /// Last `reqMarketDataType` (1 live, 2 frozen, 3 delayed, 4 delayed-frozen).
    pub market_data_type: i32,
}

/// A connected client as the gateway sees it.
#[derive(Debug, Clone)]
pub struct ClientLink {
    pub out: Outbox,
    pub subs: Arc<Mutex<Subscriptions>>,
}

/// Shared by every connection and the heartbeat.
#[derive(Debug)]
pub struct Gateway {
    pub settings: SimSettings,
    book: Mutex<Book>,
    clients: Mutex<HashMap<i32, ClientLink>>,
    pub faults: Faults,
    /// Message pacing as observed over every connection.
    pub pacing: crate::pacing::PacingStats,
    history_pacing: Mutex<HistoryPacer>,
    dirty: AtomicBool,
    state_file: Option<PathBuf>,
    /// Bumped to close every connection at once.
    kill: watch::Sender<u64>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Gateway {
    pub fn new(settings: SimSettings, book: Book, state_file: Option<PathBuf>) -> Gateway {
        Gateway {
            settings,
            book: Mutex::new(book),
            clients: Mutex::new(HashMap::new()),
            faults: Faults::default(),
            pacing: crate::pacing::PacingStats::default(),
            history_pacing: Mutex::new(HistoryPacer::default()),
            dirty: AtomicBool::new(false),
            state_file,
            kill: watch::channel(0).0,
        }
    }

    /// The book, with the market advanced to the clock's now.
    pub fn book_now(&self) -> MutexGuard<'_, Book> {
        let mut book = lock(&self.book);
        book.market.advance_to(self.settings.clock.now());
        book
    }

    /// The time the gateway reports: the simulator's clock, plus the
    /// emulated host's clock skew.
    pub fn reported_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.settings.clock.now() + self.settings.setup.clock_skew
    }

    /// An error / notice frame (`id` −1 when about no request).
    pub fn error(&self, id: i32, code: i32, text: &str) -> ErrorMessage {
        ErrorMessage {
            id: Some(id),
            error_time: Some(self.reported_now().timestamp_millis()),
            error_code: Some(code),
            error_msg: Some(text.to_string()),
            advanced_order_reject_json: None,
        }
    }

    /// Registers a client; `None` if the id is taken (TWS's error 326).
    pub fn register(&self, client_id: i32, out: Outbox) -> Option<ClientLink> {
        let mut clients = lock(&self.clients);
        if clients.contains_key(&client_id) {
            return None;
        }
        let link = ClientLink {
            out,
            subs: Arc::new(Mutex::new(Subscriptions {
                market_data_type: 1,
                ..Subscriptions::default()
            })),
        };
        clients.insert(client_id, link.clone());
        Some(link)
    }

    /// Forgets a client (its market data lines are released).
    pub fn unregister(&self, client_id: i32) {
        lock(&self.clients).remove(&client_id);
    }

    /// Number of connected clients.
    pub fn client_count(&self) -> usize {
        lock(&self.clients).len()
    }

    /// Sends an error/notice `code` to every client as TWS would: the
    /// market data codes (354, 10090, 10197) once per streaming line, to
    /// its request id; system and farm codes once, to id -1. Returns the
    /// messages sent, or `None` for a code this fault does not model.
    pub fn send_notice(&self, code: i32) -> Option<usize> {
        let text = match code {
            354 => "Requested market data is not subscribed.",
            10090 => "Part of requested market data is not subscribed.",
            10197 => "No market data during competing live session",
            1100 => "Connectivity between IB and Trader Workstation has been lost.",
            1101 => "Connectivity between IB and TWS has been restored- data lost.",
            1102 => "Connectivity between IB and TWS has been restored- data maintained.",
            2104 => "Market data farm connection is OK:usfarm",
            2106 => "HMDS data farm connection is OK:ushmds",
            2158 => "Sec-def data farm connection is OK:secdefnj",
            _ => return None,
        };
        let per_line = matches!(code, 354 | 10090 | 10197);
        let mut sent = 0;
        for client in lock(&self.clients).values() {
            let ids: Vec<i32> = if per_line {
                lock(&client.subs).market_data.keys().copied().collect()
            } else {
                vec![-1]
            };
            for id in ids {
                client.out.send(
                    crate::wire::messages::reply::ERROR_MESSAGE,
                    &self.error(id, code, text),
                );
                sent += 1;
            }
        }
        Some(sent)
    }

    /// Streaming market data lines in use across all clients.
    pub fn lines_in_use(&self) -> usize {
        lock(&self.clients)
            .values()
            .map(|c| lock(&c.subs).market_data.len())
            .sum()
    }

    pub fn history_pacing(&self) -> MutexGuard<'_, HistoryPacer> {
        lock(&self.history_pacing)
    }

    /// A receiver that changes when every connection must close.
    pub fn kill_signal(&self) -> watch::Receiver<u64> {
        self.kill.subscribe()
    }

    /// Closes every client connection now.
    pub fn disconnect_all(&self) {
        self.kill.send_modify(|g| *g += 1);
    }

    /// Marks the account as changed (saved at the next heartbeat).
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::SeqCst);
    }

    /// Sends the frames of order events to the clients they concern:
    /// order status and executions to the order's owner, position and
    /// account updates to their subscribers.
    pub fn route(&self, book: &Book, events: &[OrderEvent]) {
        if events.is_empty() {
            return;
        }
        self.mark_dirty();
        let clients = lock(&self.clients);
        let mut positions_changed = Vec::new();
        for event in events {
            match event {
                OrderEvent::Status(order) => {
                    if let Some(c) = clients.get(&order.client_id()) {
                        for frame in orders::status_frames(book, order) {
                            c.out.push(frame);
                        }
                        if order.status == crate::orders::OrderStatus::Cancelled {
                            c.out.send(
                                reply::ERROR_MESSAGE,
                                &self.error(order.order_id(), 202, "Order Canceled - reason:"),
                            );
                        }
                    }
                }
                OrderEvent::Execution(e) => {
                    if let Some(c) = clients.get(&e.client_id) {
                        for frame in orders::execution_frames(book, -1, e) {
                            c.out.push(frame);
                        }
                    }
                    if e.con_id != 0 {
                        positions_changed.push(e.con_id);
                    }
                }
                OrderEvent::Expired { con_id, .. } => positions_changed.push(*con_id),
            }
        }
        if positions_changed.is_empty() {
            return;
        }
        positions_changed.sort_unstable();
        positions_changed.dedup();
        for c in clients.values() {
            let (positions, updates) = {
                let s = lock(&c.subs);
                (s.positions, s.account_updates)
            };
            if positions {
                for con_id in &positions_changed {
                    if let Some(p) = account::position_update(book, *con_id) {
                        c.out.send(reply::POSITION, &p);
                    }
                }
            }
            if updates {
                for frame in account::account_update_frames(book, &self.settings) {
                    c.out.push(frame);
                }
            }
        }
    }

    /// One heartbeat: advance, match, route, stream quotes, persist.
    pub fn tick(&self) {
        let snapshot = {
            let mut book = self.book_now();
            let now = self.settings.clock.now();
            let Book { market, venue } = &mut *book;
            let events = venue.on_tick(market, now);
            self.route(&book, &events);
            self.stream_quotes(&book);
            self.take_dirty().then(|| SavedState::of(&book))
        };
        if let Some(state) = snapshot {
            self.save(&state);
        }
    }

    fn take_dirty(&self) -> bool {
        self.state_file.is_some() && self.dirty.swap(false, Ordering::SeqCst)
    }

    fn save(&self, state: &SavedState) {
        if let Some(path) = &self.state_file
            && let Err(e) = persist::save(path, state)
        {
            tracing::error!("saving the simulator state: {e}");
        }
    }

    /// Saves the state file now (at shutdown).
    pub fn save_now(&self) {
        if self.state_file.is_some() {
            let state = SavedState::of(&self.book_now());
            self.save(&state);
        }
    }

    fn stream_quotes(&self, book: &Book) {
        let clients = lock(&self.clients);
        for c in clients.values() {
            let mut subs = lock(&c.subs);
            for (req_id, stream) in subs.market_data.iter_mut() {
                if let Some(q) = book.market.quote(stream.con_id) {
                    for frame in
                        market_data::changed_frames(*req_id, &q, stream.delayed, &mut stream.last)
                    {
                        c.out.push(frame);
                    }
                }
            }
        }
    }
}
