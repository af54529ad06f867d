//! The spreads the trader holds, each with what it was opened on, and the
//! conversions between the order's view of a spread (legs by conId, as the
//! broker sends it) and the position's (contracts with exact strikes).

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::broker::{self, NetPrice, OrderFills};
use vspread_core::journal::{JournalLeg, OrderRecord, SpreadRecord};
use vspread_core::{
    Money, OptionContract, OrderPurpose, OrderRef, Price, SpreadFill, SpreadPosition,
    VerticalSpread,
};

use crate::exits::EntryContext;

/// One open (or just closed) spread and its history.
#[derive(Debug, Clone)]
pub struct HeldSpread {
    /// The decision that opened it (its entry order's reference).
    pub entry_ref: String,
    /// As the broker trades it.
    pub order_spread: broker::VerticalSpread,
    /// The legs' contracts, for quotes.
    pub long_contract: broker::ContractInfo,
    pub short_contract: broker::ContractInfo,
    pub position: SpreadPosition,
    pub entry: EntryContext,
    /// Entry net per share and spreads opened, for the trade's R.
    pub entry_net: Price,
    pub opened: u32,
    /// Exit orders sent so far (numbers their references).
    pub exit_attempts: u32,
}

/// The position's view of an order's spread.
pub fn position_spread(s: &broker::VerticalSpread) -> Option<VerticalSpread> {
    let contract = |leg: &broker::SpreadLeg| {
        OptionContract::builder()
            .underlying(s.underlying.clone())
            .expiry(leg.expiry)
            .strike(Price::new(leg.strike))
            .right(leg.right)
            .multiplier(100)
            .currency(s.currency.clone())
            .con_id(leg.con_id)
            .build()
            .ok()
    };
    VerticalSpread::from_legs(s.kind, contract(&s.long)?, contract(&s.short)?).ok()
}

fn amount(p: NetPrice) -> Decimal {
    match p {
        NetPrice::Debit(d) | NetPrice::Credit(d) => d,
    }
}

/// The spread-level fill of a driven order: spreads filled, the average
/// net per share (from the combo-level executions, whose price is the net
/// in the order's sign convention), and every commission.
pub fn spread_fill(
    fills: &OrderFills,
    purpose: OrderPurpose,
    order_ref: &str,
    time: chrono::DateTime<chrono::Utc>,
) -> Option<SpreadFill> {
    let quantity = fills.executed_quantity();
    let net = fills.order.average_price()?.abs();
    let quantity = quantity.trunc().to_u32()?;
    Some(SpreadFill {
        order_ref: OrderRef::parse(order_ref).ok()?,
        purpose,
        quantity,
        net: Price::new(net),
        commissions: Money::new(fills.commissions),
        time,
    })
}

/// A limit's amount per share, whichever side it is on.
pub fn net_amount(p: NetPrice) -> Decimal {
    amount(p)
}

/// A leg as the journal keeps it.
pub fn journal_leg(contract: &broker::ContractInfo, leg: &broker::SpreadLeg) -> JournalLeg {
    JournalLeg {
        con_id: leg.con_id,
        strike: leg.strike,
        right: leg.right,
        expiry: leg.expiry,
        exchange: contract.exchange.clone(),
        trading_class: contract.trading_class.clone(),
        local_symbol: contract.local_symbol.clone(),
        multiplier: contract.multiplier,
        min_tick: contract.min_tick,
    }
}

/// The contract of a journaled leg, as the broker describes contracts.
fn leg_contract(underlying: &str, currency: &str, leg: &JournalLeg) -> broker::ContractInfo {
    broker::ContractInfo {
        con_id: leg.con_id,
        instrument: broker::Instrument::Option(broker::OptionSpec {
            underlying: underlying.to_string(),
            expiry: leg.expiry,
            strike: leg.strike,
            right: leg.right,
        }),
        exchange: leg.exchange.clone(),
        primary_exchange: String::new(),
        currency: currency.to_string(),
        local_symbol: leg.local_symbol.clone(),
        trading_class: leg.trading_class.clone(),
        multiplier: leg.multiplier,
        min_tick: leg.min_tick,
    }
}

/// What an entry decision rested on, kept with its order so a restart can
/// manage the spread by the same rules.
pub fn entry_context_json(entry: &EntryContext, signal: serde_json::Value) -> String {
    serde_json::json!({ "underlying": entry.underlying, "atr": entry.atr, "signal": signal })
        .to_string()
}

/// Why a journaled spread cannot be held again.
#[derive(Debug, thiserror::Error)]
#[error("spread `{spread_ref}` cannot be restored: {reason}")]
pub struct RestoreError {
    pub spread_ref: String,
    pub reason: String,
}

/// An open spread of the journal as the trader holds it: opened at its
/// entry's average, reduced by each filled exit order.
pub fn restore_held(
    spread: &SpreadRecord,
    orders: &[OrderRecord],
) -> Result<HeldSpread, RestoreError> {
    let entry = &spread.entry;
    let fail = |reason: String| RestoreError {
        spread_ref: entry.order_ref.clone(),
        reason,
    };
    let leg = |l: &JournalLeg| broker::SpreadLeg {
        con_id: l.con_id,
        strike: l.strike,
        right: l.right,
        expiry: l.expiry,
    };
    let order_spread = broker::VerticalSpread {
        underlying: entry.symbol.clone(),
        kind: entry.kind,
        long: leg(&entry.long),
        short: leg(&entry.short),
        currency: entry.currency.clone(),
    };
    let spread_model = position_spread(&order_spread)
        .ok_or_else(|| fail("its legs do not make a vertical".into()))?;
    let context: serde_json::Value =
        serde_json::from_str(&entry.context).map_err(|e| fail(format!("entry context: {e}")))?;
    let number = |key: &str| context.get(key).and_then(serde_json::Value::as_f64);
    let entry_context = EntryContext {
        underlying: number("underlying").ok_or_else(|| fail("no entry underlying".into()))?,
        atr: number("atr").ok_or_else(|| fail("no entry ATR".into()))?,
    };
    let fill_of = |o: &OrderRecord| -> Result<SpreadFill, RestoreError> {
        Ok(SpreadFill {
            order_ref: OrderRef::parse(&o.order.order_ref).map_err(|e| fail(e.to_string()))?,
            purpose: o.order.purpose,
            quantity: o.filled.trunc().to_u32().unwrap_or(0),
            net: Price::new(o.average_net.unwrap_or(o.order.limit)),
            commissions: Money::new(o.commissions),
            time: o.end.as_ref().map_or(o.order.created_at, |e| e.at),
        })
    };
    let entry_order = orders
        .iter()
        .find(|o| o.order.order_ref == entry.order_ref)
        .ok_or_else(|| fail("its entry order is missing".into()))?;
    let opening = fill_of(entry_order)?;
    let mut position =
        SpreadPosition::open(spread_model, &opening).map_err(|e| fail(e.to_string()))?;
    let mut exits = 0;
    for o in orders
        .iter()
        .filter(|o| o.order.purpose == OrderPurpose::Exit && o.order.spread_ref == entry.order_ref)
    {
        exits += 1;
        if o.filled > Decimal::ZERO {
            position
                .apply(&fill_of(o)?)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(HeldSpread {
        entry_ref: entry.order_ref.clone(),
        long_contract: leg_contract(&entry.symbol, &entry.currency, &entry.long),
        short_contract: leg_contract(&entry.symbol, &entry.currency, &entry.short),
        order_spread,
        position,
        entry: entry_context,
        entry_net: opening.net,
        opened: opening.quantity,
        exit_attempts: exits,
    })
}
