//! Drives one limit order through the broker to its end: places it at the
//! first price of a walk, moves the limit to each next price when its step
//! comes, cancels at the timeout, and folds every event of the order into
//! [`OrderFills`] until the gateway reports a final status.
//!
//! Steps and the timeout are instants on the engine's [`Clock`], so a walk
//! of minutes takes a fraction of a second under an accelerated clock and
//! is driven by hand under a manual one. The driver listens to the broker's
//! event stream from before the order is placed, so no event of the order
//! can be missed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use rust_decimal::Decimal;
use tracing::{debug, info, warn};
use vspread_core::broker::{
    Broker, BrokerError, BrokerEvent, BrokerOrderId, NetPrice, NetPriceOrLimit, OrderEvent,
    OrderFills, OrderRequest, OrderStatus, OrderTarget,
};
use vspread_core::clock::Clock;

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

/// How an order ended.
#[derive(Debug, Clone, PartialEq)]
pub enum OrderEnd {
    /// Everything filled.
    Filled,
    /// Cancelled at the timeout, possibly after partial fills.
    TimedOut,
    /// Cancelled or made inactive by the gateway (not by the driver).
    Cancelled,
    /// Refused by the gateway.
    Rejected { code: i32, reason: String },
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
}

impl DrivenOrder {
    /// Quantity filled, from the executions.
    pub fn filled(&self) -> Decimal {
        self.fills.executed_quantity()
    }
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

/// Prices a walk's step from the market at the moment it is taken (the
/// trader's re-quote of the legs); `None` keeps the step's planned price.
pub type Reprice<'a> = &'a (dyn Fn(usize) -> Option<NetPrice> + Send + Sync);

/// Places `request` (a vertical; its price is replaced by the walk's
/// first) and follows it to its end. With `reprice`, each step's price is
/// worked out from the market when the step comes, so a walk follows a
/// moving market instead of chasing the prices it started from; a step
/// whose price equals the last one sent sends nothing.
pub async fn drive_order(
    broker: &dyn Broker,
    clock: &dyn Clock,
    request: &OrderRequest,
    walk: &PriceWalk,
    reprice: Option<Reprice<'_>>,
) -> Result<DrivenOrder, BrokerError> {
    drive_order_until(broker, clock, request, walk, reprice, None).await
}

/// Asked at every turn of the walk; true cancels the order at once (the
/// kill switch).
pub type Abort<'a> = &'a (dyn Fn() -> bool + Send + Sync);

/// [`drive_order`], cancelled as soon as `abort` says so; it then ends
/// [`OrderEnd::Cancelled`] with whatever filled before.
pub async fn drive_order_until(
    broker: &dyn Broker,
    clock: &dyn Clock,
    request: &OrderRequest,
    walk: &PriceWalk,
    reprice: Option<Reprice<'_>>,
    abort: Option<Abort<'_>>,
) -> Result<DrivenOrder, BrokerError> {
    let priced = |step: usize| {
        reprice
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
    let mut fills = OrderFills::new(request.order_ref.clone());
    let mut last_price = first;
    let mut steps_taken = 0;
    let mut rejection = None;
    let timeout_at = at(placed_at, walk.timeout);
    let mut cancel_sent: Option<tokio::time::Instant> = None;
    let mut aborted = false;

    while !fills.is_done() {
        if cancel_sent.is_none() && abort.is_some_and(|f| f()) {
            info!(order_ref = %request.order_ref, "order aborted (kill switch or operator cancel); cancelling");
            if let Err(e) = broker.cancel_order(order_id).await {
                warn!(order_ref = %request.order_ref, error = %e, "cancel refused");
            }
            cancel_sent = Some(tokio::time::Instant::now());
            aborted = true;
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
        match tokio::time::timeout(wait, events.next()).await {
            Ok(Some(BrokerEvent::Order(event))) => {
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
                fills.apply(&event);
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => return Err(BrokerError::Closed),
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
                }
            }
            Ok(Some(_)) | Err(_) => {}
            Ok(None) => break,
        }
    }
    let end = match (rejection, fills.status) {
        (Some((code, reason)), _) => OrderEnd::Rejected { code, reason },
        (None, Some(OrderStatus::Filled)) => OrderEnd::Filled,
        (None, _) if aborted => OrderEnd::Cancelled,
        (None, _) if cancel_sent.is_some() => OrderEnd::TimedOut,
        (None, _) => OrderEnd::Cancelled,
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
    })
}
