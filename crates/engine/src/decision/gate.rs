//! Stage 2: the rules that need no market data, before anything is asked
//! of the gateway.

use chrono::{DateTime, Utc};
use vspread_core::config::Config;

use crate::risk::{self, AccountState, Exposure, Refusal};

/// What the gate looks at.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    pub config: &'a Config,
    pub now: DateTime<Utc>,
    pub symbol: &'a str,
    /// The kill switch as engaged now (the flag, not the file).
    pub kill_switch: bool,
    pub account: &'a AccountState,
    /// Held spreads and working entries, by underlying.
    pub exposure: &'a Exposure,
    /// An entry order already working on this symbol, if any.
    pub entry_working: Option<&'a str>,
}

/// Passes, or the first rule that refuses.
pub fn gate(input: GateInput<'_>) -> Result<(), Refusal> {
    if input.kill_switch {
        return Err(Refusal::KillSwitch);
    }
    if let Some(order_ref) = input.entry_working {
        return Err(Refusal::EntryWorking {
            underlying: input.symbol.to_string(),
            order_ref: order_ref.to_string(),
        });
    }
    risk::pre_entry(
        input.config,
        input.now,
        input.symbol,
        input.account,
        input.exposure,
    )
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
}
