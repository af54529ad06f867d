//! The spreads the trader holds, each with what it was opened on, and how
//! they are taken up again from the journal after a restart.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::journal::{JournalLeg, OrderRecord, SpreadRecord};
use vspread_core::{
    ContractInfo, Instrument, Money, OptionContract, OrderPurpose, OrderRef, Price, SpreadFill,
    SpreadPosition, VerticalSpread,
};

use crate::exits::EntryContext;

/// One open (or just closed) spread and its history.
#[derive(Debug, Clone)]
pub struct HeldSpread {
    /// The decision that opened it (its entry order's reference).
    pub entry_ref: String,
    /// The legs as the gateway describes them, for quotes and ticks.
    pub long_contract: ContractInfo,
    pub short_contract: ContractInfo,
    /// What it holds (its spread names the legs by conId).
    pub position: SpreadPosition,
    pub entry: EntryContext,
    /// Entry net per share and spreads opened, for the trade's R.
    pub entry_net: Price,
    pub opened: u32,
    /// Exit orders sent so far (numbers their references).
    pub exit_attempts: u32,
    /// Who opened it: the bot (`entry`) or an operator (`manual`).
    pub opened_by: OrderPurpose,
}

impl HeldSpread {
    pub fn spread(&self) -> &VerticalSpread {
        self.position.spread()
    }

    pub fn symbol(&self) -> &str {
        self.spread().underlying()
    }
}

/// What an entry decision rested on, kept with its order so a restart can
/// manage the spread by the same rules; `signal_at` (the engine's clock
/// when the signal fired) lets the journal's KPIs time a signal to its
/// order and fill (`crate::kpis`).
pub fn entry_context_json(
    entry: &EntryContext,
    signal: serde_json::Value,
    signal_at: chrono::DateTime<chrono::Utc>,
) -> String {
    serde_json::json!({
        "underlying": entry.underlying,
        "atr": entry.atr,
        "signal": signal,
        "signal_at": signal_at,
    })
    .to_string()
}

/// Why a journaled spread cannot be held again.
#[derive(Debug, thiserror::Error)]
#[error("spread `{spread_ref}` cannot be restored: {reason}")]
pub struct RestoreError {
    pub spread_ref: String,
    pub reason: String,
}

/// The contract of a journaled leg.
fn leg_contract(
    underlying: &str,
    currency: &str,
    leg: &JournalLeg,
) -> Result<ContractInfo, String> {
    let multiplier = leg
        .multiplier
        .to_u32()
        .ok_or_else(|| format!("multiplier {} of conId {}", leg.multiplier, leg.con_id.0))?;
    let option = OptionContract::builder()
        .underlying(underlying)
        .expiry(leg.expiry)
        .strike(Price::new(leg.strike))
        .right(leg.right)
        .multiplier(multiplier)
        .exchange(if leg.exchange.is_empty() {
            "SMART"
        } else {
            &leg.exchange
        })
        .currency(currency)
        .con_id(leg.con_id)
        .build()
        .map_err(|e| format!("conId {}: {e}", leg.con_id.0))?;
    Ok(ContractInfo {
        con_id: leg.con_id,
        instrument: Instrument::Option(option),
        primary_exchange: String::new(),
        local_symbol: leg.local_symbol.clone(),
        trading_class: leg.trading_class.clone(),
        min_tick: leg.min_tick,
    })
}

/// A journaled order's fills as one spread fill.
fn fill_of(o: &OrderRecord) -> Result<SpreadFill, String> {
    Ok(SpreadFill {
        order_ref: OrderRef::parse(&o.order.order_ref).map_err(|e| e.to_string())?,
        purpose: o.order.purpose,
        quantity: o.filled.trunc().to_u32().unwrap_or(0),
        net: Price::new(o.average_net.unwrap_or(o.order.limit)),
        commissions: Money::new(o.commissions),
        time: o.end.as_ref().map_or(o.order.created_at, |e| e.at),
    })
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
    let long_contract = leg_contract(&entry.symbol, &entry.currency, &entry.long).map_err(fail)?;
    let short_contract =
        leg_contract(&entry.symbol, &entry.currency, &entry.short).map_err(fail)?;
    let legs = long_contract
        .option()
        .cloned()
        .zip(short_contract.option().cloned());
    let Some((long, short)) = legs else {
        return Err(fail("its legs are not options".into()));
    };
    let vertical = VerticalSpread::from_legs(entry.kind, long, short)
        .map_err(|e| fail(format!("its legs do not make a vertical: {e}")))?;
    let context: serde_json::Value =
        serde_json::from_str(&entry.context).map_err(|e| fail(format!("entry context: {e}")))?;
    let number = |key: &str| context.get(key).and_then(serde_json::Value::as_f64);
    let entry_context = EntryContext {
        underlying: number("underlying").ok_or_else(|| fail("no entry underlying".into()))?,
        atr: number("atr").ok_or_else(|| fail("no entry ATR".into()))?,
    };
    let entry_order = orders
        .iter()
        .find(|o| o.order.order_ref == entry.order_ref)
        .ok_or_else(|| fail("its entry order is missing".into()))?;
    let opening = fill_of(entry_order).map_err(fail)?;
    let mut position = SpreadPosition::open(vertical, &opening).map_err(|e| fail(e.to_string()))?;
    let mut exits = 0;
    for o in orders
        .iter()
        .filter(|o| o.order.purpose == OrderPurpose::Exit && o.order.spread_ref == entry.order_ref)
    {
        exits += 1;
        if o.filled > Decimal::ZERO {
            position
                .apply(&fill_of(o).map_err(fail)?)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    Ok(HeldSpread {
        entry_ref: entry.order_ref.clone(),
        long_contract,
        short_contract,
        position,
        entry: entry_context,
        entry_net: opening.net,
        opened: opening.quantity,
        exit_attempts: exits,
        opened_by: entry.purpose,
    })
}
