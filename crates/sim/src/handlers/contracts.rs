//! `reqContractDetails` for stocks and options: one `ContractData` per
//! matching contract, then `ContractDataEnd`; nothing found is TWS's error
//! 200. An option request may leave expiry, strike or right unset to list
//! many, as with TWS. Also `reqSecDefOptParams`: one row per exchange
//! and trading class, then the end marker (an unknown underlying is an
//! empty chain, as TWS answers it).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive as _, ToPrimitive as _};
use vspread_core::Right;

use crate::handlers::Ctx;
use crate::market::calendar::yyyymmdd;
use crate::market::{Contract as SimContract, ContractDetails as SimDetails, Market};
use crate::wire::frame::{Message, encode_protobuf};
use crate::wire::messages::{
    Contract, ContractData, ContractDataRequest, ContractDetails, ReqIdOnly, SecDefOptParameter,
    SecDefOptParamsRequest, reply,
};

/// Why a request found nothing (sent as error 200 with the reqId).
pub const NOT_FOUND: &str = "No security definition has been found for the request";

fn text(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The contracts a request describes, as the market lists them.
pub fn matching(market: &Market, request: &Contract) -> Vec<SimContract> {
    if let Some(con_id) = request.con_id.filter(|c| *c != 0) {
        return market.contract_by_con_id(con_id).into_iter().collect();
    }
    let symbol = request.symbol.as_deref().unwrap_or("");
    match request.sec_type.as_deref().unwrap_or("") {
        "STK" => market
            .find_stock(symbol)
            .cloned()
            .map(SimContract::Stock)
            .into_iter()
            .collect(),
        "OPT" => {
            let expiry = request
                .last_trade_date_or_contract_month
                .as_deref()
                .filter(|e| e.len() == 8)
                .and_then(|e| NaiveDate::parse_from_str(e, "%Y%m%d").ok());
            let strike = request
                .strike
                .filter(|k| *k > 0.0)
                .and_then(Decimal::from_f64);
            let right = match request.right.as_deref() {
                Some("C" | "CALL") => Some(Right::Call),
                Some("P" | "PUT") => Some(Right::Put),
                _ => None,
            };
            market
                .options(symbol, expiry, strike, right)
                .into_iter()
                .map(SimContract::Option)
                .collect()
        }
        _ => Vec::new(),
    }
}

/// A simulator contract as the wire describes it.
pub fn wire_contract(c: &SimContract) -> Contract {
    let mut contract = Contract {
        con_id: Some(c.con_id()),
        symbol: Some(c.symbol().to_string()),
        sec_type: Some(c.sec_type().to_string()),
        local_symbol: text(c.local_symbol()),
        ..Contract::default()
    };
    match c {
        SimContract::Stock(s) => {
            contract.exchange = text(&s.exchange);
            contract.primary_exch = text(&s.primary_exchange);
            contract.currency = text(&s.currency);
            contract.trading_class = text(&s.trading_class);
        }
        SimContract::Option(o) => {
            contract.last_trade_date_or_contract_month = Some(yyyymmdd(o.expiry));
            contract.last_trade_date = Some(yyyymmdd(o.expiry));
            contract.strike = o.strike.to_f64();
            contract.right = Some(o.right.code().to_string());
            contract.multiplier = Some(f64::from(o.multiplier));
            contract.exchange = text(&o.exchange);
            contract.currency = text(&o.currency);
            contract.trading_class = text(&o.trading_class);
        }
    }
    contract
}

/// The reply frame for one contract.
pub fn contract_data(req_id: i32, details: &SimDetails) -> ContractData {
    let d = details;
    ContractData {
        req_id: Some(req_id),
        contract: Some(wire_contract(&d.contract)),
        contract_details: Some(ContractDetails {
            market_name: text(&d.market_name),
            min_tick: Some(d.min_tick.clone()),
            order_types: text(&d.order_types),
            valid_exchanges: text(&d.valid_exchanges),
            price_magnifier: Some(d.price_magnifier),
            under_con_id: Some(d.under_con_id),
            long_name: text(&d.long_name),
            contract_month: text(&d.contract_month),
            time_zone_id: text(&d.time_zone_id),
            trading_hours: text(&d.trading_hours),
            liquid_hours: text(&d.liquid_hours),
            under_symbol: text(&d.under_symbol),
            under_sec_type: text(&d.under_sec_type),
            market_rule_ids: text(&d.market_rule_ids),
            real_expiration_date: text(&d.real_expiration_date),
            stock_type: text(&d.stock_type),
            min_size: text(&d.min_size),
            size_increment: text(&d.size_increment),
            suggested_size_increment: text(&d.suggested_size_increment),
        }),
    }
}

/// `reqContractDetails`.
pub fn contract_details(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<ContractDataRequest>(message, "contract details") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let frames: Vec<Vec<u8>> = {
        let book = ctx.gateway.book_now();
        matching(&book.market, &req.contract.unwrap_or_default())
            .iter()
            .map(|c| {
                encode_protobuf(
                    reply::CONTRACT_DATA,
                    &contract_data(req_id, &book.market.contract_details(c)),
                )
            })
            .collect()
    };
    if frames.is_empty() {
        ctx.error(req_id, 200, NOT_FOUND);
        return;
    }
    for f in frames {
        ctx.push(f);
    }
    ctx.send(
        reply::CONTRACT_DATA_END,
        &ReqIdOnly {
            req_id: Some(req_id),
        },
    );
}

/// `reqSecDefOptParams`.
pub fn sec_def_opt_params(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<SecDefOptParamsRequest>(message, "option chain") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let params = ctx
        .gateway
        .book_now()
        .market
        .option_params(req.underlying_symbol.as_deref().unwrap_or(""));
    let wanted = req.fut_fop_exchange.as_deref().unwrap_or("");
    if let Some(p) = params.filter(|p| wanted.is_empty() || wanted == p.exchange) {
        ctx.send(
            reply::SEC_DEF_OPT_PARAMETER,
            &SecDefOptParameter {
                req_id: Some(req_id),
                exchange: Some(p.exchange),
                underlying_con_id: Some(p.underlying_con_id),
                trading_class: Some(p.trading_class),
                multiplier: Some(p.multiplier),
                expirations: p.expirations,
                strikes: p.strikes,
            },
        );
    }
    ctx.send(
        reply::SEC_DEF_OPT_PARAMETER_END,
        &ReqIdOnly {
            req_id: Some(req_id),
        },
    );
}
