//! The watchdog against real sockets that are not a gateway: a port nobody
//! listens on, and a listener that accepts but never answers the handshake.
//! Both must end in backoff and retries within the cap, never "ready".

use std::time::Duration;

use futures::StreamExt;
use vspread_broker::watchdog::Backoff;
use vspread_broker::{BrokerSettings, IbBroker};
use vspread_core::ConId;
use vspread_core::broker::{Broker, BrokerError, BrokerEvent, ConnectionEvent};
use vspread_core::config::Config;

fn settings(address: String) -> BrokerSettings {
    let mut s = BrokerSettings::from_config(&Config::default());
    s.address = address;
    s.connect_timeout = Duration::from_millis(300);
    s.backoff = Backoff {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(100),
    };
    s
}

async fn lost_events(broker: &IbBroker, n: usize) -> Vec<(String, Duration)> {
    let mut events = broker.events();
    let mut lost = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lost.len() < n {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("events within 10 s")
            .expect("stream open");
        if let BrokerEvent::Connection(ConnectionEvent::Lost { reason, retry_in }) = next {
            lost.push((reason, retry_in));
        }
    }
    lost
}

#[tokio::test]
async fn refused_connections_back_off_within_the_cap_and_never_report_ready() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let broker = IbBroker::start(settings(format!("127.0.0.1:{port}")));
    let lost = lost_events(&broker, 4).await;
    for (reason, retry_in) in &lost {
        assert!(reason.contains("failed"), "{reason}");
        assert!(*retry_in <= Duration::from_millis(100), "{retry_in:?}");
        assert!(*retry_in >= Duration::from_millis(10), "{retry_in:?}");
    }
    assert!(!broker.is_ready());
    let m = broker.metrics().link_status();
    assert!(m.connect_failures >= 4, "{m:?}");
    assert_eq!(m.connects, 0);
    assert!(!m.ready);
    assert_eq!(
        broker.unsubscribe_quotes(ConId(1)).await,
        Ok(()),
        "releasing an unknown line needs no gateway"
    );
    assert_eq!(broker.stock("AAPL").await, Err(BrokerError::NotConnected));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_silent_listener_times_out_the_connect() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    // Accept and hold sockets without ever answering the handshake.
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let broker = IbBroker::start(settings(address));
    let lost = lost_events(&broker, 2).await;
    for (reason, _) in &lost {
        assert!(reason.contains("timed out"), "{reason}");
    }
    assert!(!broker.is_ready());
    broker.shutdown().await;
    holder.abort();
}
