//! The four vertical spread kinds of the scanner spec and the option right
//! they are built from.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An option's right: call or put.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Right {
    #[serde(rename = "C")]
    Call,
    #[serde(rename = "P")]
    Put,
}

impl Right {
    /// The one-letter code used by chains and by TWS (`C` / `P`).
    pub fn code(self) -> &'static str {
        match self {
            Right::Call => "C",
            Right::Put => "P",
        }
    }
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Which way the underlying must move for a spread to profit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Bullish,
    Bearish,
}

/// A vertical spread kind (`docs/scanner.md`, "Candidates").
///
/// The variant order is the byte order of the names, which the scanner's
/// tie-break relies on (`bear_call < bear_put < bull_call < bull_put`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SpreadKind {
    BearCall,
    BearPut,
    BullCall,
    BullPut,
}

impl SpreadKind {
    /// All four kinds, in byte order of their names.
    pub const ALL: [SpreadKind; 4] = [
        SpreadKind::BearCall,
        SpreadKind::BearPut,
        SpreadKind::BullCall,
        SpreadKind::BullPut,
    ];

    /// The snake_case name used in config files and scan output.
    pub fn name(self) -> &'static str {
        match self {
            SpreadKind::BearCall => "bear_call",
            SpreadKind::BearPut => "bear_put",
            SpreadKind::BullCall => "bull_call",
            SpreadKind::BullPut => "bull_put",
        }
    }

    /// The right both legs share.
    pub fn right(self) -> Right {
        match self {
            SpreadKind::BullCall | SpreadKind::BearCall => Right::Call,
            SpreadKind::BearPut | SpreadKind::BullPut => Right::Put,
        }
    }

    /// Debit kinds pay to open; credit kinds are paid.
    pub fn is_debit(self) -> bool {
        matches!(self, SpreadKind::BullCall | SpreadKind::BearPut)
    }

    pub fn direction(self) -> Direction {
        match self {
            SpreadKind::BullCall | SpreadKind::BullPut => Direction::Bullish,
            SpreadKind::BearCall | SpreadKind::BearPut => Direction::Bearish,
        }
    }

    /// True when the long (bought) leg has the lower strike.
    pub fn long_is_low_strike(self) -> bool {
        matches!(self, SpreadKind::BullCall | SpreadKind::BullPut)
    }
}

impl fmt::Display for SpreadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a kind name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown spread kind `{0}` (expected bull_call, bear_call, bear_put or bull_put)")]
pub struct UnknownSpreadKind(pub String);

impl FromStr for SpreadKind {
    type Err = UnknownSpreadKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpreadKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownSpreadKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_order_is_name_byte_order() {
        let mut names: Vec<&str> = SpreadKind::ALL.iter().map(|k| k.name()).collect();
        let in_variant_order = names.clone();
        names.sort();
        assert_eq!(names, in_variant_order);
        let mut kinds = SpreadKind::ALL;
        kinds.sort();
        assert_eq!(kinds, SpreadKind::ALL);
    }

    #[test]
    fn names_round_trip() {
        for k in SpreadKind::ALL {
            assert_eq!(k.name().parse::<SpreadKind>().unwrap(), k);
        }
        assert!("Bull_call".parse::<SpreadKind>().is_err());
    }
}
