//! The event hub: every subscriber gets every event, in publication order,
//! with nothing dropped (one unbounded queue per subscriber; a subscriber
//! that goes away is forgotten at the next publication).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use vspread_core::broker::{BrokerEvent, EventStream};

use crate::metrics::BrokerMetrics;

#[derive(Debug)]
pub(crate) struct EventHub {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<BrokerEvent>>>,
    metrics: Arc<BrokerMetrics>,
}

impl EventHub {
    pub(crate) fn new(metrics: Arc<BrokerMetrics>) -> Self {
        Self {
            subscribers: Mutex::new(Vec::new()),
            metrics,
        }
    }

    /// Publishes under the hub's lock, so concurrent publishers never
    /// interleave differently for different subscribers.
    pub(crate) fn publish(&self, event: BrokerEvent) {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| s.send(event.clone()).is_ok());
        self.metrics.event_published();
    }

    pub(crate) fn subscribe(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        Box::pin(Receiver(rx))
    }
}

struct Receiver(mpsc::UnboundedReceiver<BrokerEvent>);

impl Stream for Receiver {
    type Item = BrokerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BrokerEvent>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use vspread_core::broker::Notice;

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let hub = EventHub::new(Arc::new(BrokerMetrics::default()));
        let mut a = hub.subscribe();
        let b = hub.subscribe();
        drop(b);
        for code in 0..1000 {
            hub.publish(BrokerEvent::Notice(Notice {
                code,
                message: String::new(),
            }));
        }
        for code in 0..1000 {
            match a.next().await {
                Some(BrokerEvent::Notice(n)) => assert_eq!(n.code, code),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(hub.subscribers.lock().unwrap().len(), 1);
    }
}
