//! Merging of identical requests: while a request with a given key is in
//! flight, later callers with the same key wait for its answer instead of
//! sending their own message. If the leader is cancelled, one follower takes
//! over and sends.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::metrics::BrokerMetrics;

type Followers<V> = Vec<oneshot::Sender<V>>;

/// Requests in flight by key; `V` is the whole answer (usually a `Result`).
pub struct InFlight<K, V> {
    waiting: Mutex<HashMap<K, Followers<V>>>,
    metrics: Arc<BrokerMetrics>,
}

impl<K, V> std::fmt::Debug for InFlight<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight").finish_non_exhaustive()
    }
}

/// Removes the leader's entry if it is dropped before answering, so the
/// followers' receivers close and one of them becomes the leader.
struct LeaderGuard<'a, K: Eq + Hash, V> {
    map: &'a Mutex<HashMap<K, Followers<V>>>,
    key: Option<K>,
}

impl<K: Eq + Hash, V> Drop for LeaderGuard<'_, K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(self.map).remove(&key);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<K: Eq + Hash + Clone, V: Clone> InFlight<K, V> {
    pub fn new(metrics: Arc<BrokerMetrics>) -> Self {
        Self {
            waiting: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Runs `send` unless an identical request is in flight, in which case
    /// its answer is shared.
    pub async fn run<F, Fut>(&self, key: K, mut send: F) -> V
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = V>,
    {
        loop {
            let follower = {
                let mut map = lock(&self.waiting);
                match map.get_mut(&key) {
                    Some(followers) => {
                        let (tx, rx) = oneshot::channel();
                        followers.push(tx);
                        Some(rx)
                    }
                    None => {
                        map.insert(key.clone(), Vec::new());
                        None
                    }
                }
            };
            match follower {
                Some(rx) => {
                    if let Ok(answer) = rx.await {
                        self.metrics.merged();
                        return answer;
                    }
                    // The leader was cancelled; try again, maybe as leader.
                }
                None => {
                    let mut guard = LeaderGuard {
                        map: &self.waiting,
                        key: Some(key.clone()),
                    };
                    let answer = send().await;
                    guard.key = None;
                    let followers = lock(&self.waiting).remove(&key).unwrap_or_default();
                    for f in followers {
                        let _ = f.send(answer.clone());
                    }
                    return answer;
                }
            }
        }
    }

    /// Keys with a request in flight.
    pub fn len(&self) -> usize {
        lock(&self.waiting).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn identical_requests_in_flight_send_once() {
        let metrics = Arc::new(BrokerMetrics::default());
        let flights = Arc::new(InFlight::<String, u32>::new(metrics.clone()));
        let sends = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..10 {
            let (flights, sends) = (flights.clone(), sends.clone());
            let key = if i % 2 == 0 { "AAPL" } else { "MSFT" }.to_string();
            handles.push(tokio::spawn(async move {
                flights
                    .run(key.clone(), || async {
                        sends.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        key.len() as u32 * 10
                    })
                    .await
            }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), 40);
        }
        assert_eq!(sends.load(Ordering::SeqCst), 2);
        assert_eq!(metrics.link_status().merged_requests, 8);
        assert!(flights.is_empty());
        // Once answered, the same key is sent again.
        let again = flights.run("AAPL".to_string(), || async { 7 }).await;
        assert_eq!(again, 7);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_leader_hands_over_to_a_follower() {
        let metrics = Arc::new(BrokerMetrics::default());
        let flights = Arc::new(InFlight::<u8, u8>::new(metrics));
        let f1 = flights.clone();
        let leader = tokio::spawn(async move {
            f1.run(1, || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                1
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let f2 = flights.clone();
        let follower = tokio::spawn(async move { f2.run(1, || async { 2 }).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        leader.abort();
        assert_eq!(follower.await.unwrap(), 2);
    }
}
