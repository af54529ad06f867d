//! Stage 2: the rules that need no market data, before anything is asked
//! of the gateway: the kill switch, the journal's health (an entry is
//! journaled before it is sent), an entry already working, then the risk
//! limits.

use chrono::{DateTime, Utc};
use vspread_core::config::Config;

use crate::risk::{self, AccountState, Exposure, Refusal};
use crate::storage::Degraded;

/// What the gate looks at.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    pub symbol: &'a str,
    /// The kill switch as engaged now (the flag, not the file).
    pub kill_switch: bool,
    /// Why the journal cannot be relied on now, if it cannot (a new entry
    /// is journaled before it is sent, and its fills after).
    pub journal_degraded: Option<&'a Degraded>,
    pub account: &'a AccountState,
    /// Held spreads and working entries, by underlying.
    pub exposure: &'a Exposure,
    /// An entry order already working on this symbol, if any.
    pub entry_working: Option<&'a str>,
}

/// Every rule that refuses, in the order the gate tries them: the kill
/// switch, an entry already working on the symbol, then the rules of
/// [`risk::pre_entry_refusals`] (the switch once, whether the flag or the
/// file engaged it). Empty when the gate passes. A manual entry's preview
/// shows all of them; the bot stops at the first ([`gate`]).
pub fn refusals(input: GateInput<'_>) -> Vec<Refusal> {
    let mut all = Vec::new();
    if input.kill_switch {
        all.push(Refusal::KillSwitch);
    }
    if let Some(degraded) = input.journal_degraded {
        all.push(Refusal::JournalDegraded {
            reason: degraded.to_string(),
        });
    }
    if let Some(order_ref) = input.entry_working {
        all.push(Refusal::EntryWorking {
            underlying: input.symbol.to_string(),
            order_ref: order_ref.to_string(),
        });
    }
    for refusal in risk::pre_entry_refusals(
        input.config,
        input.now,
        input.symbol,
        input.account,
        input.exposure,
    ) {
        if !all.contains(&refusal) {
            all.push(refusal);
        }
    }
    all
}

/// Passes, or the first rule that refuses.
pub fn gate(input: GateInput<'_>) -> Result<(), Refusal> {
    match refusals(input).into_iter().next() {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn input<'a>(
        config: &'a Config,
        account: &'a AccountState,
        exposure: &'a Exposure,
    ) -> GateInput<'a> {
        GateInput {
            config,
            now: Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap(),
            symbol: "QQQ",
            kill_switch: false,
            journal_degraded: None,
            account,
            exposure,
            entry_working: None,
        }
    }

    #[test]
    fn the_kill_switch_and_a_working_entry_refuse_before_the_limits() {
        let config = Config::default();
        let account = AccountState::default();
        let exposure = Exposure::default();
        assert_eq!(gate(input(&config, &account, &exposure)), Ok(()));
        let killed = GateInput {
            kill_switch: true,
            ..input(&config, &account, &exposure)
        };
        assert_eq!(gate(killed), Err(Refusal::KillSwitch));
        let full = Degraded::LowSpace {
            free_bytes: 1024,
            min_free_bytes: 100 * 1024 * 1024,
        };
        let degraded = GateInput {
            journal_degraded: Some(&full),
            ..input(&config, &account, &exposure)
        };
        match gate(degraded) {
            Err(e @ Refusal::JournalDegraded { .. }) => {
                assert!(e.to_string().contains("storage.min_free_mb"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        let working = GateInput {
            entry_working: Some("vs-1"),
            ..input(&config, &account, &exposure)
        };
        assert!(matches!(gate(working), Err(Refusal::EntryWorking { .. })));
        let mut full = Exposure::default();
        full.open_by_underlying
            .insert("IWM".into(), config.trading.max_positions as usize);
        assert!(matches!(
            gate(input(&config, &account, &full)),
            Err(Refusal::MaxPositions { .. })
        ));
    }

    #[test]
    fn every_refusing_rule_is_listed_and_the_first_is_what_the_bot_stops_at() {
        let mut config = Config::default();
        config.risk.kill_switch = true;
        let account = AccountState::default();
        let mut full = Exposure::default();
        full.open_by_underlying.insert("QQQ".into(), 5);
        let every = GateInput {
            kill_switch: true,
            entry_working: Some("vs-1"),
            ..input(&config, &account, &full)
        };
        let rules: Vec<&str> = refusals(every).iter().map(Refusal::rule).collect();
        // The switch is listed once though both the flag and the file
        // hold it.
        assert_eq!(
            rules,
            [
                "kill_switch",
                "entry_working",
                "max_positions",
                "max_positions_per_underlying"
            ]
        );
        assert_eq!(gate(every), Err(Refusal::KillSwitch));
        let clean = Config::default();
        let none = Exposure::default();
        assert!(refusals(input(&clean, &account, &none)).is_empty());
    }
}
