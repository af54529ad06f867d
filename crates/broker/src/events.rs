//! The event hub: every subscriber gets every order, connection and notice
//! event, in publication order, with nothing dropped (one unbounded queue
//! per subscriber; a subscriber that goes away is forgotten at the next
//! publication). Quotes are the exception that keeps the queues bounded:
//! they are wake-ups (a reader takes the line's latest quote from the
//! broker, never the tick it was woken by), arrive by the hundred a second,
//! and a subscriber that holds its stream without reading (a chain
//! acquisition waiting behind the trader for contract lookups) would
//! otherwise queue every one of them for as long as it waits. A subscriber
//! with [`QUOTE_BACKLOG`] events waiting is sent no more quotes until it
//! reads.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use vspread_core::broker::{BrokerEvent, EventStream};

use crate::metrics::BrokerMetrics;

/// Events a subscriber may have waiting before quotes are no longer
/// queued for it (order, connection and notice events always are). A
/// reader keeping up has a handful waiting. A quote wakes its reader, who
/// reads every line's latest quote from the broker, so one queued is as
/// good as many; the bound is what one that does not read costs. At
/// 4,096, a chain acquisition subscribing a batch of lines held about
/// 1.2 MB of queued quotes each time (a heap profile of the long run),
/// for as long as the batch took.
pub(crate) const QUOTE_BACKLOG: usize = 256;

#[derive(Debug)]
struct Subscriber {
    tx: mpsc::UnboundedSender<BrokerEvent>,
    /// Events sent and not yet taken by the reader.
    waiting: Arc<AtomicUsize>,
}

#[derive(Debug)]
pub(crate) struct EventHub {
    subscribers: Mutex<Vec<Subscriber>>,
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
        let quote = matches!(event, BrokerEvent::Quote(_));
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.retain(|s| {
            if quote && s.waiting.load(Ordering::Relaxed) >= QUOTE_BACKLOG {
                // Not reading: the quote is the broker's to give when asked.
                return !s.tx.is_closed();
            }
            s.waiting.fetch_add(1, Ordering::Relaxed);
            s.tx.send(event.clone()).is_ok()
        });
        self.metrics.event_published();
    }

    pub(crate) fn subscribe(&self) -> EventStream {
        let (tx, rx) = mpsc::unbounded_channel();
        let waiting = Arc::new(AtomicUsize::new(0));
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Subscriber {
                tx,
                waiting: waiting.clone(),
            });
        Box::pin(Receiver { rx, waiting })
    }
}

struct Receiver {
    rx: mpsc::UnboundedReceiver<BrokerEvent>,
    waiting: Arc<AtomicUsize>,
}

impl Stream for Receiver {
    type Item = BrokerEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BrokerEvent>> {
        let next = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(_)) = &next {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        next
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

    fn quote(id: i64) -> BrokerEvent {
        BrokerEvent::Quote(vspread_core::Quote::two_sided(
            vspread_core::ConId(id),
            rust_decimal::Decimal::ONE,
            rust_decimal::Decimal::TWO,
        ))
    }

    #[tokio::test]
    async fn a_subscriber_that_does_not_read_queues_at_most_the_quote_backlog() {
        let hub = EventHub::new(Arc::new(BrokerMetrics::default()));
        let mut idle = hub.subscribe();
        let mut reader = hub.subscribe();
        // Ten backlogs of quotes, with an order-side event in the middle
        // and at the end.
        for i in 0..10 * QUOTE_BACKLOG as i64 {
            hub.publish(quote(i));
            if i == 5 * QUOTE_BACKLOG as i64 || i == 10 * QUOTE_BACKLOG as i64 - 1 {
                hub.publish(BrokerEvent::Notice(Notice {
                    code: i as i32,
                    message: String::new(),
                }));
            }
            // The reader keeps up: it gets every quote.
            match reader.next().await {
                Some(BrokerEvent::Quote(q)) => assert_eq!(q.con_id.0, i),
                other => panic!("{other:?}"),
            }
            if i == 5 * QUOTE_BACKLOG as i64 || i == 10 * QUOTE_BACKLOG as i64 - 1 {
                assert!(matches!(reader.next().await, Some(BrokerEvent::Notice(_))));
            }
        }
        let waiting = hub.subscribers.lock().unwrap()[0]
            .waiting
            .load(Ordering::Relaxed);
        assert_eq!(
            waiting,
            QUOTE_BACKLOG + 2,
            "the backlog's quotes and both notices"
        );
        // The idle one has the first quotes, then every notice, in order.
        let mut quotes = 0;
        let mut notices = Vec::new();
        // (Unconstrained: tokio's budget would stop a receive loop at 128.)
        while let Some(Some(event)) =
            futures::FutureExt::now_or_never(tokio::task::unconstrained(idle.next()))
        {
            match event {
                BrokerEvent::Quote(q) => {
                    assert_eq!(q.con_id.0, quotes, "the first quotes, in order");
                    quotes += 1;
                }
                BrokerEvent::Notice(n) => notices.push(n.code),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(quotes, QUOTE_BACKLOG as i64);
        assert_eq!(
            notices,
            [5 * QUOTE_BACKLOG as i32, 10 * QUOTE_BACKLOG as i32 - 1]
        );
        // Caught up, it gets quotes again.
        hub.publish(quote(-1));
        assert!(matches!(idle.next().await, Some(BrokerEvent::Quote(q)) if q.con_id.0 == -1));
    }
}
