//! Delivering one target's messages: a task of its own that takes them
//! from the target's bounded queue in order and posts each, trying again
//! with exponential backoff and jitter while the service answers 5xx, 408
//! or 429, times out or cannot be reached, and giving up after `[notify]
//! max_attempts` tries. Nothing here runs on the engine's tasks: a slow or
//! dead service fills its own queue, and the dispatcher then drops (and
//! counts) what does not fit.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng as _;
use reqwest::StatusCode;
use tokio::sync::mpsc;
use tracing::{debug, warn};
use vspread_core::config::NotifyConfig;

use super::format::{Destination, Post, post};
use super::message::Message;

/// One target's counts, kept for the life of the process (a target
/// reconfigured under the same name keeps counting).
#[derive(Debug, Default)]
pub struct TargetCounters {
    /// Delivered (the service answered 2xx).
    pub sent: AtomicU64,
    /// Given up: tries exhausted, a final refusal (4xx), or no secret.
    pub failed: AtomicU64,
    /// Tries after the first.
    pub retried: AtomicU64,
    /// Not queued: the queue was full (or the event stream overran the
    /// dispatcher).
    pub dropped: AtomicU64,
    /// Waiting in the queue or being delivered now.
    pub queued: AtomicI64,
}

/// How a target retries, from `[notify]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    pub timeout: Duration,
}

impl RetryPolicy {
    pub fn from_config(notify: &NotifyConfig) -> Self {
        let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
        Self {
            max_attempts: u32::try_from(notify.max_attempts.max(1)).unwrap_or(1),
            initial: secs(notify.retry_initial_s),
            max: secs(notify.retry_max_s),
            timeout: secs(notify.timeout_s),
        }
    }

    /// The wait after try `attempt` (from 1) failed: `initial` doubled for
    /// each try before it, capped at `max`, less a random part of up to
    /// half (`jitter` in 0..1 picks how much).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        doubled
            .min(self.max)
            .mul_f64(1.0 - 0.5 * jitter.clamp(0.0, 1.0))
    }
}

/// How one try went.
#[derive(Debug)]
enum Try {
    Delivered,
    /// Worth another try (5xx, 408, 429, a timeout, no connection).
    Again(String),
    /// Final (any other answer).
    Refused(String),
}

async fn try_once(client: &reqwest::Client, p: &Post, timeout: Duration) -> Try {
    let mut request = client
        .post(&p.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, p.content_type)
        .body(p.body.clone());
    for (name, value) in &p.headers {
        request = request.header(*name, value);
    }
    match request.send().await {
        Ok(r) if r.status().is_success() => Try::Delivered,
        Ok(r)
            if r.status().is_server_error()
                || r.status() == StatusCode::TOO_MANY_REQUESTS
                || r.status() == StatusCode::REQUEST_TIMEOUT =>
        {
            Try::Again(format!("answered {}", r.status()))
        }
        Ok(r) => Try::Refused(format!("answered {}", r.status())),
        // Never the URL: it is the secret.
        Err(e) if e.is_timeout() => Try::Again("timed out".into()),
        Err(e) if e.is_connect() => Try::Again("could not connect".into()),
        Err(e) if e.is_builder() => Try::Refused("the URL is not usable".into()),
        Err(_) => Try::Again("the request failed".into()),
    }
}

/// A running target: its queue's sender. Dropping it lets the worker
/// finish what is queued and stop.
#[derive(Debug)]
pub struct Worker {
    pub tx: mpsc::Sender<Arc<Message>>,
}

/// Starts target `name`'s worker, posting to `to` under `policy`, with a
/// queue of `capacity` messages.
pub fn start(
    name: String,
    to: Destination,
    policy: RetryPolicy,
    capacity: usize,
    client: reqwest::Client,
    counters: Arc<TargetCounters>,
) -> Worker {
    let (tx, mut rx) = mpsc::channel::<Arc<Message>>(capacity.max(1));
    tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            deliver(&name, &to, &policy, &client, &counters, &message).await;
            counters.queued.fetch_sub(1, Ordering::Relaxed);
        }
    });
    Worker { tx }
}

async fn deliver(
    name: &str,
    to: &Destination,
    policy: &RetryPolicy,
    client: &reqwest::Client,
    counters: &TargetCounters,
    message: &Message,
) {
    let p = post(to, message);
    let mut attempt = 1;
    loop {
        match try_once(client, &p, policy.timeout).await {
            Try::Delivered => {
                counters.sent.fetch_add(1, Ordering::Relaxed);
                debug!(
                    target_name = name,
                    kind = message.kind,
                    attempt,
                    "notification delivered"
                );
                return;
            }
            Try::Refused(why) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                warn!(
                    target_name = name,
                    kind = message.kind,
                    "notification refused: {why}; not tried again"
                );
                return;
            }
            Try::Again(why) if attempt >= policy.max_attempts => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
                warn!(
                    target_name = name,
                    kind = message.kind,
                    attempts = attempt,
                    "notification given up: {why}"
                );
                return;
            }
            Try::Again(why) => {
                let wait = policy.backoff(attempt, rand::rng().random::<f64>());
                debug!(
                    target_name = name,
                    attempt,
                    ?wait,
                    "notification not delivered ({why}); trying again"
                );
                counters.retried.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_less_up_to_half() {
        let p = RetryPolicy {
            max_attempts: 6,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            timeout: Duration::from_secs(1),
        };
        let ms = |attempt, jitter| p.backoff(attempt, jitter).as_millis();
        assert_eq!(
            [ms(1, 0.0), ms(2, 0.0), ms(3, 0.0), ms(4, 0.0), ms(5, 0.0)],
            [100, 200, 400, 800, 1000]
        );
        assert_eq!(ms(3, 1.0), 200, "half off at most");
        assert_eq!(ms(3, 0.5), 300);
        assert_eq!(ms(60, 0.0), 1000, "no overflow far out");
    }
}
