//! The simulation's clock: a manual clock moved by what the engine waits
//! for, so simulated days pass as fast as the machine decides and trades,
//! without skipping anything the engine would see.
//!
//! - While a decision cycle runs, the clock follows real time (1×): the
//!   market moves while the engine decides, as it would live.
//! - While an order works at the gateway, the clock steps at most
//!   [`ORDER_STEP`] every [`ORDER_STEP_REAL`], landing on each of the
//!   orders' walk steps and timeouts (the order manager looks at the
//!   clock every 10 ms of real time). The simulator draws its fills over
//!   each simulated span, so a fill is as likely as in real time; its time
//!   is known to the step. While an order is being placed, or cancelled,
//!   or has ended and its last reports are coming in, the clock waits.
//! - Otherwise the engine waits for its next cycle: the clock jumps there,
//!   or, when neither the market nor the trading window is open then, to
//!   the first minute one of them is (a night, a weekend).
//!
//! After every move the simulator takes a heartbeat at once (its market
//! advanced, resting orders matched, changed quotes streamed), so the
//! gateway has caught up before the engine looks at the new time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vspread_core::clock::{Clock, ManualClock};
use vspread_engine::Engine;
use vspread_engine::market_hours::regular_session;
use vspread_engine::schedule::window_open;
use vspread_sim::server::ServerHandle;

/// The most simulated time an order's step moves the clock.
pub const ORDER_STEP: chrono::Duration = chrono::Duration::seconds(5);
/// The least (a step is never zero, so time always goes on).
const ORDER_STEP_MIN: chrono::Duration = chrono::Duration::seconds(1);
/// How long the clock waits for orders being placed or ended before it
/// moves on regardless (real time).
const HOLD_LIMIT: Duration = Duration::from_secs(3);
/// Real time between two order steps.
pub const ORDER_STEP_REAL: Duration = Duration::from_millis(10);
/// How long the driver waits for the engine to start a cycle it jumped to.
const CYCLE_START_WAIT: Duration = Duration::from_millis(500);

/// Moves `clock` until `end` has passed and the engine is idle.
pub struct Driver {
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub sim: ServerHandle,
    pub end: DateTime<Utc>,
}

/// What the driver did, for the run's summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct DriveStats {
    pub jumps: u64,
    pub order_steps: u64,
    pub busy_ticks: u64,
}

impl Driver {
    /// The instant the engine's next cycle is due, or the first minute
    /// after it at which the market or the trading window is open.
    fn next_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let config = self.engine.live().current().config.clone();
        let interval = chrono::Duration::seconds(config.trading.scan_interval_s.max(1));
        let due = self
            .engine
            .cycles()
            .last()
            .map_or(now, |c| c.now + interval)
            .max(now);
        let active = |t: DateTime<Utc>| {
            regular_session(t) || window_open(&config.trading_schedule, t) == Some(true)
        };
        if active(due) {
            return due;
        }
        // Nothing happens while both are closed: the first minute either
        // opens (at most a long weekend ahead), else the due time.
        let mut t = due;
        for _ in 0..(5 * 24 * 60) {
            t += chrono::Duration::minutes(1);
            if active(t) {
                use chrono::{DurationRound as _, TimeDelta};
                return t
                    .duration_trunc(TimeDelta::minutes(1))
                    .unwrap_or(t)
                    .max(due);
            }
        }
        due
    }

    /// How far the clock may move for the working orders: to the next of
    /// their walk steps and timeouts, at most [`ORDER_STEP`]; `None` while
    /// none of them is working at the gateway (each is being placed, or
    /// cancelled, or has ended), when the clock should wait.
    fn order_step(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        use vspread_core::OrderState;
        let execution = &self.engine.live().current().config.execution;
        let interval = chrono::Duration::milliseconds((execution.walk_interval_s * 1e3) as i64)
            .max(ORDER_STEP_MIN);
        let timeout = chrono::Duration::milliseconds((execution.order_timeout_s * 1e3) as i64);
        let mut step: Option<chrono::Duration> = None;
        for o in self.engine.working_orders() {
            let active = !o.state.is_terminal()
                && !matches!(o.state, OrderState::Intended | OrderState::CancelRequested);
            let Some(placed) = o.placed_at.filter(|_| active) else {
                continue;
            };
            let since = now - placed;
            let next_walk = interval
                * (since.num_milliseconds() / interval.num_milliseconds().max(1) + 1) as i32;
            let mut until = next_walk - since;
            if since < timeout {
                until = until.min(timeout - since);
            }
            let until = until.clamp(ORDER_STEP_MIN, ORDER_STEP);
            step = Some(step.map_or(until, |s| s.min(until)));
        }
        step
    }

    fn idle(&self) -> bool {
        !self.engine.cycle_running() && self.engine.working_orders().is_empty()
    }

    /// Runs until `end` has passed with the engine idle.
    pub async fn run(self) -> DriveStats {
        let mut stats = DriveStats::default();
        let mut last_real = Instant::now();
        let mut stalled = false;
        let mut held_since: Option<Instant> = None;
        // Recovery first: it asks the gateway, on the clock as it stands.
        while !self.engine.recovered() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        loop {
            let now = self.clock.now();
            if self.engine.cycle_running() {
                // The engine decides: the market's time passes as the real.
                let elapsed = last_real.elapsed();
                last_real = Instant::now();
                self.clock
                    .advance(chrono::Duration::from_std(elapsed).unwrap_or_default());
                self.sim.tick_now();
                stats.busy_ticks += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            last_real = Instant::now();
            if !self.engine.working_orders().is_empty() {
                let step = match self.order_step(now) {
                    Some(step) => {
                        held_since = None;
                        Some(step)
                    }
                    // Placing, cancelling or ending: the gateway answers
                    // without the clock; wait, but not forever.
                    None if held_since.get_or_insert_with(Instant::now).elapsed() > HOLD_LIMIT => {
                        held_since = None;
                        Some(ORDER_STEP_MIN)
                    }
                    None => None,
                };
                match step {
                    Some(step) => {
                        self.clock.advance(step);
                        self.sim.tick_now();
                        stats.order_steps += 1;
                        tokio::time::sleep(ORDER_STEP_REAL).await;
                    }
                    None => tokio::time::sleep(Duration::from_millis(2)).await,
                }
                continue;
            }
            held_since = None;
            if now >= self.end {
                return stats;
            }
            let mut due = self.next_due(now).min(self.end);
            let seen = self.engine.cycles().last().map_or(0, |c| c.number);
            if due <= now && stalled {
                // The engine took no cycle when it was due (paused, say):
                // time goes on without it.
                due = now + ORDER_STEP;
            }
            if due > now {
                self.clock.set(due);
                self.sim.tick_now();
                stats.jumps += 1;
            }
            if due >= self.end {
                continue;
            }
            // Wait for the engine to take the cycle up (or an order, or a
            // pause, to change what it waits for).
            let waited = Instant::now();
            let started = || self.engine.cycles().last().map_or(0, |c| c.number) != seen;
            while waited.elapsed() < CYCLE_START_WAIT && self.idle() && !started() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            stalled = self.idle() && !started();
        }
    }
}
