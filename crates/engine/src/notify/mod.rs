//! Notifications from vspread itself (`[notify]`): fills, closed trades,
//! the daily-loss halt, the gateway lost and back, the kill switch and
//! config applies, posted to webhooks (generic JSON, Slack, Discord, ntfy,
//! Telegram) for operators without Alertmanager, and for trade events
//! Prometheus cannot see.
//!
//! The engine never waits for a notification. The dispatcher is one more
//! subscriber of the event bus (whose publish never blocks); it turns an
//! event into a [`Message`] (a pure function, [`message::message`]) and
//! offers it to each target that hears its kind through the target's
//! bounded queue, without waiting: a full queue drops the message and
//! counts it. Each target's worker ([`delivery`]) posts its queue in order,
//! retrying with backoff and jitter, and gives up after a bounded number
//! of tries. `[notify]` is live: when it changes, targets whose settings
//! changed get a new worker (the old one finishes its queue), the others
//! keep theirs.

pub mod delivery;
pub mod format;
pub mod message;
pub mod secrets;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::error::TrySendError;
use tracing::{info, warn};
use vspread_core::config::{NotifyConfig, NotifyTarget};

pub use delivery::{RetryPolicy, TargetCounters};
pub use message::Message;

use crate::events::EventBus;
use crate::live_config::LiveConfig;

/// One target's counts, as the metrics read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetStats {
    pub target: String,
    pub sent: u64,
    pub failed: u64,
    pub retried: u64,
    pub dropped: u64,
    /// Waiting or being delivered now.
    pub queued: i64,
}

/// The counts of every target seen since the process started.
#[derive(Debug, Default)]
pub struct NotifyCounters(Mutex<BTreeMap<String, Arc<TargetCounters>>>);

impl NotifyCounters {
    /// Target `name`'s counters (made on first use).
    pub fn of(&self, name: &str) -> Arc<TargetCounters> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    pub fn stats(&self) -> Vec<TargetStats> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(name, c)| TargetStats {
                target: name.clone(),
                sent: c.sent.load(Ordering::Relaxed),
                failed: c.failed.load(Ordering::Relaxed),
                retried: c.retried.load(Ordering::Relaxed),
                dropped: c.dropped.load(Ordering::Relaxed),
                queued: c.queued.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// What makes a target's worker: a change of any of it makes a new one.
#[derive(Debug, Clone, PartialEq)]
struct Spec {
    target: NotifyTarget,
    policy: RetryPolicy,
    capacity: usize,
}

/// A target as the dispatcher holds it.
struct Running {
    spec: Spec,
    counters: Arc<TargetCounters>,
    /// `None` when its secret could not be read: its messages fail.
    worker: Option<delivery::Worker>,
}

/// The dispatcher's targets, kept in step with `[notify]`.
struct Targets {
    config_path: PathBuf,
    client: reqwest::Client,
    counters: Arc<NotifyCounters>,
    running: HashMap<String, Running>,
}

impl Targets {
    fn reconcile(&mut self, notify: &NotifyConfig) {
        let policy = RetryPolicy::from_config(notify);
        let capacity = usize::try_from(notify.queue_capacity.max(1)).unwrap_or(1);
        let mut next = HashMap::new();
        for (i, target) in notify.targets.iter().enumerate() {
            let spec = Spec {
                target: target.clone(),
                policy: policy.clone(),
                capacity,
            };
            if let Some(kept) = self.running.remove(&target.name)
                && kept.spec == spec
            {
                next.insert(target.name.clone(), kept);
                continue;
            }
            let counters = self.counters.of(&target.name);
            let worker = match secrets::read(target, i, &self.config_path) {
                Ok(secret) => Some(delivery::start(
                    target.name.clone(),
                    format::Destination {
                        format: target.format,
                        secret,
                        chat_id: target.chat_id.clone(),
                        telegram_api: target.telegram_api.clone(),
                    },
                    policy.clone(),
                    capacity,
                    self.client.clone(),
                    counters.clone(),
                )),
                Err(e) => {
                    // Checked when the config was taken: the secret went
                    // away since. Its messages count as failed.
                    warn!(target_name = %target.name, "notification target not started: {e}");
                    None
                }
            };
            if worker.is_some() {
                info!(target_name = %target.name, format = ?target.format, "notification target ready");
            }
            next.insert(
                target.name.clone(),
                Running {
                    spec,
                    counters,
                    worker,
                },
            );
        }
        // Targets left out stop once their queues are delivered.
        self.running = next;
    }

    /// Offers `message` to every target that hears its kind; never waits.
    fn offer(&self, message: &Arc<Message>) {
        for running in self.running.values() {
            if !running.spec.target.events.contains(&message.topic) {
                continue;
            }
            let c = &running.counters;
            let Some(worker) = &running.worker else {
                c.failed.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            c.queued.fetch_add(1, Ordering::Relaxed);
            match worker.tx.try_send(message.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    c.queued.fetch_sub(1, Ordering::Relaxed);
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Closed(_)) => {
                    c.queued.fetch_sub(1, Ordering::Relaxed);
                    c.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// The event stream overran the dispatcher by `n` events: whatever
    /// they were, every target may have missed them.
    fn overran(&self, n: u64) {
        for running in self.running.values() {
            running.counters.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// Runs the dispatcher until the event bus closes: follows `[notify]` in
/// `live` and offers every notifying event to its targets.
pub async fn run(events: Arc<EventBus>, live: Arc<LiveConfig>, counters: Arc<NotifyCounters>) {
    // Subscribed before anything else, so no event published from here on
    // is missed.
    let mut stream = events.subscribe();
    let mut changes = live.subscribe();
    let client = match reqwest::Client::builder().user_agent("vspread").build() {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "no HTTP client: notifications are off");
            return;
        }
    };
    let mut targets = Targets {
        config_path: live.path().to_path_buf(),
        client,
        counters,
        running: HashMap::new(),
    };
    targets.reconcile(&live.current().config.notify);
    let mut memory = message::Memory::default();
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(change) if change.changes.iter().any(|c| c.path.starts_with("notify")) => {
                    targets.reconcile(&change.snapshot.config.notify);
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => targets.reconcile(&live.current().config.notify),
                Err(RecvError::Closed) => return,
            },
            event = stream.recv() => match event {
                Ok(event) => {
                    if let Some(m) = message::message(&event, &mut memory) {
                        targets.offer(&Arc::new(m));
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    warn!(missed = n, "the notifier fell behind the event stream");
                    targets.overran(n);
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
