//! Market data over `ibapi`: streaming lines kept within the budget by the
//! [`LineBook`](crate::lines::LineBook) (LRU eviction, pinning), one reader
//! task per line turning ticks into [`Quote`] events, snapshots that hold no
//! line, and resubscription of every line after a reconnect or 1101.

use std::sync::Arc;

use futures::StreamExt;
use ibapi::contracts::tick_types::TickType;
use ibapi::market_data::realtime::TickTypes;
use ibapi::subscriptions::SubscriptionItem;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use vspread_core::broker::{BrokerError, BrokerEvent, MarketDataIssue, Notice};
use vspread_core::{ConId, ContractInfo, Greeks, Instrument, Quote};

use crate::convert::{contract_of, decimal, price};
use crate::lines::Admission;
use crate::pacing::Priority;
use crate::session::{Inner, lock, map_err};

/// One held line.
#[derive(Debug)]
pub(crate) struct LineEntry {
    pub(crate) contract: ContractInfo,
    pub(crate) quote: Quote,
    reader: Option<JoinHandle<()>>,
}

impl LineEntry {
    fn stop(&mut self) -> bool {
        match self.reader.take() {
            Some(h) => {
                h.abort();
                true
            }
            None => false,
        }
    }
}

fn update_metrics(inner: &Inner) {
    let lines = lock(&inner.lines);
    inner
        .metrics
        .set_lines(lines.book.len(), lines.book.pinned());
}

/// Admits the contract to the budget (evicting if needed) and starts its line.
pub(crate) async fn subscribe(
    inner: &Arc<Inner>,
    contract: ContractInfo,
    pinned: bool,
) -> Result<(), BrokerError> {
    let con_id = contract.con_id;
    let evicted = {
        let mut lines = lock(&inner.lines);
        match lines.book.admit(con_id, pinned) {
            Admission::AlreadyActive => return Ok(()),
            Admission::Refused => {
                inner.metrics.line_refused();
                return Err(BrokerError::LinesExhausted(lines.book.capacity()));
            }
            Admission::Added { evicted } => {
                let old = evicted.and_then(|k| lines.entries.remove(&k).map(|e| (k, e)));
                lines.entries.insert(
                    con_id,
                    LineEntry {
                        quote: Quote {
                            con_id,
                            ..Quote::default()
                        },
                        contract: contract.clone(),
                        reader: None,
                    },
                );
                old
            }
        }
    };
    update_metrics(inner);
    if let Some((victim, mut entry)) = evicted {
        inner.metrics.line_evicted();
        // Dropping the subscription sends its cancel: that costs a message.
        // The line is stopped even when no grant comes (coordinator closed).
        let _ = inner.grant(Priority::MarketData).await;
        entry.stop();
        debug!(%victim, for_ = %con_id, "evicted least recently used line");
        inner.publish(BrokerEvent::MarketData {
            con_id: victim,
            issue: MarketDataIssue::Evicted,
        });
    }
    if let Err(e) = start_line(inner, con_id).await {
        let mut lines = lock(&inner.lines);
        lines.book.release(&con_id);
        lines.entries.remove(&con_id);
        drop(lines);
        update_metrics(inner);
        return Err(e);
    }
    Ok(())
}

/// Sends the streaming request of a held line and spawns its reader.
async fn start_line(inner: &Arc<Inner>, con_id: ConId) -> Result<(), BrokerError> {
    let (contract, generic) = match lock(&inner.lines).entries.get(&con_id) {
        Some(e) => (contract_of(&e.contract), generic_ticks(&e.contract)),
        None => return Ok(()),
    };
    inner.grant(Priority::MarketData).await?;
    let client = inner.client()?;
    let subscription = inner
        .timed("market data subscription", async {
            client
                .market_data(&contract)
                .generic_ticks(generic)
                .subscribe()
                .await
                .map_err(|e| map_err(e, "market data"))
        })
        .await?;
    let reader = tokio::spawn(read_line(inner.clone(), con_id, subscription));
    let mut lines = lock(&inner.lines);
    match lines.entries.get_mut(&con_id) {
        Some(entry) => {
            entry.stop();
            entry.reader = Some(reader);
        }
        // Released while the request was in flight.
        None => reader.abort(),
    }
    Ok(())
}

fn issue_of(code: i32) -> Option<MarketDataIssue> {
    match code {
        354 | 10167 => Some(MarketDataIssue::NotSubscribed { code }),
        10090 => Some(MarketDataIssue::PartiallySubscribed),
        10197 => Some(MarketDataIssue::CompetingSession),
        _ => None,
    }
}

async fn read_line(
    inner: Arc<Inner>,
    con_id: ConId,
    mut subscription: ibapi::subscriptions::Subscription<TickTypes>,
) {
    while let Some(item) = subscription.next().await {
        match item {
            Ok(SubscriptionItem::Data(tick)) => {
                let quote = {
                    let mut lines = lock(&inner.lines);
                    let Some(entry) = lines.entries.get_mut(&con_id) else {
                        return;
                    };
                    if !apply_tick(&mut entry.quote, &tick) {
                        continue;
                    }
                    entry.quote.received_at = Some(inner.now());
                    entry.quote.clone()
                };
                inner.publish(BrokerEvent::Quote(quote));
            }
            Ok(SubscriptionItem::Notice(n)) => {
                inner.metrics.gateway_error(n.code);
                match issue_of(n.code) {
                    Some(issue) => inner.publish(BrokerEvent::MarketData { con_id, issue }),
                    None => inner.publish(BrokerEvent::Notice(Notice {
                        code: n.code,
                        message: n.message,
                    })),
                }
            }
            Err(e) => {
                if e.is_connection_lost() {
                    inner.loss_hint.notify_one();
                    return;
                }
                // Our own client shut down under the line (the watchdog
                // dropping a connection to make it again): the line stays
                // held, to be subscribed again on the next connection.
                if matches!(e, ibapi::Error::Shutdown) {
                    return;
                }
                let (code, message) = match &e {
                    ibapi::Error::Notice(n) => (n.code, n.message.clone()),
                    other => (-1, other.to_string()),
                };
                inner.metrics.gateway_error(code);
                warn!(%con_id, code, %message, "market data line ended by the gateway");
                let issue = issue_of(code).unwrap_or(MarketDataIssue::NotSubscribed { code });
                // The gateway ended the line: free its slot, so a later
                // subscription asks the gateway again instead of taking the
                // line for active.
                {
                    let mut lines = lock(&inner.lines);
                    lines.book.release(&con_id);
                    lines.entries.remove(&con_id);
                }
                update_metrics(&inner);
                inner.publish(BrokerEvent::MarketData { con_id, issue });
                return;
            }
        }
    }
}

/// Applies one tick; false when it changed nothing a quote carries.
fn apply_tick(q: &mut Quote, tick: &TickTypes) -> bool {
    match tick {
        TickTypes::Price(p) => set_price(q, &p.tick_type, p.price),
        TickTypes::Size(s) => set_size(q, &s.tick_type, s.size),
        TickTypes::PriceSize(ps) => {
            let a = set_price(q, &ps.price_tick_type, ps.price);
            let b = set_size(q, &ps.size_tick_type, ps.size);
            a || b
        }
        TickTypes::OptionComputation(c) => {
            if !matches!(
                c.field,
                TickType::ModelOption | TickType::DelayedModelOption
            ) {
                return false;
            }
            q.greeks = Some(Greeks {
                implied_vol: c.implied_volatility,
                delta: c.delta,
                gamma: c.gamma,
                vega: c.vega,
                theta: c.theta,
                underlying_price: c.underlying_price,
            });
            true
        }
        _ => false,
    }
}

fn set_price(q: &mut Quote, t: &TickType, v: f64) -> bool {
    let v = price(v);
    match t {
        TickType::Bid | TickType::DelayedBid => q.bid = v,
        TickType::Ask | TickType::DelayedAsk => q.ask = v,
        TickType::Last | TickType::DelayedLast => q.last = v,
        TickType::Close | TickType::DelayedClose => q.close = v,
        _ => return false,
    }
    true
}

/// Generic ticks a streaming line asks for: an option's open interest
/// (101), which the scanner filters on and a snapshot cannot carry.
fn generic_ticks(contract: &ContractInfo) -> &'static [&'static str] {
    match contract.instrument {
        Instrument::Option(_) => &["101"],
        Instrument::Stock { .. } => &[],
    }
}

fn set_size(q: &mut Quote, t: &TickType, v: f64) -> bool {
    let v = decimal(v).filter(|d| !d.is_sign_negative());
    match t {
        TickType::BidSize | TickType::DelayedBidSize => q.bid_size = v,
        TickType::AskSize | TickType::DelayedAskSize => q.ask_size = v,
        TickType::Volume | TickType::DelayedVolume => q.volume = v,
        // On an option's own line (generic tick 101) these are its open
        // interest; the engine never streams 101 on an underlying.
        TickType::OptionCallOpenInterest | TickType::OptionPutOpenInterest => q.open_interest = v,
        _ => return false,
    }
    true
}

/// Resizes the line budget; lines over it are stopped, least recently
/// used first, as evictions.
pub(crate) async fn resize(inner: &Arc<Inner>, capacity: usize) {
    let stopped: Vec<(ConId, LineEntry)> = {
        let mut lines = lock(&inner.lines);
        let evicted = lines.book.set_capacity(capacity);
        evicted
            .into_iter()
            .filter_map(|k| lines.entries.remove(&k).map(|e| (k, e)))
            .collect()
    };
    update_metrics(inner);
    for (victim, mut entry) in stopped {
        inner.metrics.line_evicted();
        let _ = inner.grant(Priority::MarketData).await;
        entry.stop();
        inner.publish(BrokerEvent::MarketData {
            con_id: victim,
            issue: MarketDataIssue::Evicted,
        });
    }
}

pub(crate) async fn unsubscribe(inner: &Arc<Inner>, con_id: ConId) -> Result<(), BrokerError> {
    let entry = {
        let mut lines = lock(&inner.lines);
        lines.book.release(&con_id);
        lines.entries.remove(&con_id)
    };
    update_metrics(inner);
    if let Some(mut entry) = entry {
        if entry.reader.is_some() {
            inner.grant(Priority::MarketData).await?;
        }
        entry.stop();
    }
    Ok(())
}

pub(crate) fn set_pinned(inner: &Inner, con_id: ConId, pinned: bool) {
    {
        let mut lines = lock(&inner.lines);
        if pinned {
            lines.book.pin(&con_id);
        } else {
            lines.book.unpin(&con_id);
        }
    }
    update_metrics(inner);
}

pub(crate) fn latest(inner: &Inner, con_id: ConId) -> Option<Quote> {
    let mut lines = lock(&inner.lines);
    lines.book.touch(&con_id);
    lines.entries.get(&con_id).map(|e| e.quote.clone())
}

/// Restarts every held line on the current connection; returns how many.
pub(crate) async fn resubscribe_all(inner: &Arc<Inner>) -> usize {
    let keys: Vec<ConId> = {
        let mut lines = lock(&inner.lines);
        for entry in lines.entries.values_mut() {
            // The old subscription belongs to a dead connection: no cancel.
            entry.stop();
        }
        lines.entries.keys().copied().collect()
    };
    let mut restored = 0;
    for con_id in keys {
        match start_line(inner, con_id).await {
            Ok(()) => restored += 1,
            Err(e) => warn!(%con_id, error = %e, "line not restored"),
        }
    }
    inner.metrics.resubscribed(restored);
    restored
}

/// A one-off quote; holds no line and sends no cancel.
pub(crate) async fn snapshot(
    inner: &Arc<Inner>,
    contract: ContractInfo,
) -> Result<Quote, BrokerError> {
    let con_id = contract.con_id;
    inner
        .snapshots
        .run(con_id, || {
            let contract = contract.clone();
            async move {
                inner.grant(Priority::MarketData).await?;
                let client = inner.client()?;
                let wire = contract_of(&contract);
                inner.metrics.snapshot_taken();
                inner
                    .timed("snapshot", async {
                        let mut sub = client
                            .market_data(&wire)
                            .snapshot()
                            .subscribe()
                            .await
                            .map_err(|e| map_err(e, "snapshot"))?;
                        let mut quote = Quote {
                            con_id,
                            ..Quote::default()
                        };
                        while let Some(item) = sub.next().await {
                            match item {
                                Ok(SubscriptionItem::Data(TickTypes::SnapshotEnd)) => break,
                                Ok(SubscriptionItem::Data(tick)) => {
                                    apply_tick(&mut quote, &tick);
                                }
                                Ok(SubscriptionItem::Notice(n)) => {
                                    if let Some(issue) = issue_of(n.code) {
                                        inner.publish(BrokerEvent::MarketData { con_id, issue });
                                    }
                                }
                                Err(ibapi::Error::Notice(n)) => {
                                    return Err(BrokerError::MarketData {
                                        con_id,
                                        code: n.code,
                                        message: n.message,
                                    });
                                }
                                Err(e) => return Err(map_err(e, "snapshot")),
                            }
                        }
                        quote.received_at = Some(inner.now());
                        Ok(quote)
                    })
                    .await
            }
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use ibapi::market_data::realtime::{TickAttribute, TickPrice, TickSize};

    #[test]
    fn ticks_fill_the_quote_and_minus_one_means_no_data() {
        let mut q = Quote::default();
        let bid = TickTypes::Price(TickPrice {
            tick_type: TickType::Bid,
            price: 1.25,
            attributes: TickAttribute::default(),
        });
        assert!(apply_tick(&mut q, &bid));
        let size = TickTypes::Size(TickSize {
            tick_type: TickType::AskSize,
            size: 12.0,
        });
        assert!(apply_tick(&mut q, &size));
        let ask = TickTypes::Price(TickPrice {
            tick_type: TickType::Ask,
            price: 1.35,
            attributes: TickAttribute::default(),
        });
        apply_tick(&mut q, &ask);
        assert_eq!(q.mid(), Some("1.30".parse().unwrap()));
        let gone = TickTypes::Price(TickPrice {
            tick_type: TickType::Bid,
            price: -1.0,
            attributes: TickAttribute::default(),
        });
        apply_tick(&mut q, &gone);
        assert_eq!(q.bid, None);
        assert_eq!(q.ask_size, Some(12.into()));
        assert!(!apply_tick(&mut q, &TickTypes::SnapshotEnd));
    }

    #[test]
    fn data_codes_map_to_issues() {
        assert_eq!(
            issue_of(354),
            Some(MarketDataIssue::NotSubscribed { code: 354 })
        );
        assert_eq!(issue_of(10090), Some(MarketDataIssue::PartiallySubscribed));
        assert_eq!(issue_of(10197), Some(MarketDataIssue::CompetingSession));
        assert_eq!(issue_of(2104), None);
    }
}
