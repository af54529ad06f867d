//! The account as the gateway reports it: positions per contract and the
//! figures (net liquidation, buying power, ...) the engine sizes and limits
//! with.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::contract::ConId;

/// One contract held, as the gateway reports it (a spread's legs are two of
/// these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub account: String,
    pub con_id: ConId,
    pub symbol: String,
    /// Signed: negative when short.
    pub quantity: Decimal,
    pub average_cost: Decimal,
}

/// The account figures the engine sizes and limits with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account: String,
    /// Tag -> value in the account's currency (NetLiquidation, BuyingPower, ...).
    pub values: BTreeMap<String, Decimal>,
}

impl AccountSummary {
    /// The value of `tag`, zero when the gateway did not send it.
    pub fn value(&self, tag: &str) -> Decimal {
        self.values.get(tag).copied().unwrap_or_default()
    }
}
