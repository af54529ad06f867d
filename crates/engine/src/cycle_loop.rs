//! The engine's heartbeat: one decision cycle every `[trading]
//! scan_interval_s` of the engine's clock, each passing the control plane's
//! gate and reading one config snapshot, with the trading schedule brought
//! up to date first.
//!
//! The loop owns timing, pausing and the schedule; what a cycle does (exits
//! for open positions, signals and entries while the session is active) is
//! the closure it is given, so each part stays testable alone. A paused
//! engine starts no cycle; a cycle running when a pause comes stops at its
//! next stage boundary (its [`CycleToken`] is no longer current), and
//! nothing waits for it. Time is the [`Clock`]'s: under an accelerated
//! clock a minute's interval passes in a fraction of a second, under a
//! manual one it passes when a test moves the clock.
//!
//! The loop also beats a [`Heartbeat`], which the liveness probe reads: a
//! loop that stops beating (a cycle stuck for far longer than any should
//! take, a starved runtime) is an engine that must be restarted.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use vspread_core::clock::Clock;
use vspread_core::config::Config;

use crate::control::{ControlPlane, CycleToken};
use crate::events::{EngineEvent, EventBus, SessionSwitched};
use crate::live_config::LiveConfig;
use crate::schedule::{SessionSwitch, TradingSession};

/// What one decision cycle works with.
#[derive(Debug, Clone)]
pub struct CycleContext {
    /// Counts cycles from 1.
    pub number: u64,
    /// When the cycle started, on the engine's clock.
    pub now: DateTime<Utc>,
    /// The one config snapshot every decision of this cycle reads.
    pub config: Arc<Config>,
    /// Its generation (increases with every applied change).
    pub config_generation: u64,
    /// Whether new entries are allowed by the schedule.
    pub session_active: bool,
    /// The switch the schedule made at the start of this cycle, if any.
    pub switched: Option<SessionSwitch>,
    /// Current while the engine has not been paused since the cycle began.
    pub token: CycleToken,
}

/// When the cycle loop last showed it is alive, and since when the cycle
/// it runs has been running (real time).
#[derive(Debug)]
pub struct Heartbeat {
    origin: std::time::Instant,
    /// Milliseconds since `origin` of the last beat.
    last_beat_ms: std::sync::atomic::AtomicU64,
    /// Milliseconds since `origin` the running cycle started; 0 when none runs.
    cycle_started_ms: std::sync::atomic::AtomicU64,
}

/// `last_beat_ms` before the first beat.
const NEVER: u64 = u64::MAX;

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            origin: std::time::Instant::now(),
            last_beat_ms: std::sync::atomic::AtomicU64::new(NEVER),
            cycle_started_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl Heartbeat {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Shows the loop (or what runs before it) is alive.
    pub fn beat(&self) {
        self.last_beat_ms
            .store(self.now_ms(), std::sync::atomic::Ordering::Relaxed);
    }

    fn cycle(&self, running: bool) {
        let at = if running { self.now_ms().max(1) } else { 0 };
        self.cycle_started_ms
            .store(at, std::sync::atomic::Ordering::Relaxed);
        self.beat();
    }

    /// Real time since the loop last beat; `None` before its first beat
    /// (an engine whose loop was never started, as in a one-shot command).
    pub fn since_beat(&self) -> Option<Duration> {
        match self.last_beat_ms.load(std::sync::atomic::Ordering::Relaxed) {
            NEVER => None,
            last => Some(Duration::from_millis(self.now_ms().saturating_sub(last))),
        }
    }

    /// How long the running cycle has been running, if one is.
    pub fn cycle_running_for(&self) -> Option<Duration> {
        match self
            .cycle_started_ms
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => None,
            started => Some(Duration::from_millis(self.now_ms().saturating_sub(started))),
        }
    }
}

/// The parts the loop drives.
#[derive(Debug, Clone)]
pub struct CycleLoop {
    pub clock: Arc<dyn Clock>,
    pub control: Arc<ControlPlane>,
    pub config: Arc<LiveConfig>,
    pub events: Arc<EventBus>,
    pub heartbeat: Arc<Heartbeat>,
}

/// Longest real-time sleep between looks at the clock, so a clock moved
/// by hand or running fast is followed closely.
const POLL: Duration = Duration::from_millis(10);

impl CycleLoop {
    /// Runs cycles until `shutdown` completes; a cycle in flight then is
    /// dropped at its next await (orders it handed over are the order
    /// manager's, and go on).
    pub async fn run<F, Fut>(&self, mut cycle: F, shutdown: impl Future<Output = ()>)
    where
        F: FnMut(CycleContext) -> Fut,
        Fut: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let first = self.config.current();
        let mut session =
            TradingSession::starting_at(&first.config.trading_schedule, self.clock.now());
        let mut number = 0;
        loop {
            self.heartbeat.beat();
            let token = tokio::select! {
                token = self.control.enter_cycle() => token,
                () = &mut shutdown => return,
                // Beat while paused too: a paused engine is alive.
                never = beating(&self.heartbeat) => match never {},
            };
            let snapshot = self.config.current();
            let now = self.clock.now();
            let switched = session.tick(&snapshot.config.trading_schedule, now);
            if let Some(switch) = switched {
                let at = SessionSwitched { at: now };
                match switch {
                    SessionSwitch::Activated => self
                        .events
                        .publish("trading window opened", EngineEvent::SessionActivated(at)),
                    SessionSwitch::Deactivated => self
                        .events
                        .publish("trading window closed", EngineEvent::SessionDeactivated(at)),
                };
            }
            number += 1;
            let context = CycleContext {
                number,
                now,
                config: snapshot.config.clone(),
                config_generation: snapshot.generation,
                session_active: session.is_active(),
                switched,
                token,
            };
            self.heartbeat.cycle(true);
            // A stop does not wait for the cycle: what it handed over is
            // the order manager's, and what it had not decided yet is
            // dropped with it.
            tokio::select! {
                () = cycle(context) => {}
                () = &mut shutdown => return,
            }
            self.heartbeat.cycle(false);

            let interval =
                Duration::from_secs(snapshot.config.trading.scan_interval_s.max(1) as u64);
            let next = chrono::Duration::from_std(interval)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            while self.clock.now() < next {
                self.heartbeat.beat();
                let wait = self
                    .clock
                    .real_duration_until(next)
                    .clamp(Duration::from_millis(1), POLL);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = &mut shutdown => return,
                }
            }
        }
    }
}

/// Beats every second, forever (while the loop waits to enter a cycle).
async fn beating(heartbeat: &Heartbeat) -> std::convert::Infallible {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        heartbeat.beat();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::PauseReason;
    use chrono::TimeZone as _;
    use std::path::PathBuf;
    use tokio::sync::mpsc;
    use vspread_core::clock::ManualClock;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        // Monday 2026-11-23.
        Utc.with_ymd_and_hms(2026, 11, 23, h, m, s).unwrap()
    }

    fn parts(start: DateTime<Utc>) -> (CycleLoop, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(start));
        let mut config = Config::default();
        config.trading.scan_interval_s = 60;
        let parts = CycleLoop {
            clock: clock.clone(),
            control: Arc::new(ControlPlane::new()),
            config: Arc::new(LiveConfig::with_config(
                PathBuf::from("config.toml"),
                config,
                "v1".into(),
            )),
            events: Arc::new(EventBus::new(64, clock.clone())),
            heartbeat: Arc::new(Heartbeat::default()),
        };
        (parts, clock)
    }

    /// Starts the loop with a cycle that reports its context; returns the
    /// receiver and a sender that stops the loop.
    fn start(
        parts: &CycleLoop,
    ) -> (
        mpsc::UnboundedReceiver<CycleContext>,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let parts = parts.clone();
        let task = tokio::spawn(async move {
            parts
                .run(
                    move |ctx| {
                        let tx = tx.clone();
                        async move {
                            let _ = tx.send(ctx);
                        }
                    },
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await;
        });
        (rx, stop, task)
    }

    async fn next(rx: &mut mpsc::UnboundedReceiver<CycleContext>) -> CycleContext {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a cycle")
            .unwrap()
    }

    async fn none_within(rx: &mut mpsc::UnboundedReceiver<CycleContext>, ms: u64) {
        assert!(
            tokio::time::timeout(Duration::from_millis(ms), rx.recv())
                .await
                .is_err(),
            "no cycle expected"
        );
    }

    #[tokio::test]
    async fn one_cycle_per_interval_of_the_engines_clock() {
        let (parts, clock) = parts(at(15, 0, 0));
        let (mut rx, stop, task) = start(&parts);
        let first = next(&mut rx).await;
        assert_eq!((first.number, first.now), (1, at(15, 0, 0)));
        assert!(first.session_active);
        // Real time passes, the clock does not: no second cycle.
        none_within(&mut rx, 100).await;
        clock.advance(chrono::Duration::seconds(59));
        none_within(&mut rx, 50).await;
        clock.advance(chrono::Duration::seconds(1));
        let second = next(&mut rx).await;
        assert_eq!((second.number, second.now), (2, at(15, 1, 0)));
        stop.send(()).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_paused_loop_starts_no_cycle_until_resumed() {
        let (parts, clock) = parts(at(15, 0, 0));
        let (mut rx, stop, task) = start(&parts);
        next(&mut rx).await;
        parts.control.pause(PauseReason::Operator("test".into()));
        clock.advance(chrono::Duration::seconds(600));
        none_within(&mut rx, 100).await;
        parts.control.resume();
        let resumed = next(&mut rx).await;
        assert_eq!((resumed.number, resumed.now), (2, at(15, 10, 0)));
        stop.send(()).unwrap();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn the_schedule_closes_and_opens_the_session_at_its_edges() {
        // Default window: 13:30-20:00 UTC, Monday to Friday.
        let (parts, clock) = parts(at(19, 59, 0));
        let mut history = parts.events.subscribe();
        let (mut rx, stop, task) = start(&parts);
        let open = next(&mut rx).await;
        assert!(open.session_active);
        assert_eq!(open.switched, None);
        clock.set(at(20, 0, 0));
        let closed = next(&mut rx).await;
        assert!(!closed.session_active);
        assert_eq!(closed.switched, Some(SessionSwitch::Deactivated));
        assert_eq!(history.recv().await.unwrap().kind(), "session.deactivated");
        // Tuesday 13:30:00.
        clock.set(Utc.with_ymd_and_hms(2026, 11, 24, 13, 30, 0).unwrap());
        let reopened = next(&mut rx).await;
        assert!(reopened.session_active);
        assert_eq!(reopened.switched, Some(SessionSwitch::Activated));
        assert_eq!(history.recv().await.unwrap().kind(), "session.activated");
        stop.send(()).unwrap();
        task.await.unwrap();
    }
}
