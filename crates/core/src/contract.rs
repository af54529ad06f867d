//! Contract identity: which option or stock a quote, order, fill or
//! position is about.
//!
//! An option is identified by what it *is* (underlying, expiry, strike,
//! right, multiplier, currency); the exchange to route to and IB's conId are
//! how to reach it, so they do not take part in equality. That lets a
//! contract built from a scanner row equal the same contract after the broker
//! has resolved its conId. [`OptionContract`] prints in OCC style
//! (`AAPL  261218C00150000`), the form traders and clearing firms use, and
//! parses it back.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::Right;
use crate::money::Price;

/// IB's contract id: how the gateway names a contract on the wire.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ConId(pub i64);

impl fmt::Display for ConId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conId {}", self.0)
    }
}

/// Why a contract could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("option contract needs `{0}`")]
    Missing(&'static str),
    #[error("{field} `{value}` is not valid: {reason}")]
    BadText {
        field: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("strike {strike} is not valid: {reason}")]
    BadStrike {
        strike: Decimal,
        reason: &'static str,
    },
    #[error("multiplier must be at least 1")]
    BadMultiplier,
    #[error("expiry {0} is outside 2000-2099 (OCC symbols carry a two-digit year)")]
    BadExpiry(NaiveDate),
    #[error("`{text}` is not an OCC option symbol: {reason}")]
    BadOcc { text: String, reason: &'static str },
}

fn check_symbol(field: &'static str, value: &str) -> Result<String, ContractError> {
    let bad = |reason| ContractError::BadText {
        field,
        value: value.to_string(),
        reason,
    };
    if value.is_empty() || value.len() > 12 {
        return Err(bad("expected 1 to 12 characters"));
    }
    if value.starts_with(' ') || value.ends_with(' ') {
        return Err(bad("leading or trailing space"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || " ./-".contains(c))
    {
        return Err(bad(
            "use upper-case letters, digits, space, '.', '/' or '-'",
        ));
    }
    Ok(value.to_string())
}

fn check_currency(value: &str) -> Result<String, ContractError> {
    if value.len() == 3 && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(value.to_string())
    } else {
        Err(ContractError::BadText {
            field: "currency",
            value: value.to_string(),
            reason: "expected a three-letter code such as USD",
        })
    }
}

/// One listed option.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "OptionContractFields", into = "OptionContractFields")]
pub struct OptionContract {
    underlying: String,
    expiry: NaiveDate,
    strike: Price,
    right: Right,
    multiplier: u32,
    exchange: String,
    currency: String,
    con_id: Option<ConId>,
}

impl OptionContract {
    /// Starts a contract; `underlying`, `expiry`, `strike` and `right` are
    /// required, the rest default to a US equity option (100, SMART, USD).
    pub fn builder() -> OptionContractBuilder {
        OptionContractBuilder::default()
    }

    pub fn underlying(&self) -> &str {
        &self.underlying
    }
    pub fn expiry(&self) -> NaiveDate {
        self.expiry
    }
    pub fn strike(&self) -> Price {
        self.strike
    }
    pub fn right(&self) -> Right {
        self.right
    }
    /// Shares per contract (100 for standard US equity options).
    pub fn multiplier(&self) -> u32 {
        self.multiplier
    }
    pub fn exchange(&self) -> &str {
        &self.exchange
    }
    pub fn currency(&self) -> &str {
        &self.currency
    }
    /// IB's contract id, once the broker has resolved it.
    pub fn con_id(&self) -> Option<ConId> {
        self.con_id
    }

    /// The same contract, now known by its conId (identity is unchanged).
    pub fn with_con_id(mut self, con_id: ConId) -> Self {
        self.con_id = Some(con_id);
        self
    }

    /// True when `other` is in the same series (underlying, expiry, right,
    /// multiplier, currency): the legs of a vertical must be.
    pub fn same_series(&self, other: &OptionContract) -> bool {
        self.underlying == other.underlying
            && self.expiry == other.expiry
            && self.right == other.right
            && self.multiplier == other.multiplier
            && self.currency == other.currency
    }

    /// The 21-character OCC symbol: root padded to 6, `YYMMDD`, `C`/`P`,
    /// strike × 1000 in 8 digits. Spaces inside the root are dropped
    /// (IB's `BRK B` is OCC's `BRKB`).
    pub fn occ_symbol(&self) -> String {
        let root: String = self.underlying.chars().filter(|c| *c != ' ').collect();
        // The builder keeps strikes in (0, 100000) with at most 3 decimals.
        let millis = rust_decimal::prelude::ToPrimitive::to_u64(
            &(self.strike.value() * Decimal::ONE_THOUSAND).trunc(),
        )
        .unwrap_or_default();
        format!(
            "{root:<6}{:02}{:02}{:02}{}{:08}",
            self.expiry.year() % 100,
            self.expiry.month(),
            self.expiry.day(),
            self.right.code(),
            millis
        )
    }

    fn identity(&self) -> (&str, NaiveDate, Price, Right, u32, &str) {
        (
            &self.underlying,
            self.expiry,
            self.strike,
            self.right,
            self.multiplier,
            &self.currency,
        )
    }
}

impl PartialEq for OptionContract {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}
impl Eq for OptionContract {}

impl Hash for OptionContract {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl PartialOrd for OptionContract {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OptionContract {
    fn cmp(&self, other: &Self) -> Ordering {
        self.identity().cmp(&other.identity())
    }
}

impl fmt::Display for OptionContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.occ_symbol())
    }
}

impl FromStr for OptionContract {
    type Err = ContractError;

    /// Parses an OCC symbol, padded (`AAPL  261218C00150000`) or not
    /// (`AAPL261218C00150000`); the result is a US equity option (100,
    /// SMART, USD).
    fn from_str(text: &str) -> Result<Self, ContractError> {
        let bad = |reason| ContractError::BadOcc {
            text: text.to_string(),
            reason,
        };
        if !text.is_ascii() || text.len() < 16 {
            return Err(bad(
                "expected a root followed by YYMMDD, C or P, 8 strike digits",
            ));
        }
        let (root, tail) = text.split_at(text.len() - 15);
        let root = root.trim_end();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let (date, right, strike) = (&tail[..6], &tail[6..7], &tail[7..]);
        if !digits(date) || !digits(strike) {
            return Err(bad("expected digits for the date and the strike"));
        }
        let num = |s: &str| s.parse::<u32>().map_err(|_| bad("expected digits"));
        let expiry = NaiveDate::from_ymd_opt(
            2000 + num(&date[..2])? as i32,
            num(&date[2..4])?,
            num(&date[4..])?,
        )
        .ok_or_else(|| bad("the date is not a calendar date"))?;
        let right = match right {
            "C" => Right::Call,
            "P" => Right::Put,
            _ => return Err(bad("the right must be C or P")),
        };
        let strike = Decimal::new(i64::from(num(strike)?), 3);
        OptionContract::builder()
            .underlying(root)
            .expiry(expiry)
            .strike(Price::new(strike))
            .right(right)
            .build()
    }
}

/// Builds an [`OptionContract`], checking each field.
#[derive(Debug, Clone, Default)]
pub struct OptionContractBuilder {
    underlying: Option<String>,
    expiry: Option<NaiveDate>,
    strike: Option<Price>,
    right: Option<Right>,
    multiplier: Option<u32>,
    exchange: Option<String>,
    currency: Option<String>,
    con_id: Option<ConId>,
}

impl OptionContractBuilder {
    pub fn underlying(mut self, symbol: impl Into<String>) -> Self {
        self.underlying = Some(symbol.into());
        self
    }
    pub fn expiry(mut self, expiry: NaiveDate) -> Self {
        self.expiry = Some(expiry);
        self
    }
    pub fn strike(mut self, strike: Price) -> Self {
        self.strike = Some(strike);
        self
    }
    pub fn right(mut self, right: Right) -> Self {
        self.right = Some(right);
        self
    }
    /// Default 100.
    pub fn multiplier(mut self, multiplier: u32) -> Self {
        self.multiplier = Some(multiplier);
        self
    }
    /// Default `SMART`.
    pub fn exchange(mut self, exchange: impl Into<String>) -> Self {
        self.exchange = Some(exchange.into());
        self
    }
    /// Default `USD`.
    pub fn currency(mut self, currency: impl Into<String>) -> Self {
        self.currency = Some(currency.into());
        self
    }
    pub fn con_id(mut self, con_id: ConId) -> Self {
        self.con_id = Some(con_id);
        self
    }

    /// Checks every field and names the first that is missing or wrong:
    /// an upper-case symbol, expiry in 2000-2099, strike in (0, 100000)
    /// with at most three decimals (what an OCC symbol can carry),
    /// multiplier at least 1, a three-letter currency.
    pub fn build(self) -> Result<OptionContract, ContractError> {
        let underlying = check_symbol(
            "underlying",
            &self
                .underlying
                .ok_or(ContractError::Missing("underlying"))?,
        )?;
        let expiry = self.expiry.ok_or(ContractError::Missing("expiry"))?;
        if !(2000..=2099).contains(&expiry.year()) {
            return Err(ContractError::BadExpiry(expiry));
        }
        let strike = self.strike.ok_or(ContractError::Missing("strike"))?;
        let bad_strike = |reason| ContractError::BadStrike {
            strike: strike.value(),
            reason,
        };
        if !strike.is_positive() {
            return Err(bad_strike("must be above 0"));
        }
        if strike.value() >= Decimal::from(100_000) {
            return Err(bad_strike("must be below 100000"));
        }
        if strike.value().normalize().scale() > 3 {
            return Err(bad_strike("at most three decimals"));
        }
        let right = self.right.ok_or(ContractError::Missing("right"))?;
        let multiplier = self.multiplier.unwrap_or(100);
        if multiplier == 0 {
            return Err(ContractError::BadMultiplier);
        }
        let exchange = check_symbol("exchange", self.exchange.as_deref().unwrap_or("SMART"))?;
        let currency = check_currency(self.currency.as_deref().unwrap_or("USD"))?;
        Ok(OptionContract {
            underlying,
            expiry,
            strike: Price::new(strike.value().normalize()),
            right,
            multiplier,
            exchange,
            currency,
            con_id: self.con_id,
        })
    }
}

/// The serialized shape of an [`OptionContract`]; read back through the
/// builder so a stored contract is checked like a new one.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionContractFields {
    underlying: String,
    expiry: NaiveDate,
    strike: Price,
    right: Right,
    multiplier: u32,
    exchange: String,
    currency: String,
    #[serde(default)]
    con_id: Option<i64>,
}

impl TryFrom<OptionContractFields> for OptionContract {
    type Error = ContractError;
    fn try_from(f: OptionContractFields) -> Result<Self, ContractError> {
        let mut b = OptionContract::builder()
            .underlying(f.underlying)
            .expiry(f.expiry)
            .strike(f.strike)
            .right(f.right)
            .multiplier(f.multiplier)
            .exchange(f.exchange)
            .currency(f.currency);
        if let Some(id) = f.con_id {
            b = b.con_id(ConId(id));
        }
        b.build()
    }
}

impl From<OptionContract> for OptionContractFields {
    fn from(c: OptionContract) -> Self {
        OptionContractFields {
            underlying: c.underlying,
            expiry: c.expiry,
            strike: c.strike,
            right: c.right,
            multiplier: c.multiplier,
            exchange: c.exchange,
            currency: c.currency,
            con_id: c.con_id.map(|c| c.0),
        }
    }
}

/// A stock (an option's underlying, or a hedge).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "StockContractFields", into = "StockContractFields")]
pub struct StockContract {
    symbol: String,
    exchange: String,
    currency: String,
    con_id: Option<ConId>,
}

impl StockContract {
    /// A US stock routed SMART in USD.
    pub fn new(symbol: &str) -> Result<Self, ContractError> {
        Self::listed(symbol, "SMART", "USD")
    }

    /// A stock on a given exchange and currency.
    pub fn listed(symbol: &str, exchange: &str, currency: &str) -> Result<Self, ContractError> {
        Ok(StockContract {
            symbol: check_symbol("symbol", symbol)?,
            exchange: check_symbol("exchange", exchange)?,
            currency: check_currency(currency)?,
            con_id: None,
        })
    }

    pub fn with_con_id(mut self, con_id: ConId) -> Self {
        self.con_id = Some(con_id);
        self
    }
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn exchange(&self) -> &str {
        &self.exchange
    }
    pub fn currency(&self) -> &str {
        &self.currency
    }
    pub fn con_id(&self) -> Option<ConId> {
        self.con_id
    }
}

impl PartialEq for StockContract {
    fn eq(&self, other: &Self) -> bool {
        (&self.symbol, &self.currency) == (&other.symbol, &other.currency)
    }
}
impl Eq for StockContract {}

impl Hash for StockContract {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (&self.symbol, &self.currency).hash(state);
    }
}

impl fmt::Display for StockContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockContractFields {
    symbol: String,
    exchange: String,
    currency: String,
    #[serde(default)]
    con_id: Option<i64>,
}

impl TryFrom<StockContractFields> for StockContract {
    type Error = ContractError;
    fn try_from(f: StockContractFields) -> Result<Self, ContractError> {
        let s = StockContract::listed(&f.symbol, &f.exchange, &f.currency)?;
        Ok(match f.con_id {
            Some(id) => s.with_con_id(ConId(id)),
            None => s,
        })
    }
}

impl From<StockContract> for StockContractFields {
    fn from(s: StockContract) -> Self {
        StockContractFields {
            symbol: s.symbol,
            exchange: s.exchange,
            currency: s.currency,
            con_id: s.con_id.map(|c| c.0),
        }
    }
}

/// What a contract is: a stock or one listed option, by identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Instrument {
    Stock(StockContract),
    Option(OptionContract),
}

impl Instrument {
    /// The stock symbol or the option's underlying.
    pub fn symbol(&self) -> &str {
        match self {
            Instrument::Stock(s) => s.symbol(),
            Instrument::Option(o) => o.underlying(),
        }
    }

    pub fn exchange(&self) -> &str {
        match self {
            Instrument::Stock(s) => s.exchange(),
            Instrument::Option(o) => o.exchange(),
        }
    }

    pub fn currency(&self) -> &str {
        match self {
            Instrument::Stock(s) => s.currency(),
            Instrument::Option(o) => o.currency(),
        }
    }

    /// Shares per contract: 1 for a stock.
    pub fn multiplier(&self) -> u32 {
        match self {
            Instrument::Stock(_) => 1,
            Instrument::Option(o) => o.multiplier(),
        }
    }
}

/// A contract the gateway resolved: its identity, its conId, and what the
/// gateway says of how it trades (tick, local symbol, trading class). The
/// instrument carries the conId too, so either can be handed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractInfo {
    pub con_id: ConId,
    pub instrument: Instrument,
    pub primary_exchange: String,
    pub local_symbol: String,
    pub trading_class: String,
    pub min_tick: Decimal,
}

impl ContractInfo {
    /// The option, when this is one.
    pub fn option(&self) -> Option<&OptionContract> {
        match &self.instrument {
            Instrument::Option(o) => Some(o),
            Instrument::Stock(_) => None,
        }
    }

    pub fn symbol(&self) -> &str {
        self.instrument.symbol()
    }
    pub fn exchange(&self) -> &str {
        self.instrument.exchange()
    }
    pub fn currency(&self) -> &str {
        self.instrument.currency()
    }
    /// Shares per contract (1 for a stock, usually 100 for an option).
    pub fn multiplier(&self) -> u32 {
        self.instrument.multiplier()
    }
}

/// One (exchange, trading class) row of an option chain's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionChainParams {
    pub underlying: String,
    pub underlying_con_id: ConId,
    pub exchange: String,
    pub trading_class: String,
    pub multiplier: Decimal,
    pub expirations: Vec<NaiveDate>,
    pub strikes: Vec<Decimal>,
}

#[cfg(test)]
#[path = "contract_tests.rs"]
mod tests;
