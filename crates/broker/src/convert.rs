//! Translation between `ibapi`'s types and the domain's, both ways. This is
//! the seam that keeps `ibapi` inside the crate: nothing it defines crosses
//! into [`vspread_core::broker`].
//!
//! Decimal ↔ f64: `ibapi` carries prices and sizes as f64. Prices coming in
//! are rounded to 8 decimal places (more than any tick IB uses) so that
//! `0.1 + 0.2`-style noise never reaches a limit price or the journal.

use chrono::NaiveDate;
use ibapi::contracts::{
    ComboLeg, ComboLegOpenClose, Contract, ContractDetails, Currency, Exchange, LegAction,
    OptionChain, OptionRight, SecurityType, Symbol, TagValue,
};
use ibapi::orders::{
    Action, ExecutionData, ExecutionSide, Order, OrderState, OrderStatusKind, TimeInForce as IbTif,
};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use vspread_core::Right;
use vspread_core::{
    BrokerOrderId, ConId, ContractInfo, Execution, Instrument, OptionChainParams, OptionContract,
    OrderStatus, Price, Side, StockContract, TimeInForce, WhatIf,
};

use crate::combo::BagOrder;

/// f64 from the wire → exact decimal, `None` for IB's "no value" markers.
pub fn decimal(value: f64) -> Option<Decimal> {
    if !value.is_finite() || value.abs() == f64::MAX {
        return None;
    }
    Decimal::from_f64(value).map(|d| d.round_dp(8).normalize())
}

/// A price from the wire, where −1 (and any negative value) means "no data".
pub fn price(value: f64) -> Option<Decimal> {
    if value < 0.0 { None } else { decimal(value) }
}

/// Decimal → f64 for the wire.
pub fn wire(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(f64::NAN)
}

/// `YYYYMMDD` → date.
pub fn parse_yyyymmdd(s: &str) -> Option<NaiveDate> {
    let s = s.get(..8)?;
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

fn right(r: Right) -> OptionRight {
    match r {
        Right::Call => OptionRight::Call,
        Right::Put => OptionRight::Put,
    }
}

/// The request for a stock: SMART, USD.
pub fn stock_query(symbol: &str) -> Contract {
    Contract {
        symbol: Symbol::from(symbol),
        security_type: SecurityType::Stock,
        exchange: Exchange::from("SMART"),
        currency: Currency::from("USD"),
        ..Contract::default()
    }
}

/// The request for one option, by its identity (exchange, currency and
/// multiplier as the contract says: SMART, USD, 100 unless set otherwise).
pub fn option_query(option: &OptionContract) -> Contract {
    Contract {
        symbol: Symbol::from(option.underlying()),
        security_type: SecurityType::Option,
        last_trade_date_or_contract_month: option.expiry().format("%Y%m%d").to_string(),
        strike: wire(option.strike().value()),
        right: Some(right(option.right())),
        multiplier: option.multiplier().to_string(),
        exchange: Exchange::from(option.exchange()),
        currency: Currency::from(option.currency()),
        ..Contract::default()
    }
}

/// Why a gateway contract could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable contract from the gateway ({con_id}): {reason}")]
pub struct BadContract {
    pub con_id: i32,
    pub reason: String,
}

/// Contract details → domain contract.
pub fn contract_info(details: &ContractDetails) -> Result<ContractInfo, BadContract> {
    let c = &details.contract;
    let bad = |reason: &str| BadContract {
        con_id: c.contract_id,
        reason: reason.to_string(),
    };
    let con_id = ConId(i64::from(c.contract_id));
    // An empty exchange or currency is the gateway leaving the default.
    let or = |text: String, default: &str| {
        if text.is_empty() {
            default.to_string()
        } else {
            text
        }
    };
    let exchange = or(c.exchange.to_string(), "SMART");
    let currency = or(c.currency.to_string(), "USD");
    let instrument = match c.security_type {
        SecurityType::Stock => Instrument::Stock(
            StockContract::listed(c.symbol.as_str(), &exchange, &currency)
                .map_err(|e| bad(&e.to_string()))?
                .with_con_id(con_id),
        ),
        SecurityType::Option => {
            let expiry = c
                .last_trade_date
                .map(|d| {
                    NaiveDate::from_ymd_opt(
                        d.year(),
                        u32::from(u8::from(d.month())),
                        u32::from(d.day()),
                    )
                })
                .unwrap_or_else(|| parse_yyyymmdd(&c.last_trade_date_or_contract_month))
                .ok_or_else(|| bad("option without a YYYYMMDD expiry"))?;
            let right = match c.right {
                Some(OptionRight::Call) => Right::Call,
                Some(OptionRight::Put) => Right::Put,
                None => return Err(bad("option without a right")),
            };
            let strike = decimal(c.strike).ok_or_else(|| bad("option without a strike"))?;
            let multiplier = if c.multiplier.is_empty() {
                100
            } else {
                c.multiplier
                    .parse::<u32>()
                    .map_err(|_| bad(&format!("multiplier `{}`", c.multiplier)))?
            };
            Instrument::Option(
                OptionContract::builder()
                    .underlying(c.symbol.as_str())
                    .expiry(expiry)
                    .strike(Price::new(strike))
                    .right(right)
                    .multiplier(multiplier)
                    .exchange(exchange)
                    .currency(currency)
                    .con_id(con_id)
                    .build()
                    .map_err(|e| bad(&e.to_string()))?,
            )
        }
        ref other => return Err(bad(&format!("unsupported security type {other:?}"))),
    };
    if c.contract_id <= 0 {
        return Err(bad("missing conId"));
    }
    Ok(ContractInfo {
        con_id,
        instrument,
        primary_exchange: c.primary_exchange.to_string(),
        local_symbol: c.local_symbol.clone(),
        trading_class: c.trading_class.clone(),
        min_tick: decimal(details.min_tick).unwrap_or(Decimal::new(1, 2)),
    })
}

/// A resolved contract as sent with an order or a market data request.
pub fn contract_of(info: &ContractInfo) -> Contract {
    let con_id = i32::try_from(info.con_id.0).unwrap_or(0);
    let mut c = match &info.instrument {
        Instrument::Stock(stock) => stock_query(stock.symbol()),
        Instrument::Option(option) => option_query(option),
    };
    c.contract_id = con_id;
    c.exchange = Exchange::from(info.exchange());
    c.currency = Currency::from(info.currency());
    if !info.trading_class.is_empty() {
        c.trading_class = info.trading_class.clone();
    }
    c
}

fn ib_action(a: Side) -> Action {
    match a {
        Side::Buy => Action::Buy,
        Side::Sell => Action::Sell,
    }
}

fn ib_tif(t: TimeInForce) -> IbTif {
    match t {
        TimeInForce::Day => IbTif::Day,
        TimeInForce::GoodTillCancelled => IbTif::GoodTillCanceled,
    }
}

/// The BAG contract of a checked combo.
pub fn bag_contract(bag: &BagOrder) -> Contract {
    Contract {
        symbol: Symbol::from(bag.symbol.as_str()),
        security_type: SecurityType::Spread,
        exchange: Exchange::from(bag.exchange),
        currency: Currency::from(bag.currency.as_str()),
        combo_legs: bag
            .legs
            .iter()
            .map(|l| ComboLeg {
                contract_id: i32::try_from(l.con_id).unwrap_or(0),
                ratio: i32::try_from(l.ratio).unwrap_or(1),
                action: match l.action {
                    Side::Buy => LegAction::Buy,
                    Side::Sell => LegAction::Sell,
                },
                exchange: l.exchange.to_string(),
                open_close: ComboLegOpenClose::default(),
                ..ComboLeg::default()
            })
            .collect(),
        ..Contract::default()
    }
}

/// One exchange's option chain parameters of `underlying` (conId
/// `underlying_con_id`), as `reqSecDefOptParams` answered; expirations
/// and strikes that do not parse are left out, an unreadable multiplier
/// is the standard 100.
pub fn option_chain_params(
    underlying: &str,
    underlying_con_id: ConId,
    chain: OptionChain,
) -> OptionChainParams {
    OptionChainParams {
        underlying: underlying.to_string(),
        underlying_con_id,
        exchange: chain.exchange,
        trading_class: chain.trading_class,
        multiplier: chain.multiplier.parse().unwrap_or(Decimal::ONE_HUNDRED),
        expirations: chain
            .expirations
            .iter()
            .filter_map(|e| parse_yyyymmdd(e))
            .collect(),
        strikes: chain.strikes.iter().filter_map(|s| decimal(*s)).collect(),
    }
}

/// A transmitted limit order carrying `order_ref`.
pub fn limit_order(
    action: Side,
    quantity: u32,
    limit: Decimal,
    order_ref: &str,
    tif: TimeInForce,
    account: &str,
    combo: bool,
) -> Order {
    let mut order = Order {
        action: ib_action(action),
        total_quantity: f64::from(quantity),
        order_type: "LMT".into(),
        limit_price: Some(wire(limit)),
        tif: ib_tif(tif),
        order_ref: order_ref.to_string(),
        transmit: true,
        account: account.to_string(),
        ..Order::default()
    };
    if combo {
        // Option-vs-option combos on SMART are guaranteed; say so explicitly.
        order.smart_combo_routing_params = vec![TagValue {
            tag: "NonGuaranteed".into(),
            value: "0".into(),
        }];
    }
    order
}

pub fn order_status(kind: &OrderStatusKind) -> OrderStatus {
    match kind {
        OrderStatusKind::ApiPending | OrderStatusKind::PendingSubmit => OrderStatus::PendingSubmit,
        OrderStatusKind::PreSubmitted => OrderStatus::PreSubmitted,
        OrderStatusKind::Submitted => OrderStatus::Submitted,
        OrderStatusKind::PendingCancel => OrderStatus::PendingCancel,
        OrderStatusKind::ApiCancelled | OrderStatusKind::Cancelled => OrderStatus::Cancelled,
        OrderStatusKind::Filled => OrderStatus::Filled,
        _ => OrderStatus::Inactive,
    }
}

pub fn execution(data: &ExecutionData) -> Execution {
    let e = &data.execution;
    Execution {
        exec_id: e.execution_id.clone(),
        order_id: BrokerOrderId(i64::from(e.order_id)),
        order_ref: e.order_reference.clone(),
        con_id: ConId(i64::from(data.contract.contract_id)),
        side: match e.side {
            ExecutionSide::Bought => Side::Buy,
            ExecutionSide::Sold => Side::Sell,
        },
        quantity: decimal(e.shares).unwrap_or_default(),
        price: decimal(e.price).unwrap_or_default(),
        cumulative_quantity: decimal(e.cumulative_quantity).unwrap_or_default(),
        average_price: decimal(e.average_price).unwrap_or_default(),
        time: e.time.clone(),
        combo: data.contract.security_type == SecurityType::Spread,
    }
}

pub fn what_if(state: &OrderState) -> WhatIf {
    let d = |v: Option<f64>| v.and_then(decimal);
    WhatIf {
        init_margin_change: d(state.initial_margin_change),
        maint_margin_change: d(state.maintenance_margin_change),
        equity_with_loan_change: d(state.equity_with_loan_change),
        init_margin_after: d(state.initial_margin_after),
        maint_margin_after: d(state.maintenance_margin_after),
        equity_with_loan_after: d(state.equity_with_loan_after),
        commission: d(state.commission),
        min_commission: d(state.minimum_commission),
        max_commission: d(state.maximum_commission),
        commission_currency: state.commission_currency.clone(),
        warning: (!state.warning_text.is_empty()).then(|| state.warning_text.clone()),
    }
}

/// `ExecutionFilter.time` form: `yyyymmdd-hh:mm:ss` in UTC.
pub fn execution_filter_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y%m%d-%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_floats_become_clean_decimals() {
        assert_eq!(decimal(0.1 + 0.2), Some("0.3".parse().unwrap()));
        assert_eq!(decimal(2.15), Some("2.15".parse().unwrap()));
        assert_eq!(price(-1.0), None);
        assert_eq!(decimal(f64::MAX), None);
        assert_eq!(decimal(f64::NAN), None);
        assert_eq!(price(-0.5), None);
        assert_eq!(decimal(-2.5), Some("-2.5".parse().unwrap()));
    }

    #[test]
    fn option_contract_round_trips_through_the_wire_shape() {
        let spec = OptionContract::builder()
            .underlying("AAPL")
            .expiry(NaiveDate::from_ymd_opt(2026, 12, 18).unwrap())
            .strike("192.5".parse().unwrap())
            .right(Right::Put)
            .build()
            .unwrap();
        let q = option_query(&spec);
        assert_eq!(q.last_trade_date_or_contract_month, "20261218");
        assert_eq!(q.strike, 192.5);
        assert_eq!(q.right, Some(OptionRight::Put));
        let mut c = q.clone();
        c.contract_id = 1234;
        let details = ContractDetails {
            contract: c,
            min_tick: 0.01,
            ..ContractDetails::default()
        };
        let info = contract_info(&details).unwrap();
        assert_eq!(info.con_id, ConId(1234));
        assert_eq!(info.instrument, Instrument::Option(spec));
        assert_eq!(info.multiplier(), 100);
        assert_eq!(info.option().unwrap().con_id(), Some(ConId(1234)));
        assert_eq!(info.min_tick, "0.01".parse().unwrap());
        let back = contract_of(&info);
        assert_eq!(back.contract_id, 1234);
        assert_eq!(back.multiplier, "100");
    }

    #[test]
    fn a_contract_without_con_id_is_refused_with_the_reason() {
        let details = ContractDetails {
            contract: stock_query("AAPL"),
            ..ContractDetails::default()
        };
        let err = contract_info(&details).unwrap_err();
        assert!(err.to_string().contains("missing conId"), "{err}");
    }
}
