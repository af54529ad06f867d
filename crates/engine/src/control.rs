//! The control plane: pause, resume, the kill switch, and the token every
//! decision cycle carries.
//!
//! Semantics (what an operator can rely on):
//! - **Pause** takes effect at once and waits for nothing: no new decision
//!   cycle starts, and a cycle already running stops at its next stage
//!   boundary without handing anything over (its token is no longer
//!   current), so nothing is decided after the pause. Working orders are
//!   not decisions: the order manager keeps driving them by the plan they
//!   were issued with, and fills, statuses and quotes keep flowing to the
//!   journal and the positions.
//! - **Apply** holds new cycles back only for the swap of the config
//!   snapshot (microseconds). A cycle already running keeps the snapshot it
//!   started with, so no decision mixes two versions; the next cycle reads
//!   the new one. An operator's pause survives an apply.
//! - **Kill switch** is a flag read at every entry decision and at the
//!   hand-over; engaging it cancels working entries at once (the engine
//!   does that through the order manager). It is never queued behind a
//!   pause or an apply.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::watch;

/// Whether new decision cycles may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    Running,
    Paused,
}

/// Why the engine is paused, for the status bar and the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "detail")]
pub enum PauseReason {
    /// An operator paused it (who).
    Operator(String),
    /// A config apply is swapping the snapshot.
    Apply,
}

/// What a pause did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PauseReport {
    /// Always about zero: a pause waits for nothing.
    pub waited: Duration,
    /// False when the engine was already paused.
    pub newly_paused: bool,
}

/// Carried by a decision cycle: still current while the engine has not
/// been paused since the cycle began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleToken {
    epoch: u64,
}

#[derive(Debug)]
struct Paused {
    reason: PauseReason,
    since: Instant,
}

/// The kill switch as every part of the engine sees it, at once.
#[derive(Debug, Default)]
pub struct KillSwitch(AtomicBool);

impl KillSwitch {
    /// Sets it; returns whether it was engaged before.
    pub fn set(&self, engaged: bool) -> bool {
        self.0.swap(engaged, Ordering::SeqCst)
    }

    pub fn is_engaged(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Shared by the cycle loop, the decisions and the admin API.
#[derive(Debug)]
pub struct ControlPlane {
    kill_switch: Arc<KillSwitch>,
    paused: Mutex<Option<Paused>>,
    /// Counts operator pauses: a cycle's token names the epoch it began in.
    epoch: AtomicU64,
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
            paused: Mutex::new(None),
            epoch: AtomicU64::new(0),
            state: watch::channel(EngineState::Running).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Paused>> {
        self.paused.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn state(&self) -> EngineState {
        *self.state.borrow()
    }

    /// The kill switch.
    pub fn kill_switch(&self) -> Arc<KillSwitch> {
        self.kill_switch.clone()
    }

    /// Follows state changes (for the status bar and metrics).
    pub fn watch_state(&self) -> watch::Receiver<EngineState> {
        self.state.subscribe()
    }

    /// Why and since when the engine is paused, if it is.
    pub fn pause_reason(&self) -> Option<(PauseReason, Duration)> {
        self.lock()
            .as_ref()
            .map(|p| (p.reason.clone(), p.since.elapsed()))
    }

    /// Waits until new cycles may start; returns the cycle's token.
    pub async fn enter_cycle(&self) -> CycleToken {
        let mut state = self.state.subscribe();
        loop {
            if let Some(token) = self.try_enter_cycle() {
                return token;
            }
            // The sender lives as long as `self`.
            if state.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// A token if the engine is running now.
    pub fn try_enter_cycle(&self) -> Option<CycleToken> {
        let paused = self.lock();
        paused.is_none().then(|| CycleToken {
            epoch: self.epoch.load(Ordering::SeqCst),
        })
    }

    /// True while no operator pause came since `token` was issued: a cycle
    /// asks before each stage and before it hands anything over.
    pub fn is_current(&self, token: CycleToken) -> bool {
        self.epoch.load(Ordering::SeqCst) == token.epoch
            && !matches!(
                self.lock().as_ref(),
                Some(Paused {
                    reason: PauseReason::Operator(_),
                    ..
                })
            )
    }

    /// Stops new cycles at once, and ends the current one's decisions at
    /// its next stage boundary. Pausing a paused engine changes nothing
    /// (the first reason stays), except that an operator's pause during an
    /// apply makes the pause the operator's: the apply then leaves it.
    pub fn pause(&self, reason: PauseReason) -> PauseReport {
        let started = Instant::now();
        let mut paused = self.lock();
        let operator = matches!(reason, PauseReason::Operator(_));
        let newly_paused = match paused.as_mut() {
            None => {
                *paused = Some(Paused {
                    reason: reason.clone(),
                    since: Instant::now(),
                });
                true
            }
            Some(p) if operator && p.reason == PauseReason::Apply => {
                p.reason = reason.clone();
                true
            }
            Some(_) => false,
        };
        if newly_paused && operator {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        drop(paused);
        if newly_paused {
            self.state.send_replace(EngineState::Paused);
            if operator {
                tracing::info!(?reason, "engine paused");
            }
        }
        PauseReport {
            waited: started.elapsed(),
            newly_paused,
        }
    }

    /// Lets new cycles start again. Returns false if it was not paused.
    pub fn resume(&self) -> bool {
        let was = self.lock().take();
        match was {
            Some(p) => {
                self.state.send_replace(EngineState::Running);
                if p.reason != PauseReason::Apply {
                    tracing::info!("engine resumed");
                }
                true
            }
            None => false,
        }
    }

    /// Ends an apply's pause, unless an operator has paused meanwhile.
    fn resume_after_apply(&self) -> bool {
        let mut paused = self.lock();
        if paused
            .as_ref()
            .is_some_and(|p| p.reason == PauseReason::Apply)
        {
            *paused = None;
            drop(paused);
            self.state.send_replace(EngineState::Running);
            true
        } else {
            false
        }
    }

    /// Runs `work` (an apply's swap) with new cycles held back: pauses
    /// (unless already paused), runs it, and resumes only if this call did
    /// the pausing and no operator paused meanwhile. Cycles already running
    /// are not waited for. Returns the work's result and the interruption
    /// new cycles saw.
    pub async fn while_paused<T>(
        &self,
        work: impl std::future::Future<Output = T>,
    ) -> (T, Interruption) {
        let t0 = Instant::now();
        let report = self.pause(PauseReason::Apply);
        let paused_at = Instant::now();
        let out = work.await;
        let work_time = paused_at.elapsed();
        let resumed = report.newly_paused && self.resume_after_apply();
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
                resumed,
            },
        )
    }
}

/// How long new cycles were held back by an apply.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interruption {
    /// Taking the pause: nothing is waited for, so about zero.
    pub pause_wait: Duration,
    /// The work done while paused (the swap).
    pub work: Duration,
    /// From the pause to the resume; zero if the engine stayed paused.
    pub total: Duration,
    /// False when the engine was paused before and stays paused.
    pub resumed: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_takes_effect_at_once_and_ends_the_running_cycles_decisions() {
        let cp = Arc::new(ControlPlane::new());
        let token = cp.enter_cycle().await;
        assert!(cp.is_current(token));
        let report = cp.pause(PauseReason::Operator("ops".into()));
        assert!(report.newly_paused);
        assert!(report.waited < Duration::from_millis(5), "{report:?}");
        assert_eq!(cp.state(), EngineState::Paused);
        assert!(
            !cp.is_current(token),
            "the running cycle decides nothing more"
        );
        assert!(cp.try_enter_cycle().is_none());
        let waiting = {
            let cp = cp.clone();
            tokio::spawn(async move { cp.enter_cycle().await })
        };
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiting.is_finished(), "no cycle starts while paused");
        assert!(matches!(
            cp.pause_reason(),
            Some((PauseReason::Operator(_), _))
        ));
        assert!(cp.resume());
        let next = tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(cp.is_current(next));
        assert!(!cp.is_current(token), "an old token stays stale");
        assert!(!cp.resume(), "resuming a running engine is a no-op");
    }

    #[tokio::test]
    async fn an_apply_keeps_an_operator_pause() {
        let cp = ControlPlane::new();
        cp.pause(PauseReason::Operator("ops".into()));
        let (v, interruption) = cp.while_paused(async { 7 }).await;
        assert_eq!(v, 7);
        assert!(!interruption.resumed);
        assert_eq!(cp.state(), EngineState::Paused);
    }

    #[tokio::test]
    async fn an_apply_neither_waits_for_nor_stops_a_running_cycle() {
        let cp = ControlPlane::new();
        let token = cp.enter_cycle().await;
        let states = cp.watch_state();
        let (_, interruption) = cp
            .while_paused(async {
                assert!(
                    cp.try_enter_cycle().is_none(),
                    "no new cycle during the swap"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            })
            .await;
        assert!(interruption.resumed);
        assert!(interruption.total >= interruption.work);
        assert_eq!(cp.state(), EngineState::Running);
        assert!(states.has_changed().unwrap());
        assert!(
            cp.is_current(token),
            "the cycle keeps its snapshot and goes on"
        );
    }

    #[tokio::test]
    async fn an_operator_pause_during_an_apply_outlasts_it() {
        let cp = ControlPlane::new();
        let (_, interruption) = cp
            .while_paused(async {
                cp.pause(PauseReason::Operator("ops".into()));
            })
            .await;
        assert!(!interruption.resumed);
        assert_eq!(cp.state(), EngineState::Paused);
        assert!(matches!(
            cp.pause_reason(),
            Some((PauseReason::Operator(_), _))
        ));
    }
}
