//! Writes every order event the broker reports (statuses, executions,
//! commissions, rejections) to the journal as it arrives, independently of
//! whichever task is driving the order, so a fill is on disk even if that
//! task never finishes. Events of orders the journal does not know are
//! ignored by the journal; replays are recorded once.

use std::sync::Arc;

use futures::StreamExt;
use tokio::task::JoinHandle;
use tracing::warn;
use vspread_core::broker::{Broker, BrokerEvent};
use vspread_core::clock::Clock;

use crate::journal_io::JournalIo;

/// Starts recording. The subscription is taken before this returns, so no
/// event of an order placed afterwards is missed.
pub fn spawn_order_recorder(
    broker: &dyn Broker,
    journal: JournalIo,
    clock: Arc<dyn Clock>,
) -> JoinHandle<()> {
    let mut events = broker.events();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let BrokerEvent::Order(event) = event {
                let at = clock.now();
                if let Err(e) = journal.run(move |j| j.record_order_event(&event, at)).await {
                    warn!(error = %e, "order event not journaled");
                }
            }
        }
    })
}
