//! Writes every order event the broker reports (statuses, executions,
//! commissions, rejections) to the journal as it arrives, independently of
//! whichever step is driving the order, so a fill is on disk even if that
//! step never finishes. Events of orders the journal does not know are
//! ignored by the journal; replays are recorded once.

use std::sync::Arc;

use futures::StreamExt;
use tokio::task::JoinHandle;
use tracing::warn;
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::Clock;
use vspread_core::journal::Journal;

/// Starts recording. The subscription is taken before this returns, so no
/// event of an order placed afterwards is missed.
pub fn spawn_order_recorder(
    broker: &dyn Broker,
    journal: Arc<dyn Journal>,
    clock: Arc<dyn Clock>,
) -> JoinHandle<()> {
    let mut events = broker.events();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let BrokerEvent::Order(event) = event {
                let journal = journal.clone();
                let at = clock.now();
                // SQLite syncs to disk: keep it off the async workers.
                let written =
                    tokio::task::spawn_blocking(move || journal.record_order_event(&event, at))
                        .await;
                match written {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => warn!(error = %e, "order event not journaled"),
                    Err(e) => warn!(error = %e, "order event journaling task failed"),
                }
            }
        }
    })
}
