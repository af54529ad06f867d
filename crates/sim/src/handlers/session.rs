//! Session requests: `reqIds`, `reqCurrentTime` (seconds and
//! milliseconds), `reqManagedAccts` and `reqMarketDataType`, plus the
//! startup messages TWS sends after `startApi`.

use crate::handlers::Ctx;
use crate::wire::frame::Message;
use crate::wire::messages::{
    CurrentTime, CurrentTimeInMillis, IdsRequest, ManagedAccounts, MarketDataTypeRequest,
    NextValidId, reply,
};

/// The farm notices TWS sends after connecting (warnings, id −1).
pub const FARM_NOTICES: [(i32, &str); 3] = [
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
];

fn next_valid_id(ctx: &Ctx<'_>) -> NextValidId {
    NextValidId {
        order_id: Some(ctx.gateway.book_now().venue.next_order_id()),
    }
}

/// Managed accounts, next valid id, then the farm notices.
pub fn startup(ctx: &Ctx<'_>) {
    managed_accounts(ctx);
    ctx.send(reply::NEXT_VALID_ID, &next_valid_id(ctx));
    for (code, text) in FARM_NOTICES {
        ctx.error(-1, code, text);
    }
}

/// `reqIds`: the count does not change the answer (IB docs).
pub fn ids(ctx: &Ctx<'_>, message: &Message) {
    if ctx.decode::<IdsRequest>(message, "ids").is_some() {
        ctx.send(reply::NEXT_VALID_ID, &next_valid_id(ctx));
    }
}

pub fn current_time(ctx: &Ctx<'_>) {
    ctx.send(
        reply::CURRENT_TIME,
        &CurrentTime {
            current_time: Some(ctx.gateway.reported_now().timestamp()),
        },
    );
}

pub fn current_time_millis(ctx: &Ctx<'_>) {
    ctx.send(
        reply::CURRENT_TIME_MILLIS,
        &CurrentTimeInMillis {
            current_time_in_millis: Some(ctx.gateway.reported_now().timestamp_millis()),
        },
    );
}

pub fn managed_accounts(ctx: &Ctx<'_>) {
    ctx.send(
        reply::MANAGED_ACCOUNTS,
        &ManagedAccounts {
            accounts_list: Some(ctx.gateway.settings.accounts.join(",")),
        },
    );
}

/// `reqMarketDataType`: no reply; kept per connection (TWS does not keep
/// it across connections) and echoed with every later `reqMktData`.
pub fn market_data_type(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<MarketDataTypeRequest>(message, "market data type") else {
        return;
    };
    let kind = req.market_data_type.unwrap_or(0);
    if !(1..=4).contains(&kind) {
        ctx.error(
            -1,
            321,
            &format!("Error validating request.-'bz' : cause - invalid market data type {kind}"),
        );
        return;
    }
    crate::gateway::lock(&ctx.link.subs).market_data_type = kind;
}
