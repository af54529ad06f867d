//! Probes that tell the truth.
//!
//! - **Liveness**: the process and its engine loop are alive. The cycle
//!   loop beats while it waits (paused or between cycles, at least every
//!   second); a loop that stops beating, or a decision cycle running far
//!   longer than any should, is an engine to restart. A gateway outage is
//!   not: restarting a healthy engine would not bring TWS back.
//! - **Readiness**: the engine can do its job now: the gateway link is
//!   ready (the gateway answered a request on this connection, not merely
//!   accepted a socket), the journal takes writes and has room (the
//!   storage verdict the entry gate reads), the config is loaded.
//!   Each part is named with why it fails.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;

use super::Engine;

/// One part of a probe's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Check {
    pub ok: bool,
    /// What was seen, or why it fails.
    pub detail: String,
}

/// Readiness: every part must pass.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Readiness {
    pub ready: bool,
    /// The gateway link answers requests.
    pub gateway: Check,
    /// The journal takes writes.
    pub journal: Check,
    /// A valid config is in force.
    pub config: Check,
}

/// Liveness: the engine loop beats.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Liveness {
    pub alive: bool,
    pub detail: String,
}

/// A loop that has not beaten for this long is stuck.
const BEAT_LIMIT: Duration = Duration::from_secs(60);
/// A decision cycle running this long (real time) is stuck.
const CYCLE_LIMIT: Duration = Duration::from_secs(15 * 60);
/// The journal is probed at most this often.
const JOURNAL_PROBE_EVERY: Duration = Duration::from_secs(1);

/// The journal's last probe, so a busy probe endpoint costs one probe a
/// second.
#[derive(Default)]
pub(super) struct HealthCache {
    journal: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Engine {
    /// Readiness now.
    pub async fn readiness(&self) -> Readiness {
        let link = self.link_status();
        let gateway = if link.ready {
            Check {
                ok: true,
                detail: format!(
                    "{} ready (server version {})",
                    link.address,
                    link.server_version.unwrap_or_default()
                ),
            }
        } else {
            Check {
                ok: false,
                detail: format!(
                    "{} is {}: the gateway does not answer API requests",
                    link.address,
                    link.state.name()
                ),
            }
        };
        // The same verdict the entry gate reads: a journal that takes the
        // probe but is low on space, or whose last write failed, is not
        // ready for new entries.
        let journal = match (self.journal_probe().await, self.0.storage.degraded()) {
            (Err(e), _) => Check {
                ok: false,
                detail: e,
            },
            (Ok(()), Some(degraded)) => Check {
                ok: false,
                detail: format!("{degraded}: new entries are refused"),
            },
            (Ok(()), None) => Check {
                ok: true,
                detail: "takes writes".into(),
            },
        };
        let snapshot = self.live().current();
        let config = Check {
            ok: true,
            detail: format!(
                "generation {} (version {})",
                snapshot.generation, snapshot.version
            ),
        };
        Readiness {
            ready: gateway.ok && journal.ok && config.ok,
            gateway,
            journal,
            config,
        }
    }

    async fn journal_probe(&self) -> Result<(), String> {
        let cache = &self.0.health.journal;
        if let Some((at, result)) = &*cache.lock().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < JOURNAL_PROBE_EVERY
        {
            return result.clone();
        }
        let result = self
            .0
            .journal
            .run(|j| j.probe())
            .await
            .map_err(|e| e.to_string());
        *cache.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), result.clone()));
        result
    }

    /// Liveness now.
    pub fn liveness(&self) -> Liveness {
        let beat = &self.0.heartbeat;
        liveness_of(
            beat.cycle_running_for(),
            beat.since_beat(),
            self.recovered(),
        )
    }
}

/// The liveness verdict from the loop's heartbeat: a cycle running past
/// [`CYCLE_LIMIT`], or no cycle and no beat for [`BEAT_LIMIT`], is a stuck
/// engine. Nothing about the gateway enters it.
fn liveness_of(
    cycle_running_for: Option<Duration>,
    since_beat: Option<Duration>,
    recovered: bool,
) -> Liveness {
    let Some(since_beat) = since_beat else {
        return Liveness {
            alive: true,
            detail: "the engine loop has not started".into(),
        };
    };
    if let Some(running) = cycle_running_for
        && running > CYCLE_LIMIT
    {
        return Liveness {
            alive: false,
            detail: format!(
                "a decision cycle has been running for {:.0} s",
                running.as_secs_f64()
            ),
        };
    }
    if cycle_running_for.is_none() && since_beat > BEAT_LIMIT {
        return Liveness {
            alive: false,
            detail: format!(
                "the engine loop has not beaten for {:.0} s",
                since_beat.as_secs_f64()
            ),
        };
    }
    Liveness {
        alive: true,
        detail: format!(
            "engine loop beat {:.1} s ago{}",
            since_beat.as_secs_f64(),
            if recovered { "" } else { " (recovering)" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beating_loop_is_alive_and_a_stuck_one_is_not() {
        let secs = Duration::from_secs;
        assert!(liveness_of(None, Some(secs(1)), true).alive);
        assert!(
            liveness_of(Some(secs(120)), Some(secs(120)), true).alive,
            "a long cycle is not a stuck loop"
        );
        assert!(liveness_of(None, None, true).alive, "not started yet");
        let silent = liveness_of(None, Some(secs(61)), true);
        assert!(!silent.alive);
        assert!(
            silent.detail.contains("not beaten for 61 s"),
            "{}",
            silent.detail
        );
        let stuck = liveness_of(Some(secs(16 * 60)), Some(secs(16 * 60)), true);
        assert!(!stuck.alive);
        assert!(
            stuck.detail.contains("running for 960 s"),
            "{}",
            stuck.detail
        );
        assert!(
            liveness_of(None, Some(secs(1)), false)
                .detail
                .ends_with("(recovering)")
        );
    }
}
