//! The held spreads as the operator sees them: each at its last mark, with
//! the levels its exits act at, its payoff (max profit and loss in money,
//! the breakeven), its legs with their roles and greeks, the spread's net
//! greeks and its probability of profit, written to the views after every
//! cycle and whenever a spread is opened or closed.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use vspread_analytics::scanner::probability_of_profit;
use vspread_core::config::ExitsConfig;
use vspread_core::{ContractInfo, OrderPurpose, Quote, SpreadKind};

use super::Trader;
use super::book::HeldSpread;
use crate::exits::{profit_pct, stop_level};
use crate::views::{LegGreeks, LegRole, NetGreeks, PositionLegView, PositionView, PositionsView};

/// A held spread's last mark.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mark {
    /// Closing net per share at the legs' mids, if both were quoted.
    pub mark: Option<Decimal>,
    pub underlying: f64,
    pub at: DateTime<Utc>,
    /// The legs' quotes the mark was made from.
    pub long: Quote,
    pub short: Quote,
}

/// The closing net per share at which the profit target is reached: the
/// entry moved by `profit_target_pct` of the max profit, up for a debit
/// spread (sold back dearer), down for a credit one (bought back cheaper).
fn target_price(config: &ExitsConfig, held: &HeldSpread) -> Option<Decimal> {
    let entry = held.position.average_entry()?;
    let spread = held.position.spread();
    let per_spread = spread.max_profit(entry).ok()?.value();
    let per_share = per_spread / Decimal::from(spread.multiplier());
    let move_by = per_share * Decimal::from_f64(config.profit_target_pct)? / Decimal::ONE_HUNDRED;
    let target = if spread.is_debit() {
        entry.value() + move_by
    } else {
        entry.value() - move_by
    };
    Some(target.round_dp(4).normalize())
}

/// The underlying's price at expiry at which a `kind` spread opened at
/// `entry` (per share) neither makes nor loses: the scanner's formula in
/// exact decimals.
pub(crate) fn breakeven(kind: SpreadKind, low: Decimal, high: Decimal, entry: Decimal) -> Decimal {
    match kind {
        SpreadKind::BullCall | SpreadKind::BearCall => low + entry,
        SpreadKind::BearPut | SpreadKind::BullPut => high - entry,
    }
}

fn leg_view(role: LegRole, contract: &ContractInfo, quote: Option<&Quote>) -> PositionLegView {
    let option = contract.option();
    PositionLegView {
        role,
        con_id: contract.con_id.0,
        local_symbol: contract.local_symbol.clone(),
        right: option.map_or(vspread_core::Right::Call, |o| o.right()),
        strike: option.map_or(Decimal::ZERO, |o| o.strike().value().normalize()),
        expiry: option.map_or(NaiveDate::MIN, |o| o.expiry()),
        bid: quote.and_then(|q| q.bid),
        ask: quote.and_then(|q| q.ask),
        greeks: quote.and_then(|q| q.greeks).map(LegGreeks::from),
    }
}

fn view(
    config: &ExitsConfig,
    today: NaiveDate,
    held: &HeldSpread,
    mark: Option<&Mark>,
    closing_order: Option<String>,
) -> PositionView {
    let spread = held.position.spread();
    let closing = mark.and_then(|m| m.mark);
    let entry = held.position.average_entry();
    let quantity = held.position.quantity();
    let money = |per_spread: Option<vspread_core::Money>| {
        per_spread.map(|m| (m.value() * Decimal::from(quantity)).normalize())
    };
    let (low, high) = {
        let (l, s) = (
            spread.long().strike().value(),
            spread.short().strike().value(),
        );
        (l.min(s), l.max(s))
    };
    let breakevens: Vec<Decimal> = entry
        .map(|e| breakeven(spread.kind(), low, high, e.value()).normalize())
        .into_iter()
        .collect();
    let dte = (spread.expiry() - today).num_days();
    let pop = mark.and_then(|m| {
        let iv = |q: &Quote| q.greeks.and_then(|g| g.implied_vol);
        let be = breakevens.first()?.to_f64()?;
        let pop = probability_of_profit(
            spread.kind(),
            m.underlying,
            be,
            iv(&m.long)?,
            iv(&m.short)?,
            dte,
        );
        pop.is_finite().then_some(pop)
    });
    let legs = [
        leg_view(LegRole::Long, &held.long_contract, mark.map(|m| &m.long)),
        leg_view(LegRole::Short, &held.short_contract, mark.map(|m| &m.short)),
    ];
    let greeks = match (&legs[0].greeks, &legs[1].greeks) {
        (Some(l), Some(s)) => NetGreeks::of(l, s, quantity, spread.multiplier()),
        _ => None,
    };
    PositionView {
        entry_ref: held.entry_ref.clone(),
        underlying: spread.underlying().to_string(),
        kind: spread.kind().name(),
        expiry: spread.expiry(),
        dte,
        long_strike: spread.long().strike().value().normalize(),
        short_strike: spread.short().strike().value().normalize(),
        quantity,
        credit: !spread.is_debit(),
        opened_by: held.opened_by,
        entry_price: entry.map(|p| p.value().normalize()),
        opened_at: held.position.opened_at(),
        entry_underlying: held.entry.underlying,
        mark: closing,
        marked_at: mark.map(|m| m.at),
        underlying_last: mark.map(|m| m.underlying),
        unrealised_pnl: closing.map(|m| {
            held.position
                .unrealised_pnl(vspread_core::Price::new(m))
                .value()
        }),
        realised_pnl: held.position.realised_pnl().value(),
        stop_underlying: stop_level(config, spread.direction(), &held.entry),
        target_price: target_price(config, held),
        profit_pct: closing.and_then(|m| profit_pct(&held.position, vspread_core::Price::new(m))),
        max_profit: money(entry.and_then(|e| spread.max_profit(e).ok())),
        max_loss: money(entry.and_then(|e| spread.max_loss(e).ok())),
        breakevens,
        pop,
        greeks,
        legs: legs.into(),
        closing_order,
    }
}

impl Trader {
    /// Writes the held spreads, at their last marks, to the views.
    pub(super) fn show_positions(&self, exits: &ExitsConfig, now: DateTime<Utc>) {
        let today = vspread_core::expiry::eastern_date(now);
        let closing: Vec<(String, String)> = self
            .orders
            .working()
            .into_iter()
            .filter(|o| o.purpose == OrderPurpose::Exit)
            .map(|o| (o.spread_ref, o.order_ref))
            .collect();
        let state = self.state();
        let positions: Vec<PositionView> = state
            .held
            .iter()
            .map(|h| {
                let closing_order = closing
                    .iter()
                    .find(|(spread, _)| *spread == h.entry_ref)
                    .map(|(_, order)| order.clone());
                view(
                    exits,
                    today,
                    h,
                    state.marks.get(&h.entry_ref),
                    closing_order,
                )
            })
            .collect();
        let unrealised = positions.iter().filter_map(|p| p.unrealised_pnl).sum();
        let realised_today = state.realised_today;
        drop(state);
        self.views.set_positions(PositionsView {
            positions,
            realised_today,
            unrealised,
            updated_at: Some(now),
        });
    }
}
