//! Stage 6: the gateway's what-if preview: the order's initial margin
//! against the buying power `[risk] min_buying_power` keeps free.

use rust_decimal::Decimal;
use vspread_core::OrderRequest;
use vspread_core::broker::{Broker, BrokerError};
use vspread_core::config::Config;

use crate::risk::{self, Refusal};

/// What the gateway said the order would cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub margin: Decimal,
    pub commission: Option<Decimal>,
}

/// Previews `request`; the outer error is the gateway's, the inner one the
/// gate's refusal of the margin.
pub async fn preview(
    broker: &dyn Broker,
    config: &Config,
    buying_power: Decimal,
    request: &OrderRequest,
) -> Result<Result<Preview, Refusal>, BrokerError> {
    let what_if = broker.what_if(request).await?;
    let margin = what_if.init_margin_change.unwrap_or_default();
    Ok(
        risk::after_what_if(config, buying_power, margin).map(|()| Preview {
            margin,
            commission: what_if.commission,
        }),
    )
}
