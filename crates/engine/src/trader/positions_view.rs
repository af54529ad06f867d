//! The held spreads as the operator sees them: each at its last mark, with
//! the levels its exits act at, written to the views once per cycle.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use vspread_core::config::ExitsConfig;

use super::Trader;
use super::book::HeldSpread;
use crate::cycle_loop::CycleContext;
use crate::exits::{profit_pct, stop_level};
use crate::views::{PositionView, PositionsView};

/// A held spread's last mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Mark {
    /// Closing net per share at the legs' mids, if both were quoted.
    pub mark: Option<Decimal>,
    pub underlying: f64,
    pub at: DateTime<Utc>,
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

fn view(
    config: &ExitsConfig,
    today: NaiveDate,
    held: &HeldSpread,
    mark: Option<&Mark>,
) -> PositionView {
    let spread = held.position.spread();
    let closing = mark.and_then(|m| m.mark);
    PositionView {
        entry_ref: held.entry_ref.clone(),
        underlying: spread.underlying().to_string(),
        kind: spread.kind().name(),
        expiry: spread.expiry(),
        dte: (spread.expiry() - today).num_days(),
        long_strike: spread.long().strike().value().normalize(),
        short_strike: spread.short().strike().value().normalize(),
        quantity: held.position.quantity(),
        credit: !spread.is_debit(),
        entry_price: held.position.average_entry().map(|p| p.value().normalize()),
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
    }
}

impl Trader {
    /// Writes the held spreads, at their last marks, to the views.
    pub(super) fn show_positions(&self, ctx: &CycleContext, today: NaiveDate) {
        let state = self.state();
        let positions: Vec<PositionView> = state
            .held
            .iter()
            .map(|h| view(&ctx.config.exits, today, h, state.marks.get(&h.entry_ref)))
            .collect();
        let unrealised = positions.iter().filter_map(|p| p.unrealised_pnl).sum();
        let realised_today = state.realised_today;
        drop(state);
        self.views.set_positions(PositionsView {
            positions,
            realised_today,
            unrealised,
            updated_at: Some(ctx.now),
        });
    }
}
