//! Stage 1: the strategies on one symbol's daily bars.

use vspread_core::DailyBar;
use vspread_core::config::StrategiesConfig;

use crate::events::{FailedStrategy, SignalNone};
use crate::signals::{self, Evaluation, SignalError};

/// What the strategies said of a symbol.
#[derive(Debug, Clone, PartialEq)]
pub enum SignalOutcome {
    /// No strategy fired: each one's failed conditions.
    None(SignalNone),
    /// One strategy fired.
    Fired(Evaluation),
}

/// Evaluates the enabled strategies on `bars` (oldest first): every
/// evaluation (each condition with its value and threshold), and what they
/// say together.
pub fn signal(
    symbol: &str,
    bars: &[DailyBar],
    strategies: &StrategiesConfig,
) -> Result<(Vec<Evaluation>, SignalOutcome), SignalError> {
    let evaluated = signals::evaluate(symbol, bars, strategies)?;
    let outcome = match evaluated.signal() {
        Some(fired) => SignalOutcome::Fired(fired.clone()),
        None => SignalOutcome::None(SignalNone {
            symbol: symbol.to_string(),
            evaluations: evaluated
                .evaluations
                .iter()
                .map(|e| FailedStrategy {
                    strategy: e.strategy,
                    failed: e.failed().cloned().collect(),
                })
                .collect(),
        }),
    };
    Ok((evaluated.evaluations, outcome))
}
