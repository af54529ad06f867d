//! The order manager: owns every working order, apart from the decision
//! cycles that made them.
//!
//! A decision hands an [`OrderPlan`] over and goes on; the manager journals
//! the order (synced, before the broker hears of it), places it and drives
//! it on a task of its own: the walk from mid toward natural, re-pricing
//! from the legs' lines, the timeout, partial fills, the end. Nothing a
//! decision cycle, a pause or an apply does waits for it, and it never
//! waits for them. A working order keeps the plan it was issued with: its
//! prices, step interval, timeout and slippage bound are fixed when the
//! decision is made, and no later config change reaches it.
//!
//! Cancels bypass everything: the kill switch cancels every working entry
//! at once ([`OrderManager::cancel_entries`]), an operator one order
//! ([`OrderManager::cancel`]); the driver wakes on the request and sends
//! the cancel without waiting for its next step.
//!
//! What follows an order's end (booking a position, closing a spread) is
//! the submitter's: it passes a continuation ([`OnEnd`]) that runs on the
//! order's task once the end is journaled.

mod driver;
mod recorder;
mod walk;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::watch;
use tracing::warn;
use vspread_core::broker::{Broker, BrokerError};
use vspread_core::clock::Clock;
use vspread_core::journal::{JournalError, JournaledOrder, OrderEnd as JournalEnd};
use vspread_core::{NetPrice, OrderEvent, OrderPurpose, OrderRequest, OrderState, SpreadKind};

pub use driver::{CancelReason, DrivenOrder, OrderEnd, PriceWalk, Progress, Reprice};
pub use recorder::{TradingRecords, TradingWrite, spawn_order_recorder};
pub use walk::{WalkError, no_worse_than, price_walk, step_price};

use crate::events::{
    EngineEvent, EventBus, OrderEnded, OrderFailed, OrderFilled, OrderPlaced, OrderWalked,
};
use crate::journal_io::JournalIo;

/// An order as decided: what is journaled, what is sent first, and how it
/// walks. Everything the order needs for its life is in here.
pub struct OrderPlan {
    /// Written (and synced) before the broker hears of the order.
    pub record: JournaledOrder,
    /// The order at its first price.
    pub request: OrderRequest,
    pub walk: PriceWalk,
    /// Prices each step from the legs' lines when it comes, never past the
    /// walk's last price.
    pub reprice: Option<Reprice>,
    /// When the last quote the decision needed was in hand (real time), for
    /// the decision latency.
    pub decided_at: Instant,
    /// When the signal an entry acts on fired, on the engine's clock, for
    /// the signal-to-order and signal-to-fill times (`None` for exits).
    pub signal_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for OrderPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderPlan")
            .field("order_ref", &self.request.order_ref)
            .field("walk", &self.walk)
            .finish_non_exhaustive()
    }
}

/// How a handed-over order came out.
#[derive(Debug)]
pub struct OrderOutcome {
    pub record: JournaledOrder,
    pub result: Result<DrivenOrder, OrderFailure>,
}

/// Why an order did not run to an end at the gateway.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OrderFailure {
    #[error("not sent: it could not be journaled: {0}")]
    NotJournaled(String),
    #[error(transparent)]
    Broker(#[from] BrokerError),
}

/// What runs when an order has ended and its end is journaled.
pub type OnEnd = Box<dyn FnOnce(OrderOutcome) -> BoxFuture<'static, ()> + Send>;

/// One step of a working order's walk, as it went.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WalkStep {
    pub step: usize,
    pub price: NetPrice,
    pub at: DateTime<Utc>,
}

/// A working order as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct WorkingOrderView {
    pub order_ref: String,
    /// The spread it opens or closes (its entry's reference).
    pub spread_ref: String,
    pub purpose: OrderPurpose,
    pub symbol: String,
    pub kind: SpreadKind,
    pub quantity: u32,
    pub state: OrderState,
    pub order_id: Option<i64>,
    /// The limit working now.
    pub price: Option<NetPrice>,
    /// The walk's last price: the order never concedes past it.
    pub bound: NetPrice,
    /// The limit at each step taken so far, the first price included.
    pub steps: Vec<WalkStep>,
    pub filled: Decimal,
    pub decided_at: DateTime<Utc>,
    pub placed_at: Option<DateTime<Utc>>,
    pub cancel_requested: Option<CancelReason>,
}

/// Why a cancel was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelRefused {
    #[error("`{0}` is not an order this engine is working")]
    NotWorking(String),
}

/// Why a plan was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitRefused {
    #[error("an order with reference `{0}` is already working")]
    Duplicate(String),
}

struct Working {
    view: WorkingOrderView,
    cancel: watch::Sender<Option<CancelReason>>,
}

/// Owns the working orders (see the module docs).
pub struct OrderManager {
    broker: Arc<dyn Broker>,
    clock: Arc<dyn Clock>,
    journal: JournalIo,
    /// Where an order's end goes when the journal cannot take it at once.
    records: Arc<TradingRecords>,
    events: Arc<EventBus>,
    working: Mutex<BTreeMap<String, Working>>,
    /// How many orders are working, for whoever waits for none.
    count: watch::Sender<usize>,
}

impl std::fmt::Debug for OrderManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderManager")
            .field("working", &self.working_refs())
            .finish_non_exhaustive()
    }
}

impl OrderManager {
    /// A manager whose order ends, when the journal cannot take them, are
    /// retried on a queue of its own (no recorder drains it: for tools and
    /// tests without an engine).
    pub fn new(
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        journal: JournalIo,
        events: Arc<EventBus>,
    ) -> Self {
        let records = Arc::new(TradingRecords::new(
            journal,
            Arc::new(crate::storage::StorageHealth::new(None)),
        ));
        Self::with_records(broker, clock, records, events)
    }

    /// A manager that hands order ends the journal could not take to
    /// `records` (the engine's, which the order recorder drains).
    pub fn with_records(
        broker: Arc<dyn Broker>,
        clock: Arc<dyn Clock>,
        records: Arc<TradingRecords>,
        events: Arc<EventBus>,
    ) -> Self {
        Self {
            broker,
            clock,
            journal: records.journal().clone(),
            records,
            events,
            working: Mutex::new(BTreeMap::new()),
            count: watch::channel(0).0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Working>> {
        self.working.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `plan` over: the order is working from this call on (it counts
    /// against position limits and can be cancelled), and is journaled,
    /// placed and driven on a task of its own; `on_end` runs there once its
    /// end is journaled. Returns at once.
    pub fn submit(self: &Arc<Self>, plan: OrderPlan, on_end: OnEnd) -> Result<(), SubmitRefused> {
        let order_ref = plan.request.order_ref.clone();
        let bound = *plan.walk.prices.last().unwrap_or(&plan.walk.prices[0]);
        let (cancel, cancelled) = watch::channel(None);
        {
            let mut working = self.lock();
            if working.contains_key(&order_ref) {
                return Err(SubmitRefused::Duplicate(order_ref));
            }
            let record = &plan.record;
            working.insert(
                order_ref.clone(),
                Working {
                    view: WorkingOrderView {
                        order_ref: order_ref.clone(),
                        spread_ref: record.spread_ref.clone(),
                        purpose: record.purpose,
                        symbol: record.symbol.clone(),
                        kind: record.kind,
                        quantity: plan.request.quantity,
                        state: OrderState::Intended,
                        order_id: None,
                        price: None,
                        bound,
                        steps: Vec::new(),
                        filled: Decimal::ZERO,
                        decided_at: record.created_at,
                        placed_at: None,
                        cancel_requested: None,
                    },
                    cancel,
                },
            );
            self.count.send_replace(working.len());
        }
        let manager = self.clone();
        tokio::spawn(async move {
            let outcome = manager.run(plan, cancelled).await;
            let order_ref = outcome.record.order_ref.clone();
            // Booked before it stops counting as working: a spread is never
            // out of both the book and the working orders (the position
            // limits count both).
            on_end(outcome).await;
            manager.finish(&order_ref);
        });
        Ok(())
    }

    /// Journals, places and drives one order; journals and publishes its end.
    async fn run(
        &self,
        plan: OrderPlan,
        cancelled: watch::Receiver<Option<CancelReason>>,
    ) -> OrderOutcome {
        let OrderPlan {
            record,
            request,
            walk,
            reprice,
            decided_at,
            signal_at,
        } = plan;
        let order_ref = request.order_ref.clone();
        let journal_started = Instant::now();
        let journaled = {
            let record = record.clone();
            self.journal.run(move |j| j.record_order(&record)).await
        };
        let journal_time = journal_started.elapsed();
        if let Err(e) = journaled {
            let failure = OrderFailure::NotJournaled(e.to_string());
            self.fail(&record, &failure);
            return OrderOutcome {
                record,
                result: Err(failure),
            };
        }
        let decision_latency = decided_at.elapsed();
        let progress = |p: Progress| self.progress(&record, signal_at, p);
        let driven = driver::drive(driver::Drive {
            broker: &*self.broker,
            clock: &*self.clock,
            request: &request,
            walk: &walk,
            reprice,
            cancel: cancelled,
            progress: &progress,
        })
        .await;
        let driven = match driven {
            Ok(d) => d,
            Err(e) => {
                let failure = OrderFailure::Broker(e);
                // Sent or not, the journal's record stays open for the
                // next reconciliation to settle; say so now.
                self.fail(&record, &failure);
                return OrderOutcome {
                    record,
                    result: Err(failure),
                };
            }
        };
        let end = JournalEnd {
            outcome: driven.end.outcome().to_string(),
            detail: format!(
                "{:?}; {} filled in {} steps",
                driven.end,
                driven.filled(),
                driven.steps_taken
            ),
            at: self.clock.now(),
        };
        let (r, e) = (order_ref.clone(), end.clone());
        match self.journal.run(move |j| j.record_order_end(&r, &e)).await {
            Ok(()) => {}
            Err(JournalError::Storage(_)) => self.records.defer(TradingWrite::End {
                order_ref: order_ref.clone(),
                end,
            }),
            Err(e) => warn!(%order_ref, error = %e, "order end not journaled"),
        }
        let filled = driven.filled();
        self.events.publish(
            format!(
                "{}: {order_ref} {}, {filled} of {} filled",
                record.symbol,
                driven.end.outcome(),
                request.quantity
            ),
            EngineEvent::OrderEnded(OrderEnded {
                symbol: record.symbol.clone(),
                order_ref: order_ref.clone(),
                purpose: record.purpose,
                end: driven.end.clone(),
                filled,
                quantity: request.quantity,
                steps: driven.steps_taken,
                execution_ms: (driven.ended_at - driven.placed_at).num_milliseconds(),
                commissions: driven.fills.commissions,
                average_net: driven.fills.order.average_price().map(|p| p.abs()),
                mid: record.mid,
                decision_latency_us: u64::try_from(decision_latency.as_micros())
                    .unwrap_or(u64::MAX),
                journal_us: u64::try_from(journal_time.as_micros()).unwrap_or(u64::MAX),
                slippage_width_ratio: slippage_width_ratio(&record, &driven),
                signal_to_fill_ms: signal_at
                    .zip(driven.last_fill_at)
                    .map(|(signal, fill)| millis_between(signal, fill)),
            }),
        );
        OrderOutcome {
            record,
            result: Ok(driven),
        }
    }

    fn fail(&self, record: &JournaledOrder, failure: &OrderFailure) {
        warn!(order_ref = %record.order_ref, error = %failure, "order failed");
        self.events.publish(
            format!("{}: {} failed: {failure}", record.symbol, record.order_ref),
            EngineEvent::OrderFailed(OrderFailed {
                symbol: record.symbol.clone(),
                order_ref: record.order_ref.clone(),
                purpose: record.purpose,
                error: failure.to_string(),
            }),
        );
    }

    /// Follows the driver: the view and the order's events.
    fn progress(&self, record: &JournaledOrder, signal_at: Option<DateTime<Utc>>, p: Progress) {
        let now = self.clock.now();
        let symbol = record.symbol.clone();
        let order_ref = record.order_ref.clone();
        let event = {
            let mut working = self.lock();
            let Some(w) = working.get_mut(&order_ref) else {
                return;
            };
            let view = &mut w.view;
            match p {
                Progress::Placed { order_id, price } => {
                    view.order_id = Some(order_id.0);
                    view.price = Some(price);
                    view.placed_at = Some(now);
                    view.state = OrderState::Submitted;
                    view.steps.push(WalkStep {
                        step: 0,
                        price,
                        at: now,
                    });
                    Some((
                        format!("{symbol}: {order_ref} placed at {}", price.amount()),
                        EngineEvent::OrderPlaced(OrderPlaced {
                            symbol,
                            order_ref,
                            purpose: record.purpose,
                            order_id: order_id.0,
                            price,
                            quantity: view.quantity,
                            signal_to_order_ms: signal_at.map(|s| millis_between(s, now)),
                        }),
                    ))
                }
                Progress::Walked { step, price } => {
                    view.price = Some(price);
                    view.steps.push(WalkStep {
                        step,
                        price,
                        at: now,
                    });
                    Some((
                        format!("{symbol}: {order_ref} step {step} at {}", price.amount()),
                        EngineEvent::OrderWalked(OrderWalked {
                            symbol,
                            order_ref,
                            step,
                            price,
                        }),
                    ))
                }
                Progress::CancelSent => {
                    view.state = view
                        .state
                        .advance(OrderState::CancelRequested)
                        .unwrap_or(view.state);
                    None
                }
                Progress::Event(OrderEvent::Status { status, filled, .. }) => {
                    let spreads = filled.trunc().try_into().unwrap_or(u32::MAX);
                    view.state = view
                        .state
                        .advance(OrderState::from_broker(status, spreads))
                        .unwrap_or(view.state);
                    None
                }
                Progress::Event(OrderEvent::Execution(x)) if x.combo => {
                    view.filled += x.quantity;
                    Some((
                        format!(
                            "{symbol}: {order_ref} filled {} at {} ({} of {})",
                            x.quantity,
                            x.price.abs(),
                            view.filled,
                            view.quantity
                        ),
                        EngineEvent::OrderFilled(OrderFilled {
                            symbol,
                            order_ref,
                            purpose: record.purpose,
                            quantity: x.quantity,
                            price: x.price.abs(),
                            filled: view.filled,
                            ordered: view.quantity,
                        }),
                    ))
                }
                Progress::Event(_) => None,
            }
        };
        if let Some((message, event)) = event {
            self.events.publish(message, event);
        }
    }

    fn finish(&self, order_ref: &str) {
        let mut working = self.lock();
        working.remove(order_ref);
        self.count.send_replace(working.len());
    }

    /// Asks for one working order to be cancelled; its driver sends the
    /// cancel at once.
    pub fn cancel(&self, order_ref: &str, reason: CancelReason) -> Result<(), CancelRefused> {
        let mut working = self.lock();
        let w = working
            .get_mut(order_ref)
            .ok_or_else(|| CancelRefused::NotWorking(order_ref.to_string()))?;
        w.view.cancel_requested.get_or_insert(reason);
        w.cancel.send_replace(Some(reason));
        Ok(())
    }

    /// Cancels every working order of `purpose`; returns their references.
    pub fn cancel_all(&self, purpose: Option<OrderPurpose>, reason: CancelReason) -> Vec<String> {
        let mut working = self.lock();
        let mut cancelled = Vec::new();
        for (order_ref, w) in working.iter_mut() {
            if purpose.is_none_or(|p| p == w.view.purpose) {
                w.view.cancel_requested.get_or_insert(reason);
                w.cancel.send_replace(Some(reason));
                cancelled.push(order_ref.clone());
            }
        }
        cancelled
    }

    /// The kill switch: every working entry is cancelled at once.
    pub fn cancel_entries(&self) -> Vec<String> {
        self.cancel_all(Some(OrderPurpose::Entry), CancelReason::KillSwitch)
    }

    /// The working orders, by reference.
    pub fn working(&self) -> Vec<WorkingOrderView> {
        self.lock().values().map(|w| w.view.clone()).collect()
    }

    pub fn working_refs(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn is_working(&self, order_ref: &str) -> bool {
        self.lock().contains_key(order_ref)
    }

    /// No order is working.
    pub fn is_idle(&self) -> bool {
        *self.count.borrow() == 0
    }

    /// Waits until no order is working, or `timeout` passes; returns
    /// whether none is.
    pub async fn wait_idle(&self, timeout: std::time::Duration) -> bool {
        let mut count = self.count.subscribe();
        tokio::time::timeout(timeout, count.wait_for(|n| *n == 0))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

/// Milliseconds from `from` to `to` (engine clock), never negative.
fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3).max(0.0)
}

/// How far an order's fills are from the mid it was decided at, against
/// it (a debit paid above the mid, a credit received below it: positive;
/// better than the mid: negative), as a fraction of the spread's width.
/// `None` when nothing filled or the width is zero.
pub fn slippage_width_ratio(record: &JournaledOrder, driven: &DrivenOrder) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive as _;
    let average = driven.fills.order.average_price()?.abs();
    let width = (record.long.strike - record.short.strike).abs();
    if width.is_zero() {
        return None;
    }
    let against = if record.credit {
        record.mid - average
    } else {
        average - record.mid
    };
    (against / width).to_f64()
}
