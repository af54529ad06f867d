//! Stage 3: the market around the underlying and the chain the scanner
//! runs on: the underlying's price and at-the-money IV (which also feed
//! the IV circuit breaker), then the chain priced by the model and quoted
//! only where a spread can pass `[scanner]`.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use vspread_core::broker::Broker;
use vspread_core::config::{Config, ScannerConfig};
use vspread_core::{Direction, OptionChainParams, SpreadKind};

use super::StepError;
use crate::chain_acquisition::{
    AcquiredChain, AcquisitionSettings, acquire_chain, atm_vol_estimate,
};
use crate::chain_plan::{ModelInputs, PlanMargins, plan_chain};
use crate::risk::Refusal;
use crate::signals::kinds_for;

/// The underlying as the decision sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketView {
    pub spot: f64,
    /// At-the-money IV of the expiry nearest the scanner's target DTE.
    pub vol: f64,
    pub params: Vec<OptionChainParams>,
}

/// The kinds the signal's direction trades that `[scanner] kinds` allows.
pub fn kinds(direction: Direction, scanner: &ScannerConfig) -> Result<Vec<SpreadKind>, Refusal> {
    let kinds: Vec<_> = kinds_for(direction)
        .into_iter()
        .filter(|k| scanner.kinds.contains(k))
        .collect();
    if kinds.is_empty() {
        return Err(Refusal::ZeroSize {
            reason: format!("scanner.kinds allows no {direction:?} kind"),
        });
    }
    Ok(kinds)
}

/// The underlying's price, its chain's parameters and its ATM IV.
pub async fn market(
    broker: &dyn Broker,
    symbol: &str,
    scanner: &ScannerConfig,
    today: NaiveDate,
) -> Result<MarketView, StepError> {
    let stock = broker.stock(symbol).await?;
    let quote = broker.snapshot(&stock).await?;
    let Some(spot) = quote.last.or(quote.mid()).and_then(|d| d.to_f64()) else {
        return Err(StepError::Other(format!(
            "{symbol}: no price for the underlying"
        )));
    };
    let params = broker.option_chain(symbol).await?;
    let expiries: Vec<_> = params.iter().flat_map(|p| p.expirations.clone()).collect();
    let strikes: Vec<_> = params.iter().flat_map(|p| p.strikes.clone()).collect();
    let target_dte = (scanner.dte_min + scanner.dte_max) / 2;
    let Some(vol) =
        atm_vol_estimate(broker, symbol, &expiries, &strikes, spot, today, target_dte).await?
    else {
        return Err(StepError::Other(format!(
            "{symbol}: no at-the-money implied volatility"
        )));
    };
    Ok(MarketView { spot, vol, params })
}

/// The chain for `kinds`, model-planned and quoted.
#[derive(Debug)]
pub struct ChainOutcome {
    pub acquired: AcquiredChain,
    /// The scanner settings it was planned for (`kinds` narrowed).
    pub scanner: ScannerConfig,
    /// Quote requests asking for every strike would have taken.
    pub naive_requests: usize,
}

/// Plans the chain with the model at `market`'s price and IV, then quotes
/// the planned options.
pub async fn chain(
    broker: &dyn Broker,
    symbol: &str,
    market: &MarketView,
    kinds: &[SpreadKind],
    config: &Config,
    today: NaiveDate,
) -> Result<ChainOutcome, StepError> {
    let scanner = ScannerConfig {
        kinds: kinds.to_vec(),
        ..config.scanner.clone()
    };
    let model = ModelInputs {
        spot: market.spot,
        vol: market.vol,
        rate: 0.0,
        today,
    };
    let margins = PlanMargins {
        delta: config.market_data.model_delta_margin,
        ratio: config.market_data.model_ratio_margin,
    };
    let plan = plan_chain(&market.params, &model, kinds, &scanner, margins);
    let budget = usize::try_from(config.market_data.max_lines.max(2)).unwrap_or(90);
    let acquired = acquire_chain(
        broker,
        &plan,
        market.spot,
        &AcquisitionSettings::for_line_budget(budget),
    )
    .await?;
    debug_assert_eq!(plan.underlying, symbol);
    Ok(ChainOutcome {
        acquired,
        scanner,
        naive_requests: plan.naive_requests,
    })
}
