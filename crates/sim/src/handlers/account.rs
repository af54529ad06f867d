//! Account requests: `reqPositions` (rows, `PositionEnd`, then updates
//! after fills until `cancelPositions`), `reqAccountSummary` (the
//! requested tags in USD, then the end marker) and `reqAccountUpdates`
//! (account values, portfolio, update time, `AccountDataEnd`; sent again
//! after fills while subscribed).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive as _;

use crate::gateway::{Book, lock};
use crate::handlers::Ctx;
use crate::handlers::contracts::wire_contract;
use crate::server::SimSettings;
use crate::wire::frame::{Message, encode_protobuf};
use crate::wire::messages::{
    AccountDataEnd, AccountDataRequest, AccountSummary, AccountSummaryRequest, AccountUpdateTime,
    AccountValue, Empty, PortfolioValue, PositionMessage, ReqIdOnly, reply,
};

fn account_id(book: &Book) -> String {
    book.venue.account().id.clone()
}

/// The `Position` row for one contract (quantity 0 once closed).
pub fn position_update(book: &Book, con_id: i32) -> Option<PositionMessage> {
    let account = book.venue.account();
    match account.positions.get(&con_id) {
        Some(p) => Some(PositionMessage {
            account: Some(account.id.clone()),
            contract: Some(wire_contract(&p.contract)),
            position: Some(p.quantity.normalize().to_string()),
            avg_cost: p.avg_cost().to_f64(),
        }),
        None => book
            .market
            .contract_by_con_id(con_id)
            .map(|c| PositionMessage {
                account: Some(account.id.clone()),
                contract: Some(wire_contract(&c)),
                position: Some("0".into()),
                avg_cost: Some(0.0),
            }),
    }
}

/// `reqPositions`.
pub fn positions(ctx: &Ctx<'_>) {
    let rows: Vec<PositionMessage> = {
        let book = ctx.gateway.book_now();
        let ids: Vec<i32> = book.venue.account().positions.keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| position_update(&book, id))
            .collect()
    };
    lock(&ctx.link.subs).positions = true;
    for row in &rows {
        ctx.send(reply::POSITION, row);
    }
    ctx.send(reply::POSITION_END, &Empty {});
}

pub fn cancel_positions(ctx: &Ctx<'_>) {
    lock(&ctx.link.subs).positions = false;
}

/// `reqAccountSummary`: one row per requested tag the simulator states
/// (`$LEDGER` style tags are not served).
pub fn account_summary(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<AccountSummaryRequest>(message, "account summary") else {
        return;
    };
    let req_id = req.req_id.unwrap_or(0);
    let wanted: Vec<String> = req
        .tags
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let (account, tags) = {
        let book = ctx.gateway.book_now();
        (
            account_id(&book),
            book.venue.values(&book.market).summary_tags(),
        )
    };
    for (tag, value) in tags
        .into_iter()
        .filter(|(t, _)| wanted.iter().any(|w| w == t))
    {
        ctx.send(
            reply::ACCOUNT_SUMMARY,
            &AccountSummary {
                req_id: Some(req_id),
                account: Some(account.clone()),
                tag: Some(tag.to_string()),
                value: Some(value),
                currency: (tag != "AccountType").then(|| "USD".to_string()),
            },
        );
    }
    ctx.send(
        reply::ACCOUNT_SUMMARY_END,
        &ReqIdOnly {
            req_id: Some(req_id),
        },
    );
}

fn money(d: Decimal) -> f64 {
    d.round_dp(2).to_f64().unwrap_or(0.0)
}

/// Account values, portfolio, update time and `AccountDataEnd`.
pub fn account_update_frames(book: &Book, settings: &SimSettings) -> Vec<Vec<u8>> {
    let account = account_id(book);
    let mut frames: Vec<Vec<u8>> = book
        .venue
        .values(&book.market)
        .summary_tags()
        .into_iter()
        .map(|(key, value)| {
            encode_protobuf(
                reply::ACCOUNT_VALUE,
                &AccountValue {
                    key: Some(key.to_string()),
                    value: Some(value),
                    currency: (key != "AccountType").then(|| "USD".to_string()),
                    account_name: Some(account.clone()),
                },
            )
        })
        .collect();
    for item in book.venue.portfolio(&book.market) {
        frames.push(encode_protobuf(
            reply::PORTFOLIO_VALUE,
            &PortfolioValue {
                contract: Some(wire_contract(&item.contract)),
                position: Some(item.position.normalize().to_string()),
                market_price: item.market_price.to_f64(),
                market_value: Some(money(item.market_value)),
                average_cost: item.average_cost.to_f64(),
                unrealized_pnl: Some(money(item.unrealized_pnl)),
                realized_pnl: Some(money(item.realized_pnl)),
                account_name: Some(account.clone()),
            },
        ));
    }
    frames.push(encode_protobuf(
        reply::ACCOUNT_UPDATE_TIME,
        &AccountUpdateTime {
            time_stamp: Some(settings.clock.now().format("%H:%M").to_string()),
        },
    ));
    frames.push(encode_protobuf(
        reply::ACCOUNT_DATA_END,
        &AccountDataEnd {
            account_name: Some(account),
        },
    ));
    frames
}

/// `reqAccountUpdates` (subscribe or unsubscribe).
pub fn account_updates(ctx: &Ctx<'_>, message: &Message) {
    let Some(req) = ctx.decode::<AccountDataRequest>(message, "account updates") else {
        return;
    };
    let subscribe = req.subscribe.unwrap_or(false);
    lock(&ctx.link.subs).account_updates = subscribe;
    if !subscribe {
        return;
    }
    let frames = account_update_frames(&ctx.gateway.book_now(), &ctx.gateway.settings);
    for f in frames {
        ctx.push(f);
    }
}
