//! Orders over `ibapi`: placing single and combo limit orders with an
//! `orderRef`, what-if previews, price changes, cancels; the per-connection
//! pump that turns the gateway's order stream into [`OrderEvent`]s in
//! arrival order; and reconciliation against the caller's beliefs.
//!
//! An orderRef is placed at most once: a second `place_order` with a known
//! ref is refused, and after a reconnect the gateway's open orders and
//! executions are matched back to their refs before anything new is sent.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use futures::StreamExt;
use ibapi::Client;
use ibapi::contracts::{Contract, SecurityType};
use ibapi::orders::{ExecutionFilter, Executions, Order, OrderUpdate, Orders, PlaceOrder};
use ibapi::subscriptions::SubscriptionItem;
use rust_decimal::Decimal;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};
use vspread_core::broker::{BrokerError, BrokerEvent, Expectations, Notice, ReconciliationReport};
use vspread_core::{
    BrokerOrderId, CommissionReport, ConId, NetPriceOrLimit, OrderEvent, OrderRequest, OrderTarget,
    Side, WhatIf,
};

use crate::combo::{bag_order, signed_limit};
use crate::convert::{
    contract_of, decimal, execution, execution_filter_time, limit_order, order_status, wire,
};
use crate::pacing::Priority;
use crate::reconcile::{GatewayOrder, GatewayState, compare};
use crate::session::{Inner, lock, map_err};

/// An order this layer knows, by gateway order id.
#[derive(Debug, Clone)]
pub(crate) struct OrderRecord {
    order_ref: String,
    contract: Contract,
    order: Order,
    /// The combo's order action, for re-signing a new net price.
    combo_action: Option<Side>,
    /// Seen at the gateway (open order, status or execution).
    confirmed: bool,
    /// A terminal status came (filled, cancelled, inactive).
    ended: bool,
}

/// Ended orders the book keeps (a late status or a replayed execution
/// still finds its `orderRef`); older ones are forgotten, so an engine that
/// runs for months does not keep every order it ever sent. The journal is
/// the record; the gateway's own replays carry their `orderRef`.
pub(crate) const ENDED_KEPT: usize = 1024;
/// Executions whose `orderRef` is kept for their commission report (which
/// follows the execution within moments, or with it in a replay).
pub(crate) const EXECUTIONS_KEPT: usize = 8192;
/// What-if order ids kept, to tell their echoes from real orders.
pub(crate) const WHAT_IFS_KEPT: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    by_id: HashMap<i32, OrderRecord>,
    by_ref: HashMap<String, i32>,
    /// Ended orders, oldest first, at most [`ENDED_KEPT`].
    ended: VecDeque<i32>,
    /// The newest [`WHAT_IFS_KEPT`] (ids grow, so the smallest is the oldest).
    what_if_ids: BTreeSet<i32>,
    /// execId → orderRef, for commission reports; at most
    /// [`EXECUTIONS_KEPT`], the oldest forgotten first (`exec_order`).
    exec_refs: HashMap<String, String>,
    exec_order: VecDeque<String>,
}

impl OrderBook {
    pub(crate) fn id_of(&self, order_ref: &str) -> Option<BrokerOrderId> {
        self.by_ref
            .get(order_ref)
            .map(|id| BrokerOrderId(i64::from(*id)))
    }

    fn ref_of(&self, order_id: i32) -> String {
        self.by_id
            .get(&order_id)
            .map(|r| r.order_ref.clone())
            .unwrap_or_default()
    }

    fn is_confirmed(&self, order_id: i32) -> bool {
        self.by_id.get(&order_id).is_some_and(|r| r.confirmed)
    }

    fn confirm(&mut self, order_id: i32) {
        if let Some(r) = self.by_id.get_mut(&order_id) {
            r.confirmed = true;
        }
    }

    fn insert(&mut self, order_id: i32, record: OrderRecord) {
        self.by_ref.insert(record.order_ref.clone(), order_id);
        self.by_id.insert(order_id, record);
    }

    /// Notes a terminal status; past [`ENDED_KEPT`] the oldest ended
    /// order is forgotten.
    fn end(&mut self, order_id: i32) {
        let Some(r) = self.by_id.get_mut(&order_id) else {
            return;
        };
        if r.ended {
            return;
        }
        r.ended = true;
        self.ended.push_back(order_id);
        while self.ended.len() > ENDED_KEPT {
            let Some(old) = self.ended.pop_front() else {
                break;
            };
            if let Some(r) = self.by_id.remove(&old)
                && self.by_ref.get(&r.order_ref) == Some(&old)
            {
                self.by_ref.remove(&r.order_ref);
            }
        }
    }

    fn remember_execution(&mut self, exec_id: &str, order_ref: &str) {
        if self
            .exec_refs
            .insert(exec_id.to_string(), order_ref.to_string())
            .is_some()
        {
            return;
        }
        self.exec_order.push_back(exec_id.to_string());
        while self.exec_order.len() > EXECUTIONS_KEPT {
            if let Some(old) = self.exec_order.pop_front() {
                self.exec_refs.remove(&old);
            }
        }
    }

    fn remember_what_if(&mut self, order_id: i32) {
        self.what_if_ids.insert(order_id);
        while self.what_if_ids.len() > WHAT_IFS_KEPT {
            self.what_if_ids.pop_first();
        }
    }

    /// How many orders, executions and what-ifs the book holds.
    #[cfg(test)]
    fn sizes(&self) -> (usize, usize, usize) {
        (
            self.by_id.len(),
            self.exec_refs.len(),
            self.what_if_ids.len(),
        )
    }
}

fn to_i32(id: BrokerOrderId) -> Result<i32, BrokerError> {
    i32::try_from(id.0).map_err(|_| BrokerError::UnknownOrder(id))
}

fn invalid(order: &OrderRequest, reason: impl Into<String>) -> BrokerError {
    BrokerError::InvalidOrder {
        order_ref: order.order_ref.clone(),
        reason: reason.into(),
    }
}

/// Builds and checks the wire contract and order for a request.
fn build(
    inner: &Inner,
    req: &OrderRequest,
) -> Result<(Contract, Order, Option<Side>), BrokerError> {
    if req.order_ref.trim().is_empty() {
        return Err(invalid(req, "orderRef is empty"));
    }
    if req.quantity == 0 {
        return Err(invalid(req, "quantity is zero"));
    }
    let settings = inner.settings();
    let account = settings.account.as_str();
    match &req.target {
        OrderTarget::Single {
            contract,
            side,
            limit,
        } => {
            if *limit <= Decimal::ZERO {
                return Err(invalid(req, format!("limit {limit} is not positive")));
            }
            if !contract.min_tick.is_zero() && !(*limit % contract.min_tick).is_zero() {
                return Err(invalid(
                    req,
                    format!(
                        "limit {limit} is not a multiple of the tick {}",
                        contract.min_tick
                    ),
                ));
            }
            let order = limit_order(
                *side,
                req.quantity,
                *limit,
                &req.order_ref,
                req.tif,
                account,
                false,
            );
            Ok((contract_of(contract), order, None))
        }
        OrderTarget::Vertical {
            spread,
            purpose,
            price,
        } => {
            let bag = bag_order(spread, *purpose, *price)
                .map_err(|e| BrokerError::InvalidCombo(e.to_string()))?;
            let order = limit_order(
                bag.action,
                req.quantity,
                bag.limit,
                &req.order_ref,
                req.tif,
                account,
                true,
            );
            Ok((crate::convert::bag_contract(&bag), order, Some(bag.action)))
        }
    }
}

pub(crate) async fn place(
    inner: &Arc<Inner>,
    req: &OrderRequest,
) -> Result<BrokerOrderId, BrokerError> {
    if inner.settings().read_only {
        return Err(BrokerError::ReadOnly);
    }
    let (contract, order, combo_action) = build(inner, req)?;
    let client = inner.client()?;
    let order_id = {
        let mut book = lock(&inner.orders);
        if book.by_ref.contains_key(&req.order_ref) {
            return Err(BrokerError::DuplicateOrderRef(req.order_ref.clone()));
        }
        let order_id = client.next_order_id();
        book.insert(
            order_id,
            OrderRecord {
                order_ref: req.order_ref.clone(),
                contract: contract.clone(),
                order: order.clone(),
                combo_action,
                confirmed: false,
                ended: false,
            },
        );
        order_id
    };
    inner.grant(Priority::Order).await?;
    info!(order_id, order_ref = %req.order_ref, "placing order");
    client
        .submit_order(order_id, &contract, &order)
        .await
        .map_err(|e| {
            // Kept in the book: reconciliation decides whether it arrived.
            let err = map_err(e, "place order");
            if matches!(err, BrokerError::NotConnected) {
                inner.loss_hint.notify_one();
            }
            err
        })?;
    Ok(BrokerOrderId(i64::from(order_id)))
}

pub(crate) async fn what_if(inner: &Arc<Inner>, req: &OrderRequest) -> Result<WhatIf, BrokerError> {
    let (contract, mut order, _) = build(inner, req)?;
    order.what_if = true;
    let client = inner.client()?;
    let order_id = client.next_order_id();
    lock(&inner.orders).remember_what_if(order_id);
    inner.grant(Priority::Order).await?;
    inner
        .timed("what-if", async {
            let mut sub = client
                .place_order(order_id, &contract, &order)
                .await
                .map_err(|e| map_err(e, "what-if"))?;
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(PlaceOrder::OpenOrder(data))) => {
                        return Ok(crate::convert::what_if(&data.order_state));
                    }
                    Ok(_) => {}
                    Err(ibapi::Error::Notice(n)) => {
                        return Err(BrokerError::OrderRejected {
                            order_ref: req.order_ref.clone(),
                            code: n.code,
                            reason: n.message,
                        });
                    }
                    Err(e) => return Err(map_err(e, "what-if")),
                }
            }
            Err(BrokerError::NotConnected)
        })
        .await
}

pub(crate) async fn modify(
    inner: &Arc<Inner>,
    order_id: BrokerOrderId,
    price: NetPriceOrLimit,
) -> Result<(), BrokerError> {
    if inner.settings().read_only {
        return Err(BrokerError::ReadOnly);
    }
    let id = to_i32(order_id)?;
    let (contract, order) = {
        let mut book = lock(&inner.orders);
        let record = book
            .by_id
            .get_mut(&id)
            .ok_or(BrokerError::UnknownOrder(order_id))?;
        let limit = match (price, record.combo_action) {
            (NetPriceOrLimit::Limit(l), None) if l > Decimal::ZERO => l,
            (NetPriceOrLimit::Net(p), Some(action)) => signed_limit(action, p),
            (p, _) => {
                return Err(BrokerError::InvalidOrder {
                    order_ref: record.order_ref.clone(),
                    reason: format!("price {p:?} does not fit this order"),
                });
            }
        };
        record.order.limit_price = Some(wire(limit));
        (record.contract.clone(), record.order.clone())
    };
    let client = inner.client()?;
    inner.grant(Priority::Order).await?;
    client
        .submit_order(id, &contract, &order)
        .await
        .map_err(|e| map_err(e, "modify order"))
}

pub(crate) async fn cancel(inner: &Arc<Inner>, order_id: BrokerOrderId) -> Result<(), BrokerError> {
    if inner.settings().read_only {
        return Err(BrokerError::ReadOnly);
    }
    let id = to_i32(order_id)?;
    let client = inner.client()?;
    inner.grant(Priority::Order).await?;
    let sub = client
        .cancel_order(id, "")
        .await
        .map_err(|e| map_err(e, "cancel order"))?;
    // The outcome arrives on the order stream; this subscription only
    // needs to live until the gateway has answered.
    tokio::spawn(async move {
        let mut sub = sub;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next()).await;
    });
    Ok(())
}

/// Starts the order stream of a new connection.
pub(crate) async fn start_pump(
    inner: Arc<Inner>,
    client: Arc<Client>,
) -> Result<JoinHandle<()>, BrokerError> {
    let mut stream = client
        .order_update_stream()
        .await
        .map_err(|e| map_err(e, "order update stream"))?;
    Ok(tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            match item {
                Ok(SubscriptionItem::Data(update)) => on_update(&inner, update),
                Ok(SubscriptionItem::Notice(n)) => on_order_notice(&inner, n),
                Err(e) => {
                    if e.is_connection_lost() {
                        inner.loss_hint.notify_one();
                    } else {
                        warn!(error = %e, "order update stream ended");
                    }
                    return;
                }
            }
        }
    }))
}

fn on_update(inner: &Inner, update: OrderUpdate) {
    let event = {
        let mut book = lock(&inner.orders);
        match update {
            OrderUpdate::OpenOrder(data) => {
                if data.order.what_if || book.what_if_ids.contains(&data.order_id) {
                    return;
                }
                book.confirm(data.order_id);
                if !data.order.order_ref.is_empty() && !book.by_id.contains_key(&data.order_id) {
                    adopt(&mut book, data.order_id, data.contract, data.order);
                }
                return;
            }
            OrderUpdate::OrderStatus(s) => {
                if book.what_if_ids.contains(&s.order_id) {
                    return;
                }
                book.confirm(s.order_id);
                let status = order_status(&s.status);
                let order_ref = book.ref_of(s.order_id);
                if status.is_terminal() {
                    book.end(s.order_id);
                }
                OrderEvent::Status {
                    order_id: BrokerOrderId(i64::from(s.order_id)),
                    order_ref,
                    status,
                    filled: decimal(s.filled).unwrap_or_default(),
                    remaining: decimal(s.remaining).unwrap_or_default(),
                    average_fill_price: s.average_fill_price.and_then(decimal),
                }
            }
            OrderUpdate::ExecutionData(data) => {
                let mut x = execution(&data);
                if x.order_ref.is_empty() {
                    x.order_ref = book.ref_of(data.execution.order_id);
                }
                book.confirm(data.execution.order_id);
                book.remember_execution(&x.exec_id, &x.order_ref);
                OrderEvent::Execution(x)
            }
            OrderUpdate::CommissionReport(c) => OrderEvent::Commission {
                order_ref: book
                    .exec_refs
                    .get(&c.execution_id)
                    .cloned()
                    .unwrap_or_default(),
                exec_id: c.execution_id,
                commission: decimal(c.commission).unwrap_or_default(),
                currency: c.currency,
            },
            OrderUpdate::OrderBound(_) => return,
        }
    };
    inner.publish(BrokerEvent::Order(event));
}

/// Records an order the gateway knows and this layer did not (after a restart).
fn adopt(book: &mut OrderBook, order_id: i32, contract: Contract, order: Order) {
    let action = match order.action {
        ibapi::orders::Action::Buy => Side::Buy,
        _ => Side::Sell,
    };
    let combo_action = (contract.security_type == SecurityType::Spread).then_some(action);
    book.insert(
        order_id,
        OrderRecord {
            order_ref: order.order_ref.clone(),
            contract,
            order,
            combo_action,
            confirmed: true,
            ended: false,
        },
    );
}

/// Order-bound errors: rejections become events; the rest are notices.
fn on_order_notice(inner: &Inner, n: ibapi::Notice) {
    inner.metrics.gateway_error(n.code);
    let Some(order_id) = n.request_id else {
        inner.publish(BrokerEvent::Notice(Notice {
            code: n.code,
            message: n.message,
        }));
        return;
    };
    let (order_ref, confirmed) = {
        let book = lock(&inner.orders);
        if book.what_if_ids.contains(&order_id) {
            return;
        }
        (book.ref_of(order_id), book.is_confirmed(order_id))
    };
    match n.code {
        // Cancel confirmation: the Cancelled status follows on its own.
        202 => debug!(order_id, "cancel confirmed"),
        // Once the gateway has acknowledged an order, an error about it
        // answers a change (a walk step, a cancel) and leaves the order as
        // it was: TWS keeps a working order whose modification it refused,
        // and a filled one stays filled (104). The order's own statuses
        // say whether it ends.
        103 | 104 | 110 | 200 | 201 | 203 | 321 | 10147 | 10148 if confirmed => {
            warn!(order_id, code = n.code, message = %n.message, %order_ref, "a change to an acknowledged order was refused");
            inner.publish(BrokerEvent::Notice(Notice {
                code: n.code,
                message: format!("order {order_id} ({order_ref}): {}", n.message),
            }));
        }
        103 | 110 | 200 | 201 | 203 | 321 | 10147 | 10148 => {
            warn!(order_id, code = n.code, message = %n.message, "order rejected");
            inner.publish(BrokerEvent::Order(OrderEvent::Rejected {
                order_id: BrokerOrderId(i64::from(order_id)),
                order_ref,
                code: n.code,
                reason: n.message,
            }));
        }
        _ => inner.publish(BrokerEvent::Notice(Notice {
            code: n.code,
            message: format!("order {order_id}: {}", n.message),
        })),
    }
}

/// Fetches open orders, executions and positions, compares them with
/// `expected`, re-links orders by orderRef, and publishes the report.
pub(crate) async fn reconcile(
    inner: &Arc<Inner>,
    expected: &Expectations,
) -> Result<ReconciliationReport, BrokerError> {
    let client = inner.client()?;
    let mut state = GatewayState::default();

    inner.grant(Priority::Lookup).await?;
    let open = inner
        .timed("open orders", async {
            let mut sub = client
                .open_orders()
                .await
                .map_err(|e| map_err(e, "open orders"))?;
            sub.collect_to_end_within(inner.settings().request_timeout)
                .await
                .map_err(|e| map_err(e, "open orders"))
        })
        .await?;
    let mut filled: HashMap<i32, Decimal> = HashMap::new();
    let mut open_data = Vec::new();
    for item in open {
        match item {
            Orders::OrderData(d) => open_data.push(d),
            Orders::OrderStatus(s) => {
                filled.insert(s.order_id, decimal(s.filled).unwrap_or_default());
            }
        }
    }

    inner.grant(Priority::Lookup).await?;
    let filter = ExecutionFilter {
        time: expected
            .executions_since
            .map(execution_filter_time)
            .unwrap_or_default(),
        ..ExecutionFilter::default()
    };
    let executions = inner
        .timed("executions", async {
            let mut sub = client
                .executions(filter)
                .await
                .map_err(|e| map_err(e, "executions"))?;
            sub.collect_to_end_within(inner.settings().request_timeout)
                .await
                .map_err(|e| map_err(e, "executions"))
        })
        .await?;
    let mut commissions = Vec::new();
    for item in executions {
        match item {
            Executions::ExecutionData(d) => state.executions.push(execution(&d)),
            Executions::CommissionReport(c) => commissions.push(c),
        }
    }
    state.commissions = commissions
        .into_iter()
        .map(|c| CommissionReport {
            order_ref: state
                .executions
                .iter()
                .find(|x| x.exec_id == c.execution_id)
                .map(|x| x.order_ref.clone())
                .unwrap_or_default(),
            exec_id: c.execution_id,
            commission: decimal(c.commission).unwrap_or_default(),
            currency: c.currency,
        })
        .collect();

    state.positions = inner
        .fetch_positions()
        .await?
        .into_iter()
        .map(|p| (p.con_id, p.quantity))
        .fold(BTreeMap::<ConId, Decimal>::new(), |mut m, (c, q)| {
            *m.entry(c).or_default() += q;
            m
        });
    state.positions.retain(|_, q| !q.is_zero());

    {
        let mut book = lock(&inner.orders);
        for d in &open_data {
            if d.order.what_if {
                continue;
            }
            if !book.by_id.contains_key(&d.order_id) && !d.order.order_ref.is_empty() {
                adopt(&mut book, d.order_id, d.contract.clone(), d.order.clone());
            }
            book.confirm(d.order_id);
            state.open_orders.push(GatewayOrder {
                order_id: BrokerOrderId(i64::from(d.order_id)),
                order_ref: d.order.order_ref.clone(),
                filled: filled.get(&d.order_id).copied().unwrap_or_default(),
            });
        }
        for x in &state.executions {
            if let Ok(id) = i32::try_from(x.order_id.0) {
                book.confirm(id);
            }
            book.remember_execution(&x.exec_id, &x.order_ref);
        }
        // Sent but never seen by the gateway: forget, so the caller may place it again.
        let lost: Vec<i32> = book
            .by_id
            .iter()
            .filter(|(_, r)| !r.confirmed)
            .map(|(id, _)| *id)
            .collect();
        for id in lost {
            if let Some(r) = book.by_id.remove(&id) {
                warn!(order_ref = %r.order_ref, "order never reached the gateway");
                book.by_ref.remove(&r.order_ref);
            }
        }
    }

    let report = compare(expected, &state);
    inner.metrics.reconciled(report.discrepancies.len());
    info!(
        open_orders = report.open_orders,
        executions = report.executions,
        positions = report.positions,
        discrepancies = report.discrepancies.len(),
        "reconciled with the gateway"
    );
    inner.publish(BrokerEvent::Reconciled(report.clone()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(order_ref: &str) -> OrderRecord {
        OrderRecord {
            order_ref: order_ref.into(),
            contract: Contract::default(),
            order: Order::default(),
            combo_action: None,
            confirmed: true,
            ended: false,
        }
    }

    #[test]
    fn the_book_forgets_the_oldest_ended_orders_never_a_working_one() {
        let mut book = OrderBook::default();
        book.insert(1, record("working"));
        let n = i32::try_from(ENDED_KEPT).unwrap() + 50;
        for id in 2..2 + n {
            book.insert(id, record(&format!("r{id}")));
            book.end(id);
            book.end(id); // a terminal status repeated counts once
            book.remember_execution(&format!("x{id}.1"), &format!("r{id}"));
            book.remember_execution(&format!("x{id}.2"), &format!("r{id}"));
            book.remember_what_if(10_000 + id);
        }
        let (orders, executions, what_ifs) = book.sizes();
        assert_eq!(
            orders,
            ENDED_KEPT + 1,
            "the ended ones kept, and the working one"
        );
        assert_eq!(book.by_ref.len(), ENDED_KEPT + 1);
        assert_eq!(book.id_of("working"), Some(BrokerOrderId(1)));
        assert_eq!(
            book.id_of("r2"),
            None,
            "the oldest ended order is forgotten"
        );
        let newest = 1 + n;
        assert_eq!(book.ref_of(newest), format!("r{newest}"));
        assert_eq!(executions, 2 * usize::try_from(n).unwrap());
        for i in 0..EXECUTIONS_KEPT {
            book.remember_execution(&format!("y{i}"), "r");
        }
        assert_eq!(book.sizes().1, EXECUTIONS_KEPT);
        assert!(!book.exec_refs.contains_key(&format!("x{newest}.2")));
        assert_eq!(
            book.exec_refs
                .get(&format!("y{}", EXECUTIONS_KEPT - 1))
                .map(String::as_str),
            Some("r")
        );
        assert_eq!(what_ifs, WHAT_IFS_KEPT);
        assert!(book.what_if_ids.contains(&(10_000 + newest)));
    }
}
