//! The TCP server, shaped like mini-redis: [`Server::start`] spawns an
//! accept loop (one task per client, a semaphore capping connections) and
//! the heartbeat, and returns a [`ServerHandle`] for faults and shutdown;
//! [`run`] serves until a shutdown future completes.
//!
//! A connection: the `API\0` handshake and version negotiation (answered
//! alone, in one write), `startApi` with a client id no other connection
//! holds (else TWS's error 326 and close), the startup messages, then
//! requests until the client leaves. Replies go through a bounded outbox
//! drained by a writer task, so a slow or silent reader never stalls the
//! gateway; a client that stops reading altogether is disconnected.
//! Bytes that cannot be framed (bad prefix, length over 16 MiB, a frame
//! cut short) close that connection only; a frame that is framed but not
//! understood is answered with an error and the connection stays.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use prost::Message as _;
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use vspread_core::clock::Clock;

use crate::faults::{ControlCommand, Setup};
use crate::gateway::{Book, Gateway, Outbox, lock};
use crate::handlers::{self, Ctx, session};
use crate::market::Market;
use crate::market::calendar::to_ny;
use crate::orders::Venue;
use crate::pacing::{MESSAGES_PER_SECOND, MessagePacer, Pace, RATE_EXCEEDED};
use crate::wire::frame::{
    FrameError, encode_protobuf, read_handshake, read_message, write_handshake_reply,
};
use crate::wire::messages::{StartApiRequest, reply, request};

/// How the gateway behaves; [`SimSettings::new`] gives IB's defaults.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// Accounts reported by `managedAccounts` (default: the venue's).
    pub accounts: Vec<String>,
    /// The simulator's clock (market time, `currentTime`, error stamps).
    pub clock: Arc<dyn Clock>,
    /// How long a client may take to complete the handshake.
    pub handshake_timeout: Duration,
    /// Real time between heartbeats (market advance, fills, streaming).
    pub heartbeat: Duration,
    /// Most clients connected at once (TWS allows 32).
    pub max_connections: usize,
    /// Streaming market data lines per account (IB's default 100).
    pub market_data_lines: usize,
    /// Messages per second a client may send (IB: 50).
    pub messages_per_second: usize,
    /// Frames queued for a client before it counts as not reading: once
    /// its queue stays over this for two seconds, or reaches sixteen times
    /// it (a client that reads takes a larger burst in its stride).
    pub outbox_frames: usize,
    /// A daily restart: at this New York time of simulated day, every
    /// connection closes and new ones are refused for the duration.
    pub daily_restart: Option<(NaiveTime, Duration)>,
    /// The emulated installation's settings and permissions (healthy by
    /// default; see [`Setup`]).
    pub setup: Setup,
    /// Apply IB's historical-data pacing (error 162 for requests too
    /// close together, in real time). On by default; an in-process
    /// simulation that runs days in seconds turns it off.
    pub pace_history: bool,
}

impl SimSettings {
    pub fn new(clock: Arc<dyn Clock>) -> SimSettings {
        SimSettings {
            accounts: Vec::new(),
            clock,
            handshake_timeout: Duration::from_secs(10),
            heartbeat: Duration::from_millis(250),
            max_connections: 32,
            market_data_lines: 100,
            messages_per_second: MESSAGES_PER_SECOND,
            outbox_frames: 100_000,
            daily_restart: None,
            setup: Setup::default(),
            pace_history: true,
        }
    }
}

/// A gateway ready to serve: settings, market and venue.
#[derive(Debug)]
pub struct Server {
    settings: SimSettings,
    book: Book,
    state_file: Option<PathBuf>,
}

impl Server {
    pub fn new(mut settings: SimSettings, market: Market, venue: Venue) -> Server {
        if settings.accounts.is_empty() {
            settings.accounts = vec![venue.account().id.clone()];
        }
        Server {
            settings,
            book: Book { market, venue },
            state_file: None,
        }
    }

    /// Saves the account and market to `path` on change and at shutdown.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Server {
        self.state_file = Some(path.into());
        self
    }

    /// Starts serving on `listener`.
    pub fn start(self, listener: TcpListener) -> ServerHandle {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let gateway = Arc::new(Gateway::new(self.settings, self.book, self.state_file));
        let (stop, stopped) = watch::channel(false);
        let (restarts, restart_rx) = mpsc::unbounded_channel();
        let heartbeat = tokio::spawn(heartbeat(
            gateway.clone(),
            stopped.clone(),
            restarts.clone(),
        ));
        let accept = tokio::spawn(accept_loop(
            listener,
            addr,
            gateway.clone(),
            restart_rx,
            stopped,
        ));
        ServerHandle {
            inner: Arc::new(Inner {
                gateway,
                addr,
                restarts,
                stop,
                tasks: Mutex::new(vec![accept, heartbeat]),
            }),
        }
    }
}

#[derive(Debug)]
struct Inner {
    gateway: Arc<Gateway>,
    addr: SocketAddr,
    restarts: mpsc::UnboundedSender<Duration>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The running server: fault injection and shutdown. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    inner: Arc<Inner>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Clients connected now.
    pub fn client_count(&self) -> usize {
        self.inner.gateway.client_count()
    }

    /// Streaming market data lines in use across all clients.
    pub fn market_data_lines(&self) -> usize {
        self.inner.gateway.lines_in_use()
    }

    /// The most messages one connection sent within any sliding second, and
    /// how many messages were refused for the rate (error 100), so far.
    pub fn message_pacing(&self) -> (usize, u64) {
        let p = &self.inner.gateway.pacing;
        (p.peak(), p.refused())
    }

    /// Sends IB error/notice `code` to every client (see
    /// `Gateway::send_notice`); `None` for a code not modelled.
    pub fn send_notice(&self, code: i32) -> Option<usize> {
        self.inner.gateway.send_notice(code)
    }

    /// Orders the venue has accepted with this `orderRef` (working or done):
    /// what a test checks to prove an order was sent once.
    pub fn orders_with_ref(&self, order_ref: &str) -> usize {
        let book = self.inner.gateway.book_now();
        book.venue
            .orders()
            .iter()
            .filter(|o| o.request.order_ref == order_ref)
            .count()
    }

    /// A heartbeat now: the market advanced to the clock, resting orders
    /// matched, fills and changed quotes sent. For a driver that moves a
    /// manual clock (`vspread simulate`) and wants the gateway to have
    /// caught up before the engine looks.
    pub fn tick_now(&self) {
        self.inner.gateway.tick();
    }

    /// Closes every client connection now (as when TWS drops its sockets).
    pub fn disconnect_all(&self) {
        self.inner.gateway.disconnect_all();
    }

    /// A restart: every connection closes, connection attempts are refused
    /// for `window`, then the port accepts again.
    pub fn daily_restart(&self, window: Duration) {
        let _ = self.inner.restarts.send(window);
    }

    /// Rejects the next `n` orders with error 201.
    pub fn reject_next_orders(&self, n: u32) {
        self.inner.gateway.faults.reject_next_orders(n);
    }

    /// Caps every fill at `max` combos (`None`: the venue's own sizes).
    pub fn force_partial_fills(&self, max: Option<u32>) {
        self.inner.gateway.book_now().venue.force_partial_fills(max);
    }

    /// Waits `delay` before handling each request (zero: no delay).
    pub fn delay_responses(&self, delay: Duration) {
        self.inner.gateway.faults.set_delay(delay);
    }

    /// Ends every request-side fault (see [`ControlCommand::Clear`]).
    pub fn clear_faults(&self) {
        let faults = &self.inner.gateway.faults;
        faults.clear_rejections();
        faults.set_delay(Duration::ZERO);
        self.force_partial_fills(None);
    }

    /// Clients disconnected so far because they stopped reading.
    pub fn clients_cut_off(&self) -> u64 {
        self.inner.gateway.faults.cut_off()
    }

    /// The ledger as JSON (see [`ControlCommand::Ledger`]).
    pub fn ledger(&self) -> serde_json::Value {
        let book = self.inner.gateway.book_now();
        let venue = &book.venue;
        let account = venue.account();
        serde_json::json!({
            "orders": venue.orders().iter().map(|o| serde_json::json!({
                "order_ref": o.request.order_ref, "order_id": o.order_id(),
                "client_id": o.client_id(), "perm_id": o.perm_id,
                "status": format!("{:?}", o.status), "quantity": o.request.quantity,
                "filled": o.filled, "commission": o.commission,
                "action": format!("{:?}", o.request.action),
                "limit_price": o.request.limit_price,
                "contract": o.request.contract,
            })).collect::<Vec<_>>(),
            "executions": venue.executions().iter().map(|x| serde_json::json!({
                "exec_id": x.exec_id, "order_ref": x.order_ref, "con_id": x.con_id,
                "side": x.side.code(), "shares": x.shares, "price": x.price,
                "commission": x.commission,
            })).collect::<Vec<_>>(),
            "positions": account.positions.iter().map(|(con_id, p)| serde_json::json!({
                "con_id": con_id, "quantity": p.quantity,
            })).collect::<Vec<_>>(),
            "cash": account.cash,
            "realized_pnl": account.realized_pnl,
            "commissions": account.commissions,
        })
    }

    /// Runs one control command; returns the line to answer.
    pub fn apply(&self, command: ControlCommand) -> String {
        match command {
            ControlCommand::Disconnect => self.disconnect_all(),
            ControlCommand::Restart(d) => self.daily_restart(d),
            ControlCommand::Reject(n) => self.reject_next_orders(n),
            ControlCommand::Partial(max) => self.force_partial_fills(max),
            ControlCommand::Delay(d) => self.delay_responses(d),
            ControlCommand::Clear => self.clear_faults(),
            ControlCommand::Notice(code) => {
                return match self.send_notice(code) {
                    Some(n) => format!("ok sent={n}"),
                    None => format!("error: code {code} is not a modelled notice"),
                };
            }
            ControlCommand::Ledger => return format!("ok {}", self.ledger()),
            ControlCommand::Status => {
                let f = &self.inner.gateway.faults;
                return format!(
                    "ok clients={} lines={} pending_rejections={} delay_ms={} cut_off={}",
                    self.client_count(),
                    self.inner.gateway.lines_in_use(),
                    f.pending_rejections(),
                    f.delay().as_millis(),
                    f.cut_off()
                );
            }
        }
        "ok".to_string()
    }

    /// Serves the control port on `listener`: one command per line (see
    /// [`ControlCommand`]), answered `ok…` or `error: …`.
    pub fn serve_control(&self, listener: TcpListener) -> JoinHandle<()> {
        let handle = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let handle = handle.clone();
                tokio::spawn(async move {
                    use tokio::io::AsyncBufReadExt as _;
                    let (r, mut w) = stream.into_split();
                    let mut lines = tokio::io::BufReader::new(r).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let answer = match ControlCommand::parse(&line) {
                            Ok(c) => handle.apply(c),
                            Err(e) => format!("error: {e}"),
                        };
                        if w.write_all(format!("{answer}\n").as_bytes()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        })
    }

    /// Stops accepting, closes every connection, saves the state file.
    pub async fn shutdown(&self) {
        let _ = self.inner.stop.send(true);
        self.inner.gateway.disconnect_all();
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *lock(&self.inner.tasks));
        for t in tasks {
            let _ = t.await;
        }
        self.inner.gateway.save_now();
    }
}

/// Serves on `listener` until `shutdown` completes, then shuts down.
pub async fn run(listener: TcpListener, server: Server, shutdown: impl Future<Output = ()>) {
    let handle = server.start(listener);
    shutdown.await;
    handle.shutdown().await;
}

async fn heartbeat(
    gateway: Arc<Gateway>,
    mut stopped: watch::Receiver<bool>,
    restarts: mpsc::UnboundedSender<Duration>,
) {
    let mut interval = tokio::time::interval(gateway.settings.heartbeat);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = gateway.settings.clock.now();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = interval.tick() => {}
        }
        gateway.tick();
        let now = gateway.settings.clock.now();
        if let Some((at, window)) = gateway.settings.daily_restart
            && crossed(last, now, at)
        {
            tracing::info!(%now, "daily restart");
            let _ = restarts.send(window);
        }
        last = now;
    }
}

/// Whether New York time-of-day `at` falls in `(from, to]`.
fn crossed(
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
    at: NaiveTime,
) -> bool {
    if to <= from {
        return false;
    }
    let (a, b) = (to_ny(from), to_ny(to));
    let mut day = a.date();
    while day <= b.date() {
        let t = day.and_time(at);
        if t > a && t <= b {
            return true;
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    false
}

async fn accept_loop(
    listener: TcpListener,
    addr: SocketAddr,
    gateway: Arc<Gateway>,
    mut restarts: mpsc::UnboundedReceiver<Duration>,
    mut stopped: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(gateway.settings.max_connections));
    let mut listener = Some(listener);
    loop {
        let Some(l) = listener.as_ref() else {
            // Between a restart's close and its end: refuse by not listening.
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    tracing::info!(%addr, "accepting connections again");
                    listener = Some(l);
                }
                Err(e) => {
                    tracing::warn!(%addr, "cannot listen again yet: {e}");
                    tokio::select! {
                        _ = stopped.changed() => return,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                }
            }
            continue;
        };
        tokio::select! {
            _ = stopped.changed() => return,
            Some(window) = restarts.recv() => {
                tracing::info!(?window, "restart: closing every connection, refusing new ones");
                listener = None;
                gateway.disconnect_all();
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = tokio::time::sleep(window) => {}
                }
            }
            accepted = l.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = limit.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "too many connections; refusing");
                        drop(stream);
                        continue;
                    };
                    let gateway = gateway.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, gateway).await {
                            tracing::debug!(%peer, "connection closed: {e}");
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Unregisters a client however its connection ends.
struct Registration {
    gateway: Arc<Gateway>,
    client_id: i32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.gateway.unregister(self.client_id);
    }
}

fn timed_out(what: &str) -> FrameError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_string()).into()
}

async fn serve(stream: TcpStream, gateway: Arc<Gateway>) -> Result<(), FrameError> {
    stream.set_nodelay(true)?;
    if let Ok(peer) = stream.peer_addr()
        && !gateway.settings.setup.trusts(peer.ip())
    {
        // TWS closes a connection from an address not in "Trusted IPs"
        // without answering the handshake.
        tracing::warn!(%peer, "connection from an address not in the trusted IPs; closing");
        return Ok(());
    }
    let mut kill = gateway.kill_signal();
    let (mut r, mut w) = stream.into_split();
    let timeout = gateway.settings.handshake_timeout;
    let version = tokio::select! {
        v = tokio::time::timeout(timeout, read_handshake(&mut r)) => v.map_err(|_| timed_out("handshake timed out"))??,
        _ = kill.changed() => return Ok(()),
    };
    // An older gateway answers its own highest version, whatever the
    // client offers.
    let version = version.min(gateway.settings.setup.server_version);
    let now = gateway.reported_now();
    write_handshake_reply(
        &mut w,
        version,
        &now.format("%Y%m%d %H:%M:%S UTC").to_string(),
    )
    .await?;

    // Nothing is sent before startApi (Python drops bytes that arrive with
    // the handshake reply), and startApi must come first.
    let start = tokio::select! {
        s = tokio::time::timeout(timeout, read_message(&mut r)) => s.map_err(|_| timed_out("no startApi"))??,
        _ = kill.changed() => return Ok(()),
    };
    let Some(start) = start else { return Ok(()) };
    let refuse = |code: i32, text: &str| {
        encode_protobuf(reply::ERROR_MESSAGE, &gateway.error(-1, code, text))
    };
    if start.protobuf_type() != Some(request::START_API) {
        w.write_all(&refuse(
            321,
            "Error validating request.-'bx' : cause - the API session must start with startApi",
        ))
        .await?;
        return Ok(());
    }
    let Ok(start) = StartApiRequest::decode(start.payload.as_slice()) else {
        w.write_all(&refuse(
            320,
            "Error reading request. Unable to parse startApi",
        ))
        .await?;
        return Ok(());
    };
    let client_id = start.client_id.unwrap_or(0);
    let (out, rx) = Outbox::new(gateway.settings.outbox_frames);
    let Some(link) = gateway.register(client_id, out.clone()) else {
        w.write_all(&refuse(
            326,
            "Unable to connect as the client id is already in use. Retry with a unique client id.",
        ))
        .await?;
        w.flush().await?;
        return Ok(());
    };
    let registration = Registration {
        gateway: gateway.clone(),
        client_id,
    };
    tracing::info!(client_id, version, "client connected");
    let writer = tokio::spawn(write_frames(w, rx, gateway.kill_signal()));
    let ctx = Ctx {
        gateway: &gateway,
        client_id,
        link: &link,
    };
    session::startup(&ctx);

    let mut pacer = MessagePacer::new(gateway.settings.messages_per_second);
    // A client whose queue stays full is found even when nothing more is
    // queued for it.
    let mut keeping_up = tokio::time::interval(Duration::from_millis(250));
    let result = loop {
        let message = tokio::select! {
            m = read_message(&mut r) => m,
            _ = kill.changed() => break Ok(()),
            _ = keeping_up.tick() => {
                out.check();
                continue;
            }
            _ = out.wait_overflow() => {
                gateway.faults.count_cut_off();
                break Ok(());
            }
        };
        let message = match message {
            Ok(Some(m)) => m,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let pace = pacer.check(Instant::now());
        gateway.pacing.observe(pacer.in_window());
        if pace != Pace::Serve {
            gateway.pacing.refused_one();
        }
        match pace {
            Pace::Serve => {}
            Pace::Reject => {
                ctx.error(handlers::id_of(&message), 100, RATE_EXCEEDED);
                continue;
            }
            Pace::Disconnect => {
                tracing::warn!(client_id, "far over the message rate; disconnecting");
                ctx.error(-1, 100, RATE_EXCEEDED);
                break Ok(());
            }
        }
        let delay = gateway.faults.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        handlers::dispatch(&ctx, &message);
    };
    drop(registration);
    drop(link);
    drop(out);
    // Let the writer flush what was queued (e.g. a last error) and close.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    tracing::info!(client_id, "client disconnected");
    result
}

/// Drains a client's outbox onto its socket, batching queued frames into
/// one write; stops when the outbox closes or every connection is killed.
async fn write_frames(
    w: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Vec<u8>>,
    mut kill: watch::Receiver<u64>,
) {
    let mut w = BufWriter::new(w);
    loop {
        let frame = tokio::select! {
            biased;
            _ = kill.changed() => break,
            f = rx.recv() => f,
        };
        let Some(frame) = frame else { break };
        if w.write_all(&frame).await.is_err() {
            return;
        }
        while let Ok(more) = rx.try_recv() {
            if w.write_all(&more).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn restart_time_crossings() {
        // 2026-11-23 is in EST (UTC-5): 23:45 New York = 04:45 UTC next day.
        let at = NaiveTime::from_hms_opt(23, 45, 0).unwrap();
        let t = |h, m| chrono::Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap();
        assert!(crossed(t(4, 40), t(4, 50), at));
        assert!(!crossed(t(4, 46), t(4, 50), at));
        assert!(!crossed(t(4, 50), t(4, 40), at), "time going back");
        assert!(crossed(t(4, 44), t(4, 45), at), "inclusive end");
    }
}
