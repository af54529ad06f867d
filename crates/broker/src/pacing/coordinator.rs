//! The request coordinator: one queue per [`Priority`], one dispatcher, one
//! [`TokenBucket`]. A caller asks for a [`Grant`] before writing each
//! message to the gateway; the dispatcher hands grants out highest priority
//! first, at no more than the configured rate.
//!
//! Queues are bounded: when a priority's queue is full, [`Coordinator::acquire`]
//! waits for room (backpressure), and [`Coordinator::try_acquire`] refuses.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Priority;
use super::token_bucket::TokenBucket;
use crate::metrics::BrokerMetrics;

/// How the coordinator paces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacingSettings {
    /// Outbound messages per second (`[pacing] max_messages_per_sec`).
    pub max_messages_per_sec: u32,
    /// Tokens available at once; 1 spaces messages evenly.
    pub burst: u32,
    /// Requests that may wait in each priority's queue.
    pub queue_capacity: usize,
}

impl Default for PacingSettings {
    fn default() -> Self {
        Self {
            max_messages_per_sec: 45,
            burst: 1,
            queue_capacity: 256,
        }
    }
}

/// Permission to write one message. Holding it has no effect; it records
/// how long the request waited.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub priority: Priority,
    pub waited: Duration,
}

/// Why no grant was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacingError {
    #[error("the {0} request queue is full")]
    QueueFull(Priority),
    #[error("the request coordinator has shut down")]
    Closed,
}

struct Waiter {
    enqueued: Instant,
    reply: oneshot::Sender<Grant>,
    _slot: OwnedSemaphorePermit,
}

struct Shared {
    queues: Mutex<[VecDeque<Waiter>; Priority::COUNT]>,
    slots: [Arc<Semaphore>; Priority::COUNT],
    wake: Notify,
    metrics: Arc<BrokerMetrics>,
    /// Messages per second; the dispatcher follows changes.
    rate: AtomicU32,
}

struct DispatcherHandle(JoinHandle<()>);

impl Drop for DispatcherHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Cheap to clone; the dispatcher stops when the last clone is dropped.
#[derive(Clone)]
pub struct Coordinator {
    shared: Arc<Shared>,
    _dispatcher: Arc<DispatcherHandle>,
}

impl std::fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coordinator").finish_non_exhaustive()
    }
}

impl Coordinator {
    /// Starts the dispatcher on the current tokio runtime.
    pub fn start(settings: PacingSettings, metrics: Arc<BrokerMetrics>) -> Self {
        let capacity = settings.queue_capacity.max(1);
        let shared = Arc::new(Shared {
            queues: Mutex::new(std::array::from_fn(|_| VecDeque::new())),
            slots: std::array::from_fn(|_| Arc::new(Semaphore::new(capacity))),
            wake: Notify::new(),
            metrics,
            rate: AtomicU32::new(settings.max_messages_per_sec.max(1)),
        });
        let bucket = TokenBucket::new(settings.max_messages_per_sec, settings.burst);
        let task = tokio::spawn(dispatch(
            shared.clone(),
            bucket,
            settings.max_messages_per_sec,
        ));
        Self {
            shared,
            _dispatcher: Arc::new(DispatcherHandle(task)),
        }
    }

    /// Changes the message rate; the dispatcher spaces the next grants by
    /// it (`[pacing] max_messages_per_sec` applied live).
    pub fn set_rate(&self, per_sec: u32) {
        self.shared.rate.store(per_sec.max(1), Ordering::SeqCst);
        self.shared.wake.notify_one();
    }

    /// The message rate in force.
    pub fn rate(&self) -> u32 {
        self.shared.rate.load(Ordering::SeqCst)
    }

    /// Waits for room in the queue, then for a token.
    pub async fn acquire(&self, priority: Priority) -> Result<Grant, PacingError> {
        let slot = self.shared.slots[priority.index()]
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PacingError::Closed)?;
        self.enqueue(priority, slot).await
    }

    /// Like [`acquire`](Self::acquire) but refuses at once when the queue is full.
    pub async fn try_acquire(&self, priority: Priority) -> Result<Grant, PacingError> {
        let slot = match self.shared.slots[priority.index()]
            .clone()
            .try_acquire_owned()
        {
            Ok(slot) => slot,
            Err(_) => {
                self.shared.metrics.queue_full();
                return Err(PacingError::QueueFull(priority));
            }
        };
        self.enqueue(priority, slot).await
    }

    async fn enqueue(
        &self,
        priority: Priority,
        slot: OwnedSemaphorePermit,
    ) -> Result<Grant, PacingError> {
        let (reply, granted) = oneshot::channel();
        {
            let mut queues = lock(&self.shared.queues);
            queues[priority.index()].push_back(Waiter {
                enqueued: Instant::now(),
                reply,
                _slot: slot,
            });
        }
        self.shared.metrics.queue_entered(priority);
        self.shared.wake.notify_one();
        granted.await.map_err(|_| PacingError::Closed)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn dispatch(shared: Arc<Shared>, mut bucket: TokenBucket, mut rate: u32) {
    let origin = Instant::now();
    loop {
        let wanted = shared.rate.load(Ordering::SeqCst);
        if wanted != rate {
            bucket.set_rate(wanted);
            rate = wanted;
        }
        let has_waiter = {
            let mut queues = lock(&shared.queues);
            for (i, q) in queues.iter_mut().enumerate() {
                let before = q.len();
                q.retain(|w| !w.reply.is_closed());
                for _ in q.len()..before {
                    shared.metrics.queue_left(Priority::ALL[i]);
                }
            }
            queues.iter().any(|q| !q.is_empty())
        };
        if !has_waiter {
            shared.wake.notified().await;
            continue;
        }
        if let Err(wait) = bucket.try_take(origin.elapsed()) {
            shared.metrics.throttled();
            tokio::time::sleep(wait).await;
            continue;
        }
        let next = {
            let mut queues = lock(&shared.queues);
            Priority::ALL
                .iter()
                .find_map(|p| queues[p.index()].pop_front().map(|w| (*p, w)))
        };
        if let Some((priority, waiter)) = next {
            shared.metrics.queue_left(priority);
            let waited = waiter.enqueued.elapsed();
            if waiter.reply.send(Grant { priority, waited }).is_ok() {
                shared.metrics.granted(priority, waited);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rate: u32, capacity: usize) -> PacingSettings {
        PacingSettings {
            max_messages_per_sec: rate,
            burst: 1,
            queue_capacity: capacity,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn grants_are_spaced_at_the_configured_rate() {
        let metrics = Arc::new(BrokerMetrics::default());
        let c = Coordinator::start(settings(50, 1000), metrics.clone());
        let start = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..200 {
            let c = c.clone();
            handles.push(tokio::spawn(async move {
                c.acquire(Priority::MarketData).await.unwrap();
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap() - start);
        }
        times.sort();
        for w in times.windows(2) {
            assert!(w[1] - w[0] >= Duration::from_millis(20), "{w:?}");
        }
        // 200 grants at 50/s take just under 4 s.
        assert!(times[199] >= Duration::from_millis(3980));
        let snap = metrics.link_status();
        assert_eq!(snap.queues[Priority::MarketData.index()].granted, 200);
        assert!(
            snap.queues.iter().all(|q| q.depth == 0),
            "{:?}",
            snap.queues
        );
        assert!(snap.throttle_events >= 199);
        assert!(snap.wait_max >= Duration::from_millis(3900));
    }

    #[tokio::test(start_paused = true)]
    async fn orders_overtake_queued_lookups() {
        let metrics = Arc::new(BrokerMetrics::default());
        let c = Coordinator::start(settings(10, 100), metrics);
        let order_log = Arc::new(Mutex::new(Vec::new()));
        let mut handles = Vec::new();
        for i in 0..20 {
            let (c, log) = (c.clone(), order_log.clone());
            handles.push(tokio::spawn(async move {
                c.acquire(Priority::Lookup).await.unwrap();
                lock(&log).push(format!("lookup{i}"));
            }));
        }
        // Let the lookups queue up and a few get served.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (c2, log) = (c.clone(), order_log.clone());
        handles.push(tokio::spawn(async move {
            c2.acquire(Priority::MarketData).await.unwrap();
            lock(&log).push("quote".to_string());
        }));
        let (c3, log) = (c.clone(), order_log.clone());
        handles.push(tokio::spawn(async move {
            c3.acquire(Priority::Order).await.unwrap();
            lock(&log).push("order".to_string());
        }));
        for h in handles {
            h.await.unwrap();
        }
        let log = lock(&order_log).clone();
        let order_at = log.iter().position(|s| s == "order").unwrap();
        let quote_at = log.iter().position(|s| s == "quote").unwrap();
        assert!(order_at < quote_at);
        assert!(
            order_at <= 4,
            "order served at position {order_at}: {log:?}"
        );
        assert_eq!(log.len(), 22);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_refuses_or_makes_the_caller_wait() {
        let metrics = Arc::new(BrokerMetrics::default());
        let c = Coordinator::start(settings(1, 3), metrics.clone());
        let mut held = Vec::new();
        for _ in 0..3 {
            let c = c.clone();
            held.push(tokio::spawn(
                async move { c.acquire(Priority::Lookup).await },
            ));
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        // One was granted at once; two wait; capacity frees as grants happen.
        let depth = metrics.link_status().queues[Priority::Lookup.index()].depth;
        assert_eq!(depth, 2);
        // Fill the queue again: the third slot is free after the first grant.
        let c2 = c.clone();
        let third = tokio::spawn(async move { c2.acquire(Priority::Lookup).await });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(
            c.try_acquire(Priority::Lookup).await.unwrap_err(),
            PacingError::QueueFull(Priority::Lookup)
        );
        assert_eq!(metrics.link_status().queue_full_rejections, 1);
        // Other priorities have their own room.
        assert!(c.try_acquire(Priority::Order).await.is_ok());
        for h in held {
            h.await.unwrap().unwrap();
        }
        third.await.unwrap().unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_does_not_spend_a_token() {
        let metrics = Arc::new(BrokerMetrics::default());
        let c = Coordinator::start(settings(1, 10), metrics.clone());
        c.acquire(Priority::Lookup).await.unwrap();
        let c2 = c.clone();
        let abandoned = tokio::spawn(async move { c2.acquire(Priority::Lookup).await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        abandoned.abort();
        let _ = abandoned.await;
        let start = Instant::now();
        c.acquire(Priority::Lookup).await.unwrap();
        // The bucket's next token was due 1 s after the first grant.
        assert!(start.elapsed() <= Duration::from_millis(900));
        let status = metrics.link_status();
        assert_eq!(status.queues[Priority::Lookup.index()].granted, 2);
        assert!(
            status.queues.iter().all(|q| q.depth == 0),
            "{:?}",
            status.queues
        );
    }
}
