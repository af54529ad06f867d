//! Orders and executions on the wire: `placeOrder` (single contracts and
//! BAG combos, what-if included), `cancelOrder`, `reqGlobalCancel`,
//! `reqOpenOrders` / `reqAllOpenOrders` and `reqExecutions`, and the
//! frames the venue's order events become (`OpenOrder`, `OrderStatus`,
//! `ExecutionDetails`, `CommissionAndFeesReport`).
//!
//! The venue decides; this module translates. The order id travels at
//! `PlaceOrderRequest` tag 1 and is echoed in `OpenOrder` tag 1 and
//! `Order.orderId`; the client id echoed everywhere is the connection's
//! (`startApi`), never the one in the request (Python sends 0).

use std::str::FromStr as _;

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use crate::gateway::Book;
use crate::handlers::Ctx;
use crate::handlers::contracts::{self, NOT_FOUND};
use crate::orders::{
    Action, ComboLeg, Execution as SimExecution, ExecutionScope, Order as SimOrder, OrderContract,
    OrderRequest, OrderStatus as SimStatus, OrderType, TimeInForce, WhatIf,
};
use crate::wire::frame::{Message, encode_protobuf};
use crate::wire::messages::{ComboLeg as WireLeg, Contract, Empty, ReqIdOnly, reply};
use crate::wire::orders::{
    CancelOrderRequest, CommissionAndFeesReport, Execution, ExecutionDetails, ExecutionFilter,
    ExecutionRequest, OpenOrder, Order, OrderState, OrderStatus, PlaceOrderRequest,
};

/// IB's "unset" double.
const UNSET: f64 = f64::MAX;

/// Why a placed order could not be read: IB's code and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i32,
    pub text: String,
}

fn invalid(detail: impl std::fmt::Display) -> Refusal {
    Refusal {
        code: 321,
        text: format!("Error validating request.-'bO' : cause - {detail}"),
    }
}

/// An f64 price from the wire as the exact decimal it was meant to be
/// (`5.05` stays `5.05`, not its binary neighbour).
pub fn price_decimal(price: f64) -> Option<Decimal> {
    if !price.is_finite() || price == UNSET {
        return None;
    }
    Decimal::from_str(&price.to_string()).ok()
}

/// What the request's contract trades.
fn order_contract(book: &Book, c: &Contract) -> Result<OrderContract, Refusal> {
    if c.sec_type.as_deref() == Some("BAG") {
        let legs = c
            .combo_legs
            .iter()
            .map(|l| {
                let action = Action::parse(l.action.as_deref().unwrap_or(""))
                    .ok_or_else(|| invalid(format!("combo leg action {:?}", l.action)))?;
                let ratio = u32::try_from(l.ratio.unwrap_or(0))
                    .map_err(|_| invalid("combo leg ratio must be positive"))?;
                Ok(ComboLeg {
                    con_id: l.con_id.unwrap_or(0),
                    ratio,
                    action,
                })
            })
            .collect::<Result<Vec<_>, Refusal>>()?;
        return Ok(OrderContract::Combo {
            symbol: c.symbol.clone().unwrap_or_default(),
            legs,
        });
    }
    let found = contracts::matching(&book.market, c);
    match found.as_slice() {
        [one] => Ok(OrderContract::Single {
            con_id: one.con_id(),
        }),
        [] => Err(Refusal {
            code: 200,
            text: NOT_FOUND.to_string(),
        }),
        _ => Err(Refusal {
            code: 200,
            text: format!(
                "The contract description specified for {} is ambiguous.",
                c.symbol.as_deref().unwrap_or("")
            ),
        }),
    }
}

/// The venue's order request for a `placeOrder`.
pub fn order_request(
    book: &Book,
    client_id: i32,
    order_id: i32,
    contract: &Contract,
    order: &Order,
) -> Result<OrderRequest, Refusal> {
    let contract = order_contract(book, contract)?;
    let action = Action::parse(order.action.as_deref().unwrap_or(""))
        .ok_or_else(|| invalid(format!("invalid action {:?}", order.action)))?;
    let quantity_text = order.total_quantity.as_deref().unwrap_or("0");
    let quantity = Decimal::from_str(quantity_text)
        .map_err(|_| invalid(format!("invalid total quantity {quantity_text:?}")))?;
    let order_type =
        OrderType::parse(order.order_type.as_deref().unwrap_or("")).ok_or_else(|| {
            invalid(format!(
                "order type {:?} is not supported by the simulator (LMT, MKT)",
                order.order_type
            ))
        })?;
    let tif = TimeInForce::parse(order.tif.as_deref().unwrap_or("")).ok_or_else(|| {
        invalid(format!(
            "time in force {:?} is not supported by the simulator (DAY, GTC)",
            order.tif
        ))
    })?;
    Ok(OrderRequest {
        client_id,
        order_id,
        contract,
        action,
        quantity,
        order_type,
        limit_price: order.lmt_price.and_then(price_decimal),
        tif,
        order_ref: order.order_ref.clone().unwrap_or_default(),
        account: order.account.clone().unwrap_or_default(),
    })
}

/// The wire contract of what an order trades.
pub fn wire_order_contract(book: &Book, c: &OrderContract) -> Contract {
    match c {
        OrderContract::Single { con_id } => book
            .market
            .contract_by_con_id(*con_id)
            .map(|c| contracts::wire_contract(&c))
            .unwrap_or_else(|| Contract {
                con_id: Some(*con_id),
                ..Contract::default()
            }),
        OrderContract::Combo { symbol, legs } => Contract {
            symbol: Some(symbol.clone()),
            sec_type: Some("BAG".into()),
            exchange: Some("SMART".into()),
            currency: Some("USD".into()),
            combo_legs: legs
                .iter()
                .map(|l| WireLeg {
                    con_id: Some(l.con_id),
                    ratio: i32::try_from(l.ratio).ok(),
                    action: Some(l.action.code().into()),
                    exchange: Some("SMART".into()),
                    ..WireLeg::default()
                })
                .collect(),
            ..Contract::default()
        },
    }
}

fn f(d: Decimal) -> Option<f64> {
    d.to_f64()
}

fn wire_order(o: &OrderRequest, perm_id: i64, filled: Decimal) -> Order {
    Order {
        client_id: Some(o.client_id),
        order_id: Some(o.order_id),
        perm_id: Some(perm_id),
        parent_id: None,
        action: Some(o.action.code().into()),
        total_quantity: Some(o.quantity.normalize().to_string()),
        order_type: Some(o.order_type.code().into()),
        lmt_price: o.limit_price.and_then(f),
        aux_price: None,
        tif: Some(o.tif.code().into()),
        account: Some(o.account.clone()).filter(|a| !a.is_empty()),
        outside_rth: None,
        order_ref: Some(o.order_ref.clone()).filter(|r| !r.is_empty()),
        what_if: None,
        transmit: Some(true),
        filled_quantity: Some(filled.normalize().to_string()),
    }
}

/// `OpenOrder` and `OrderStatus` for an order's current state (a filled
/// order reports its status first, as TWS does at the end of a fill).
pub fn status_frames(book: &Book, o: &SimOrder) -> Vec<Vec<u8>> {
    let open = OpenOrder {
        order_id: Some(o.order_id()),
        contract: Some(wire_order_contract(book, &o.request.contract)),
        order: Some(wire_order(&o.request, o.perm_id, o.filled)),
        order_state: Some(OrderState {
            status: Some(o.status.as_str().into()),
            commission_and_fees: (o.fills > 0).then(|| f(o.commission).unwrap_or(UNSET)),
            commission_and_fees_currency: (o.fills > 0).then(|| "USD".into()),
            ..OrderState::default()
        }),
    };
    let status = OrderStatus {
        order_id: Some(o.order_id()),
        status: Some(o.status.as_str().into()),
        filled: Some(o.filled.normalize().to_string()),
        remaining: Some(o.remaining.normalize().to_string()),
        avg_fill_price: f(o.avg_fill_price),
        perm_id: Some(o.perm_id),
        parent_id: Some(0),
        last_fill_price: f(o.last_fill_price),
        client_id: Some(o.client_id()),
        why_held: None,
        mkt_cap_price: Some(0.0),
    };
    let open = encode_protobuf(reply::OPEN_ORDER, &open);
    let status = encode_protobuf(reply::ORDER_STATUS, &status);
    if o.status == SimStatus::Filled {
        vec![status, open]
    } else {
        vec![open, status]
    }
}

fn exec_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d %H:%M:%S UTC").to_string()
}

/// `ExecutionDetails` then its `CommissionAndFeesReport`.
pub fn execution_frames(book: &Book, req_id: i32, e: &SimExecution) -> Vec<Vec<u8>> {
    let contract = match e.scope {
        ExecutionScope::Leg => {
            wire_order_contract(book, &OrderContract::Single { con_id: e.con_id })
        }
        ExecutionScope::Combo => book
            .venue
            .order(e.client_id, e.order_id)
            .map(|o| wire_order_contract(book, &o.request.contract))
            .unwrap_or_else(|| Contract {
                sec_type: Some("BAG".into()),
                ..Contract::default()
            }),
    };
    let details = ExecutionDetails {
        req_id: Some(req_id),
        contract: Some(contract),
        execution: Some(Execution {
            order_id: Some(e.order_id),
            exec_id: Some(e.exec_id.clone()),
            time: Some(exec_time(e.time)),
            acct_number: Some(e.account.clone()),
            exchange: Some(e.exchange.clone()),
            side: Some(e.side.code().into()),
            shares: Some(e.shares.normalize().to_string()),
            price: f(e.price),
            perm_id: Some(e.perm_id),
            client_id: Some(e.client_id),
            cum_qty: Some(e.cum_qty.normalize().to_string()),
            avg_price: f(e.avg_price),
            order_ref: Some(e.order_ref.clone()).filter(|r| !r.is_empty()),
            last_liquidity: Some(e.last_liquidity),
        }),
    };
    let report = CommissionAndFeesReport {
        exec_id: Some(e.exec_id.clone()),
        commission_and_fees: f(e.commission),
        currency: Some(e.currency.clone()),
        realized_pnl: Some(e.realized_pnl.and_then(f).unwrap_or(UNSET)),
    };
    vec![
        encode_protobuf(reply::EXECUTION_DETAILS, &details),
        encode_protobuf(reply::COMMISSION_AND_FEES_REPORT, &report),
    ]
}

fn what_if_frame(book: &Book, request: &OrderRequest, w: &WhatIf) -> OpenOrder {
    OpenOrder {
        order_id: Some(request.order_id),
        contract: Some(wire_order_contract(book, &request.contract)),
        order: Some(Order {
            what_if: Some(true),
            ..wire_order(request, 0, Decimal::ZERO)
        }),
        order_state: Some(OrderState {
            status: Some(w.status.as_str().into()),
            init_margin_before: f(w.init_margin_before),
            maint_margin_before: f(w.maint_margin_before),
            equity_with_loan_before: f(w.equity_with_loan_before),
            init_margin_change: f(w.init_margin_change),
            maint_margin_change: f(w.maint_margin_change),
            equity_with_loan_change: f(w.equity_with_loan_change),
            init_margin_after: f(w.init_margin_after),
            maint_margin_after: f(w.maint_margin_after),
            equity_with_loan_after: f(w.equity_with_loan_after),
            commission_and_fees: f(w.commission),
            min_commission_and_fees: f(w.min_commission),
            max_commission_and_fees: f(w.max_commission),
            commission_and_fees_currency: Some(w.currency.clone()),
            margin_currency: Some(w.currency.clone()),
            reject_reason: None,
            warning_text: None,
        }),
    }
}

/// `placeOrder`.
pub fn place_order(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<PlaceOrderRequest>(message, "place order") else {
        return;
    };
    let order_id = req.order_id.unwrap_or(0);
    let setup = &ctx.gateway.settings.setup;
    if setup.read_only_api {
        ctx.error(order_id, 321, crate::faults::READ_ONLY_API);
        return;
    }
    let order = req.order.unwrap_or_default();
    let contract = req.contract.unwrap_or_default();
    let what_if = order.what_if.unwrap_or(false);
    if setup.no_combo_permission && contract.sec_type.as_deref() == Some("BAG") {
        ctx.error(order_id, 201, crate::faults::NO_COMBO_PERMISSION);
        return;
    }
    if !what_if && !order.transmit.unwrap_or(false) {
        // Both clients send transmit=true for a normal order and omit it
        // when false; an untransmitted order would sit in TWS's window,
        // which the simulator does not have.
        ctx.error(
            order_id,
            321,
            "Error validating request.-'bO' : cause - transmit=false orders are not held by the simulator; set transmit",
        );
        return;
    }
    let mut book = ctx.gateway.book_now();
    let request = match order_request(&book, ctx.client_id, order_id, &contract, &order) {
        Ok(r) => r,
        Err(refusal) => {
            drop(book);
            ctx.error(order_id, refusal.code, &refusal.text);
            return;
        }
    };
    if what_if {
        let answer = book.venue.what_if(&book.market, &request);
        match answer {
            Ok(w) => {
                let frame = what_if_frame(&book, &request, &w);
                drop(book);
                ctx.send(reply::OPEN_ORDER, &frame);
            }
            Err(reason) => {
                drop(book);
                ctx.error(order_id, reason.code(), &reason.to_string());
            }
        }
        return;
    }
    // An injected rejection is spent only on an order the venue would
    // otherwise accept as valid (its own checks come first).
    if book.venue.what_if(&book.market, &request).is_ok() && ctx.gateway.faults.take_rejection() {
        book.venue
            .reject_next("rejected by the simulator's fault injection");
    }
    let now = book.market.now();
    let Book { market, venue } = &mut *book;
    match venue.place(market, request, now) {
        Ok(events) => ctx.gateway.route(&book, &events),
        Err(reason) => {
            drop(book);
            ctx.error(order_id, reason.code(), &reason.to_string());
        }
    }
}

/// `cancelOrder`: `OrderStatus` Cancelled and error 202 via the venue's
/// event; an unknown id is 135, a finished order 161.
pub fn cancel_order(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<CancelOrderRequest>(message, "cancel order") else {
        return;
    };
    let order_id = req.order_id.unwrap_or(0);
    if ctx.gateway.settings.setup.read_only_api {
        ctx.error(order_id, 321, crate::faults::READ_ONLY_API);
        return;
    }
    let mut book = ctx.gateway.book_now();
    let now = book.market.now();
    match book.venue.cancel(ctx.client_id, order_id, now) {
        Ok(events) => ctx.gateway.route(&book, &events),
        Err(e) => {
            drop(book);
            ctx.error(order_id, e.code(), &e.to_string());
        }
    }
}

/// `reqGlobalCancel`: every working order of every client.
pub fn global_cancel(ctx: &Ctx<'_>) {
    if ctx.gateway.settings.setup.read_only_api {
        ctx.error(-1, 321, crate::faults::READ_ONLY_API);
        return;
    }
    let mut book = ctx.gateway.book_now();
    let now = book.market.now();
    let events = book.venue.cancel_all(now);
    ctx.gateway.route(&book, &events);
}

/// `reqOpenOrders` (this client's working orders) or `reqAllOpenOrders`
/// (every client's), then `OpenOrdersEnd`.
pub fn open_orders(ctx: &Ctx<'_>, all: bool) {
    let frames: Vec<Vec<u8>> = {
        let book = ctx.gateway.book_now();
        book.venue
            .open_orders()
            .filter(|o| all || o.client_id() == ctx.client_id)
            .flat_map(|o| status_frames(&book, o))
            .collect()
    };
    for f in frames {
        ctx.push(f);
    }
    ctx.send(reply::OPEN_ORDERS_END, &Empty {});
}

/// Whether an execution passes a `reqExecutions` filter; a zero or empty
/// field matches everything (Python's default filter carries client id 0).
pub fn filter_matches(
    filter: &ExecutionFilter,
    e: &SimExecution,
    symbol: &str,
    sec_type: &str,
) -> bool {
    let text = |s: &Option<String>| s.as_deref().unwrap_or("").trim().to_ascii_uppercase();
    let client_ok = filter.client_id.unwrap_or(0) == 0 || filter.client_id == Some(e.client_id);
    let acct = text(&filter.acct_code);
    let sym = text(&filter.symbol);
    let sec = text(&filter.sec_type);
    let side = text(&filter.side);
    let side_ok = match side.as_str() {
        "" => true,
        "BUY" | "BOT" => e.side.code() == "BOT",
        "SELL" | "SLD" => e.side.code() == "SLD",
        _ => false,
    };
    let time = filter.time.as_deref().unwrap_or("").trim();
    let time_ok = time.is_empty()
        || ["%Y%m%d %H:%M:%S", "%Y%m%d-%H:%M:%S"].iter().any(|fmt| {
            NaiveDateTime::parse_from_str(time.get(..17).unwrap_or(time), fmt)
                .is_ok_and(|t| e.time.naive_utc() >= t)
        });
    client_ok
        && (acct.is_empty() || acct == e.account.to_ascii_uppercase())
        && (sym.is_empty() || sym == symbol)
        && (sec.is_empty() || sec == sec_type)
        && side_ok
        && time_ok
}

/// `reqExecutions`: each matching execution with its commission report,
/// then `ExecutionDetailsEnd`.
pub fn executions(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<ExecutionRequest>(message, "executions") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let filter = req.execution_filter.unwrap_or_default();
    let frames: Vec<Vec<u8>> = {
        let book = ctx.gateway.book_now();
        book.venue
            .executions()
            .iter()
            .filter(|e| {
                let (symbol, sec_type) = match e.scope {
                    ExecutionScope::Leg => book
                        .market
                        .contract_by_con_id(e.con_id)
                        .map(|c| (c.symbol().to_string(), c.sec_type().to_string()))
                        .unwrap_or_default(),
                    ExecutionScope::Combo => (
                        book.venue
                            .order(e.client_id, e.order_id)
                            .map(|o| match &o.request.contract {
                                OrderContract::Combo { symbol, .. } => symbol.clone(),
                                OrderContract::Single { .. } => String::new(),
                            })
                            .unwrap_or_default(),
                        "BAG".to_string(),
                    ),
                };
                filter_matches(&filter, e, &symbol, &sec_type)
            })
            .flat_map(|e| execution_frames(&book, req_id, e))
            .collect()
    };
    for f in frames {
        ctx.push(f);
    }
    ctx.send(
        reply::EXECUTION_DETAILS_END,
        &ReqIdOnly {
            req_id: Some(req_id),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_prices_become_the_decimals_they_were_meant_to_be() {
        assert_eq!(price_decimal(5.05), Some(Decimal::new(505, 2)));
        assert_eq!(price_decimal(-1.3), Some(Decimal::new(-13, 1)));
        assert_eq!(price_decimal(f64::MAX), None);
        assert_eq!(price_decimal(f64::NAN), None);
    }
}
