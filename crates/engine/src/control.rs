//! The control plane: pause, resume, and the gate every decision cycle
//! passes through.
//!
//! Pausing is in-process, not a container freeze: a paused engine starts no
//! new scan, signal or order, but in-flight cycles finish, broker events
//! (fills, order status, quotes) keep flowing to their handlers, working
//! orders and market data stay, and the gateway connection stays up. So an
//! operator can pause, change the config and resume without losing an event.
//!
//! Mechanism: each decision cycle holds a read guard of one `RwLock` for its
//! whole duration; `pause` takes the write guard, which waits for in-flight
//! cycles to finish and then keeps new ones out until `resume`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, watch};

/// Whether new decision cycles may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    Running,
    /// A pause was asked for; in-flight cycles are finishing.
    Pausing,
    Paused,
}

/// Why the engine is paused, for the status bar and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum PauseReason {
    /// An operator paused it (who).
    Operator(String),
    /// A config apply is in progress.
    Apply,
}

/// What a pause cost: the time spent waiting for in-flight cycles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PauseReport {
    pub waited: Duration,
    /// False when the engine was already paused.
    pub newly_paused: bool,
}

/// Held by a decision cycle while it runs; a pause waits for it.
#[derive(Debug)]
pub struct CycleGuard {
    _read: OwnedRwLockReadGuard<()>,
}

#[derive(Debug)]
struct Paused {
    _write: OwnedRwLockWriteGuard<()>,
    reason: PauseReason,
    since: Instant,
}

/// The kill switch as the trader sees it, at once: the operator engages it
/// before the config change that records it (`risk.kill_switch`) is
/// applied, because an apply waits for the in-flight cycle and a working
/// entry order in that cycle must be cancelled now, not when its walk ends.
#[derive(Debug, Default)]
pub struct KillSwitch(std::sync::atomic::AtomicBool);

impl KillSwitch {
    pub fn set(&self, engaged: bool) {
        self.0.store(engaged, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_engaged(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Shared by the engine loop (which calls [`ControlPlane::enter_cycle`]) and
/// the admin API (which pauses and resumes).
#[derive(Debug)]
pub struct ControlPlane {
    kill_switch: Arc<KillSwitch>,
    gate: Arc<RwLock<()>>,
    paused: Mutex<Option<Paused>>,
    /// Serialises pause/resume/apply requests so they never interleave.
    requests: tokio::sync::Mutex<()>,
    state: watch::Sender<EngineState>,
}

impl Default for ControlPlane {
    fn default() -> Self {
        Self::new()
    }
}

impl ControlPlane {
    pub fn new() -> Self {
        Self {
            kill_switch: Arc::new(KillSwitch::default()),
            gate: Arc::new(RwLock::new(())),
            paused: Mutex::new(None),
            requests: tokio::sync::Mutex::new(()),
            state: watch::channel(EngineState::Running).0,
        }
    }

    pub fn state(&self) -> EngineState {
        *self.state.borrow()
    }

    /// The live kill switch (see [`KillSwitch`]).
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        self.kill_switch.clone()
    }

    /// Follows state changes (for the status bar and metrics).
    pub fn watch_state(&self) -> watch::Receiver<EngineState> {
        self.state.subscribe()
    }

    /// Why and since when the engine is paused, if it is.
    pub fn pause_reason(&self) -> Option<(PauseReason, Duration)> {
        let paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        paused
            .as_ref()
            .map(|p| (p.reason.clone(), p.since.elapsed()))
    }

    /// Waits until new cycles may start, then returns a guard to hold for
    /// the whole cycle.
    pub async fn enter_cycle(&self) -> CycleGuard {
        CycleGuard {
            _read: self.gate.clone().read_owned().await,
        }
    }

    /// A guard if the engine is running now, without waiting.
    pub fn try_enter_cycle(&self) -> Option<CycleGuard> {
        self.gate
            .clone()
            .try_read_owned()
            .ok()
            .map(|g| CycleGuard { _read: g })
    }

    /// Stops new cycles and waits for in-flight ones. Pausing a paused
    /// engine changes nothing (the first reason stays).
    pub async fn pause(&self, reason: PauseReason) -> PauseReport {
        let _req = self.requests.lock().await;
        self.pause_locked(reason).await
    }

    async fn pause_locked(&self, reason: PauseReason) -> PauseReport {
        if self.is_paused() {
            return PauseReport {
                waited: Duration::ZERO,
                newly_paused: false,
            };
        }
        let t0 = Instant::now();
        self.state.send_replace(EngineState::Pausing);
        let write = self.gate.clone().write_owned().await;
        let waited = t0.elapsed();
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = Some(Paused {
            _write: write,
            reason: reason.clone(),
            since: Instant::now(),
        });
        self.state.send_replace(EngineState::Paused);
        tracing::info!(
            ?reason,
            waited_ms = waited.as_secs_f64() * 1e3,
            "engine paused"
        );
        PauseReport {
            waited,
            newly_paused: true,
        }
    }

    /// Lets new cycles start again. Returns false if it was not paused.
    pub async fn resume(&self) -> bool {
        let _req = self.requests.lock().await;
        self.resume_locked()
    }

    fn resume_locked(&self) -> bool {
        let was = self.paused.lock().unwrap_or_else(|e| e.into_inner()).take();
        match was {
            Some(p) => {
                drop(p);
                self.state.send_replace(EngineState::Running);
                tracing::info!("engine resumed");
                true
            }
            None => false,
        }
    }

    fn is_paused(&self) -> bool {
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Runs `work` with the engine paused: pauses (unless already paused),
    /// runs it, and resumes only if this call did the pausing, so an
    /// operator's pause survives an apply. Returns the work's result and the
    /// interruption as new cycles saw it.
    pub async fn while_paused<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> (T, Interruption) {
        let _req = self.requests.lock().await;
        let t0 = Instant::now();
        let report = self.pause_locked(PauseReason::Apply).await;
        let paused_at = Instant::now();
        let out = work.await;
        let work_time = paused_at.elapsed();
        if report.newly_paused {
            self.resume_locked();
        }
        (
            out,
            Interruption {
                pause_wait: report.waited,
                work: work_time,
                total: if report.newly_paused {
                    t0.elapsed()
                } else {
                    Duration::ZERO
                },
                resumed: report.newly_paused,
            },
        )
    }
}

/// How long new cycles were held back by an apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interruption {
    /// Waiting for in-flight cycles to finish.
    pub pause_wait: Duration,
    /// The work done while paused (validate, back up, write, swap).
    pub work: Duration,
    /// From the pause request to resume; zero if the engine stayed paused.
    pub total: Duration,
    /// False when the engine was paused before and stays paused.
    pub resumed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pause_waits_for_in_flight_cycles_and_blocks_new_ones() {
        let cp = Arc::new(ControlPlane::new());
        let cycle = cp.enter_cycle().await;
        let pauser = {
            let cp = cp.clone();
            tokio::spawn(async move { cp.pause(PauseReason::Operator("ops".into())).await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(cp.state(), EngineState::Pausing);
        assert!(
            !pauser.is_finished(),
            "pause must wait for the running cycle"
        );
        drop(cycle);
        let report = pauser.await.unwrap();
        assert!(report.newly_paused);
        assert!(report.waited >= Duration::from_millis(25));
        assert_eq!(cp.state(), EngineState::Paused);
        assert!(cp.try_enter_cycle().is_none());
        assert!(matches!(
            cp.pause_reason(),
            Some((PauseReason::Operator(_), _))
        ));
        assert!(cp.resume().await);
        assert_eq!(cp.state(), EngineState::Running);
        assert!(cp.try_enter_cycle().is_some());
        assert!(!cp.resume().await, "resuming a running engine is a no-op");
    }

    #[tokio::test]
    async fn an_apply_keeps_an_operator_pause() {
        let cp = ControlPlane::new();
        cp.pause(PauseReason::Operator("ops".into())).await;
        let (v, interruption) = cp.while_paused(async { 7 }).await;
        assert_eq!(v, 7);
        assert!(!interruption.resumed);
        assert_eq!(cp.state(), EngineState::Paused);
    }

    #[tokio::test]
    async fn an_apply_on_a_running_engine_resumes_it() {
        let cp = ControlPlane::new();
        let states = cp.watch_state();
        let (_, interruption) = cp
            .while_paused(async {
                tokio::time::sleep(Duration::from_millis(5)).await;
            })
            .await;
        assert!(interruption.resumed);
        assert!(interruption.total >= interruption.work);
        assert_eq!(cp.state(), EngineState::Running);
        assert!(states.has_changed().unwrap());
    }
}
