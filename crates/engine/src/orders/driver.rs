//! Drives one limit order through the broker to its end: places it at the
//! first price of a walk, moves the limit to each next price when its step
//! comes, cancels at the timeout or when asked, and folds every event of
//! the order into [`OrderFills`] until the gateway reports a final status.
//!
//! Steps and the timeout are instants on the engine's [`Clock`], so a walk
//! of minutes takes a fraction of a second under an accelerated clock and
//! is driven by hand under a manual one. The driver listens to the broker's
//! event stream from before the order is placed, so no event of the order
//! can be missed, and it wakes at once when a cancel is asked for (the kill
//! switch, an operator, a shutdown): a cancel never waits for a step.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use serde::Serialize;
use tokio::sync::watch;
use tracing::{debug, info, warn};
use vspread_core::broker::{Broker, BrokerError, BrokerEvent};
use vspread_core::clock::Clock;
use vspread_core::{
    BrokerOrderId, NetPrice, NetPriceOrLimit, OrderEvent, OrderFills, OrderRequest, OrderStatus,
    OrderTarget,
};

/// The prices an order is offered at and when each applies.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceWalk {
    /// The first price, then one per step, in order. Never empty.
    pub prices: Vec<NetPrice>,
    /// Simulated time between steps (`[execution] walk_interval_s`).
    pub interval: Duration,
    /// Simulated time after placement at which what remains is cancelled
    /// (`[execution] order_timeout_s`).
    pub timeout: Duration,
}

/// Prices a walk's step from the market at the moment it is taken (the
/// legs' latest quotes); `None` keeps the step's planned price.
pub type Reprice = Arc<dyn Fn(usize) -> Option<NetPrice> + Send + Sync>;

/// Why a working order was cancelled before its walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The kill switch was engaged (entries only).
    KillSwitch,
    /// An operator asked for it.
    Operator,
    /// The engine is stopping.
    Shutdown,
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(tag = "end", rename_all = "snake_case")]
pub enum OrderEnd {
    /// Everything filled.
    Filled,
    /// Cancelled at the timeout, possibly after partial fills.
    TimedOut,
    /// Cancelled on request (possibly after partial fills).
    Cancelled { reason: CancelReason },
    /// Cancelled or made inactive by the gateway (not by the driver).
    CancelledByGateway,
    /// Refused by the gateway.
    Rejected { code: i32, reason: String },
}

impl OrderEnd {
    /// The journal's name for it.
    pub fn outcome(&self) -> &'static str {
        match self {
            OrderEnd::Filled => "filled",
            OrderEnd::TimedOut => "timed_out",
            OrderEnd::Cancelled { .. } | OrderEnd::CancelledByGateway => "cancelled",
            OrderEnd::Rejected { .. } => "rejected",
        }
    }
}

/// What the driver saw of one order.
#[derive(Debug, Clone, PartialEq)]
pub struct DrivenOrder {
    pub order_id: BrokerOrderId,
    pub end: OrderEnd,
    /// Every fill and commission, per leg and for the combo.
    pub fills: OrderFills,
    /// The last price the order was offered at.
    pub last_price: NetPrice,
    /// Walk steps whose time came before the order ended.
    pub steps_taken: usize,
    /// When the order was placed and when it ended, on the engine's clock.
    pub placed_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
    /// When its last execution was reported, on the engine's clock.
    pub last_fill_at: Option<DateTime<Utc>>,
}

impl DrivenOrder {
    /// Quantity filled, from the executions.
    pub fn filled(&self) -> Decimal {
        self.fills.executed_quantity()
    }
}

/// What the driver reports while it works, for the order's views and
/// events.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Placed {
        order_id: BrokerOrderId,
        price: NetPrice,
    },
    Walked {
        step: usize,
        price: NetPrice,
    },
    /// An event of the order, folded in already.
    Event(OrderEvent),
    CancelSent,
}

/// Longest real-time wait between looks at the clock: bounds how late a
/// step or the timeout is taken when the clock runs faster than real time
/// or is moved by hand.
const POLL: Duration = Duration::from_millis(10);

/// How long, in real time, the gateway has to confirm a cancel before the
/// driver gives up waiting (the order is then left to reconciliation).
const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// After the final status, events of the order are still taken until none
/// came for `DRAIN_QUIET`, for at most `DRAIN_MAX` (real time).
const DRAIN_QUIET: Duration = Duration::from_millis(100);
const DRAIN_MAX: Duration = Duration::from_secs(2);

fn with_price(request: &OrderRequest, price: NetPrice) -> OrderRequest {
    let mut request = request.clone();
    if let OrderTarget::Vertical { price: p, .. } = &mut request.target {
        *p = price;
    }
    request
}

fn at(start: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(after)
        .ok()
        .and_then(|d| start.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One order to drive.
pub struct Drive<'a> {
    pub broker: &'a dyn Broker,
    pub clock: &'a dyn Clock,
    /// A vertical; its price is replaced by the walk's first.
    pub request: &'a OrderRequest,
    pub walk: &'a PriceWalk,
    pub reprice: Option<Reprice>,
    /// `Some` asks for a cancel; the driver wakes at once.
    pub cancel: watch::Receiver<Option<CancelReason>>,
    pub progress: &'a (dyn Fn(Progress) + Send + Sync),
}

impl std::fmt::Debug for Drive<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drive")
            .field("order_ref", &self.request.order_ref)
            .finish_non_exhaustive()
    }
}

/// Places the order and follows it to its end. With `reprice`, each
/// step's price is worked out from the market when the step comes, so a
/// walk follows a moving market instead of chasing the prices it started
/// from; a step whose price equals the last one sent sends nothing.
pub async fn drive(d: Drive<'_>) -> Result<DrivenOrder, BrokerError> {
    let Drive {
        broker,
        clock,
        request,
        walk,
        reprice,
        mut cancel,
        progress,
    } = d;
    let priced = |step: usize| {
        reprice
            .as_ref()
            .and_then(|f| f(step))
            .or(walk.prices.get(step).copied())
    };
    let Some(first) = priced(0) else {
        return Err(BrokerError::InvalidOrder {
            order_ref: request.order_ref.clone(),
            reason: "a price walk needs at least one price".into(),
        });
    };
    let mut events = broker.events();
    let placed_at = clock.now();
    let order_id = broker.place_order(&with_price(request, first)).await?;
    info!(order_ref = %request.order_ref, %order_id, price = ?first, "order placed");
    progress(Progress::Placed {
        order_id,
        price: first,
    });
    let mut fills = OrderFills::new(request.order_ref.clone());
    let mut last_price = first;
    let mut steps_taken = 0;
    let mut rejection = None;
    let timeout_at = at(placed_at, walk.timeout);
    let mut cancel_sent: Option<tokio::time::Instant> = None;
    let mut cancelled_for: Option<CancelReason> = None;
    let mut cancel_open = true;
    let mut last_fill_at = None;

    while !fills.is_done() {
        // What the gateway said already comes first: a fill reported with
        // this step's time must not be answered with a modification of a
        // filled order.
        while let Some(next) = futures::FutureExt::now_or_never(events.next()) {
            match next {
                Some(BrokerEvent::Order(event)) => {
                    if let OrderEvent::Rejected {
                        order_ref,
                        code,
                        reason,
                        ..
                    } = &event
                        && *order_ref == request.order_ref
                    {
                        rejection = Some((*code, reason.clone()));
                    }
                    if fills.apply(&event) {
                        progress(Progress::Event(event));
                    }
                }
                Some(_) => {}
                None => return Err(BrokerError::Closed),
            }
        }
        if fills.is_done() {
            break;
        }
        let asked = *cancel.borrow_and_update();
        if cancel_sent.is_none()
            && let Some(reason) = asked
        {
            info!(order_ref = %request.order_ref, ?reason, "cancel asked for; cancelling");
            if let Err(e) = broker.cancel_order(order_id).await {
                warn!(order_ref = %request.order_ref, error = %e, "cancel refused");
            }
            progress(Progress::CancelSent);
            cancel_sent = Some(tokio::time::Instant::now());
            cancelled_for = Some(reason);
        }
        // Take every step whose time has come, then the timeout.
        let now = clock.now();
        if cancel_sent.is_none() {
            let due = ((now - placed_at).to_std().unwrap_or_default().as_nanos()
                / walk.interval.as_nanos().max(1)) as usize;
            let due = due.min(walk.prices.len() - 1);
            if due > steps_taken && now < timeout_at {
                let price = priced(due).unwrap_or(last_price);
                steps_taken = due;
                if price == last_price {
                    debug!(order_ref = %request.order_ref, step = due, "walk step: price unchanged");
                } else {
                    match broker
                        .modify_price(order_id, NetPriceOrLimit::Net(price))
                        .await
                    {
                        Ok(()) => {
                            debug!(order_ref = %request.order_ref, step = due, ?price, "limit walked");
                            last_price = price;
                            progress(Progress::Walked { step: due, price });
                        }
                        // Filled or cancelled meanwhile: its events tell.
                        Err(e) => {
                            warn!(order_ref = %request.order_ref, error = %e, "walk step refused")
                        }
                    }
                }
            }
            if now >= timeout_at {
                info!(order_ref = %request.order_ref, "order timed out; cancelling");
                if let Err(e) = broker.cancel_order(order_id).await {
                    warn!(order_ref = %request.order_ref, error = %e, "cancel refused");
                }
                progress(Progress::CancelSent);
                cancel_sent = Some(tokio::time::Instant::now());
            }
        } else if cancel_sent.is_some_and(|t| t.elapsed() > CANCEL_GRACE) {
            return Err(BrokerError::Timeout {
                what: format!("the cancel of `{}`", request.order_ref),
                after: CANCEL_GRACE,
            });
        }
        let wait = clock
            .real_duration_until(at(placed_at, walk.interval * (steps_taken as u32 + 1)))
            .min(clock.real_duration_until(timeout_at))
            .clamp(Duration::from_millis(1), POLL);
        tokio::select! {
            next = events.next() => match next {
                Some(BrokerEvent::Order(event)) => {
                    if let OrderEvent::Rejected { order_ref, code, reason, .. } = &event
                        && *order_ref == request.order_ref
                    {
                        rejection = Some((*code, reason.clone()));
                    }
                    if fills.apply(&event) {
                        if matches!(event, OrderEvent::Execution(_)) {
                            last_fill_at = Some(clock.now());
                        }
                        progress(Progress::Event(event));
                    }
                }
                Some(_) => {}
                None => return Err(BrokerError::Closed),
            },
            changed = cancel.changed(), if cancel_open && cancel_sent.is_none() => {
                // A dropped sender asks for nothing more.
                cancel_open = changed.is_ok();
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    // Commission reports may trail the final status: take what follows
    // until the order has been quiet for a moment.
    let drain_until = tokio::time::Instant::now() + DRAIN_MAX;
    let mut last_own = tokio::time::Instant::now();
    while last_own.elapsed() < DRAIN_QUIET && tokio::time::Instant::now() < drain_until {
        match tokio::time::timeout(POLL, events.next()).await {
            Ok(Some(BrokerEvent::Order(event))) => {
                if fills.apply(&event) {
                    last_own = tokio::time::Instant::now();
                    if matches!(event, OrderEvent::Execution(_)) {
                        last_fill_at = Some(clock.now());
                    }
                    progress(Progress::Event(event));
                }
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => break,
        }
    }
    let end = match (rejection, fills.status, cancelled_for) {
        // Filled stands even when a modification crossing the last fill
        // was refused after it.
        (_, Some(OrderStatus::Filled), _) => OrderEnd::Filled,
        (Some((code, reason)), _, _) => OrderEnd::Rejected { code, reason },
        (None, _, Some(reason)) => OrderEnd::Cancelled { reason },
        (None, _, None) if cancel_sent.is_some() => OrderEnd::TimedOut,
        (None, _, None) => OrderEnd::CancelledByGateway,
    };
    info!(order_ref = %request.order_ref, ?end, filled = %fills.executed_quantity(), "order ended");
    Ok(DrivenOrder {
        order_id,
        end,
        fills,
        last_price,
        steps_taken,
        placed_at,
        ended_at: clock.now(),
        last_fill_at,
    })
}
