//! The simulated universe: the underlyings the market lists (symbol, start
//! price, volatility, primary exchange) and the contract identities derived
//! from them: stock and option contracts, their stable conIds and OCC-style
//! local symbols, and the contract-details fields TWS reports.
//!
//! ## conIds
//! conIds are a pure function of the contract's identity, so they survive
//! restarts and are the same for every seed:
//! - stock: `100_000 + 1_000 * index` where `index` is the symbol's place in
//!   [`UNIVERSE`] (append-only);
//! - option: `2^30 | index << 25 | expiry_week << 13 | strike_halves << 1 | right`,
//!   where `expiry_week` counts weeks from Friday 2000-01-07 to the expiry's
//!   Friday (a holiday Thursday counts as its Friday) modulo 4096, and
//!   `strike_halves` is the strike in units of 0.5 (strikes are always
//!   multiples of 0.5, at most 2047.5). `right` is 0 for calls, 1 for puts.
//!
//! ## Tick sizes
//! Stocks and ETFs tick in 0.01. Options follow the penny-pilot rule for
//! liquid names: 0.01 below $3.00 and 0.05 from $3.00, except SPY, QQQ and IWM
//! which tick in 0.01 at every price (as those classes do). Contract details
//! report `minTick` 0.01 (the smallest tick the contract can trade in) and a
//! market rule id naming the scheme. Combo (BAG) limit prices tick in 0.01.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use vspread_core::Right;

use super::calendar::yyyymmdd;

/// One underlying of the simulated universe.
#[derive(Debug, Clone, PartialEq)]
pub struct UnderlyingSpec {
    /// Ticker.
    pub symbol: &'static str,
    /// Long name as contract details carry it.
    pub long_name: &'static str,
    /// Primary listing exchange (`NASDAQ`, `NYSE`, `ARCA`).
    pub primary_exchange: &'static str,
    /// Whether it is an ETF (stock type `ETF`) or common stock (`COMMON`).
    pub etf: bool,
    /// Reference price the seed perturbs (within ±10%) to get the start price.
    pub price: f64,
    /// Annualised base volatility (calm-to-normal level).
    pub vol: f64,
    /// Loading on the common market factor (correlation with the index).
    pub beta: f64,
    /// Average daily share volume.
    pub avg_volume: f64,
    /// Options tick in 0.01 at every price (SPY, QQQ, IWM).
    pub penny_all: bool,
}

// One row of the universe table; positional so the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn spec(
    symbol: &'static str,
    long_name: &'static str,
    primary_exchange: &'static str,
    etf: bool,
    price: f64,
    vol: f64,
    beta: f64,
    avg_volume: f64,
    penny_all: bool,
) -> UnderlyingSpec {
    UnderlyingSpec {
        symbol,
        long_name,
        primary_exchange,
        etf,
        price,
        vol,
        beta,
        avg_volume,
        penny_all,
    }
}

/// The listed underlyings, in conId order. Append only: an entry's index is
/// part of every conId derived from it.
pub const UNIVERSE: [UnderlyingSpec; 20] = [
    spec(
        "SPY",
        "SPDR S&P 500 ETF TRUST",
        "ARCA",
        true,
        670.0,
        0.15,
        1.00,
        70e6,
        true,
    ),
    spec(
        "QQQ",
        "INVESCO QQQ TRUST SERIES 1",
        "NASDAQ",
        true,
        600.0,
        0.19,
        0.95,
        45e6,
        true,
    ),
    spec(
        "IWM",
        "ISHARES RUSSELL 2000 ETF",
        "ARCA",
        true,
        240.0,
        0.21,
        0.85,
        30e6,
        true,
    ),
    spec(
        "DIA",
        "SPDR DOW JONES INDUSTRIAL AVERAGE ETF",
        "ARCA",
        true,
        465.0,
        0.14,
        0.90,
        3e6,
        false,
    ),
    spec(
        "GLD",
        "SPDR GOLD SHARES",
        "ARCA",
        true,
        380.0,
        0.16,
        0.10,
        9e6,
        false,
    ),
    spec(
        "TLT",
        "ISHARES 20+ YEAR TREASURY BOND ETF",
        "NASDAQ",
        true,
        90.0,
        0.14,
        -0.20,
        35e6,
        false,
    ),
    spec(
        "XLF",
        "FINANCIAL SELECT SECTOR SPDR FUND",
        "ARCA",
        true,
        52.0,
        0.18,
        0.80,
        40e6,
        false,
    ),
    spec(
        "AAPL",
        "APPLE INC",
        "NASDAQ",
        false,
        265.0,
        0.26,
        0.70,
        50e6,
        false,
    ),
    spec(
        "MSFT",
        "MICROSOFT CORP",
        "NASDAQ",
        false,
        510.0,
        0.24,
        0.70,
        20e6,
        false,
    ),
    spec(
        "NVDA",
        "NVIDIA CORP",
        "NASDAQ",
        false,
        185.0,
        0.45,
        0.75,
        180e6,
        false,
    ),
    spec(
        "AMZN",
        "AMAZON.COM INC",
        "NASDAQ",
        false,
        225.0,
        0.32,
        0.70,
        45e6,
        false,
    ),
    spec(
        "TSLA",
        "TESLA INC",
        "NASDAQ",
        false,
        430.0,
        0.60,
        0.60,
        100e6,
        false,
    ),
    spec(
        "META",
        "META PLATFORMS INC-CLASS A",
        "NASDAQ",
        false,
        640.0,
        0.35,
        0.65,
        15e6,
        false,
    ),
    spec(
        "GOOGL",
        "ALPHABET INC-CL A",
        "NASDAQ",
        false,
        280.0,
        0.30,
        0.65,
        35e6,
        false,
    ),
    spec(
        "AMD",
        "ADVANCED MICRO DEVICES",
        "NASDAQ",
        false,
        240.0,
        0.52,
        0.70,
        50e6,
        false,
    ),
    spec(
        "JPM",
        "JPMORGAN CHASE & CO",
        "NYSE",
        false,
        305.0,
        0.22,
        0.60,
        9e6,
        false,
    ),
    spec(
        "XOM",
        "EXXON MOBIL CORP",
        "NYSE",
        false,
        116.0,
        0.24,
        0.35,
        15e6,
        false,
    ),
    spec(
        "BAC",
        "BANK OF AMERICA CORP",
        "NYSE",
        false,
        52.0,
        0.25,
        0.65,
        35e6,
        false,
    ),
    spec(
        "KO",
        "COCA-COLA CO/THE",
        "NYSE",
        false,
        70.0,
        0.15,
        0.30,
        14e6,
        false,
    ),
    spec(
        "INTC",
        "INTEL CORP",
        "NASDAQ",
        false,
        37.0,
        0.48,
        0.55,
        90e6,
        false,
    ),
];

/// Index of `symbol` in [`UNIVERSE`] (case-insensitive).
pub fn universe_index(symbol: &str) -> Option<usize> {
    UNIVERSE
        .iter()
        .position(|s| s.symbol.eq_ignore_ascii_case(symbol))
}

/// Option multiplier of every listed option.
pub const OPTION_MULTIPLIER: u32 = 100;

const OPTION_CONID_BASE: i32 = 1 << 30;

/// conId of the stock at `index` of [`UNIVERSE`].
pub fn stock_con_id(index: usize) -> i32 {
    100_000 + 1_000 * index as i32
}

/// The Friday expiry weeks are counted from.
fn expiry_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 7).expect("valid date")
}

/// Weeks since 2000-01-07 of the expiry's Friday (a holiday-Thursday expiry
/// counts as its Friday's week), modulo 4096.
fn expiry_week(expiry: NaiveDate) -> i32 {
    ((expiry - expiry_epoch()).num_days() + 1)
        .div_euclid(7)
        .rem_euclid(4096) as i32
}

/// The expiry date of week number `week` (inverse of `expiry_week`).
pub fn expiry_of_week(week: i32) -> NaiveDate {
    super::calendar::expiry_for_friday(expiry_epoch() + chrono::Duration::weeks(i64::from(week)))
}

/// Strike in units of 0.5, if it is a multiple of 0.5 in `0.5..=2047.5`.
fn strike_halves(strike: Decimal) -> Option<i32> {
    let halves = strike * Decimal::TWO;
    if halves.fract() != Decimal::ZERO || halves <= Decimal::ZERO || halves > Decimal::from(4095) {
        return None;
    }
    halves.to_i32()
}

/// conId of an option, or `None` when the strike is not representable
/// (not a positive multiple of 0.5 up to 2047.5).
pub fn option_con_id(
    index: usize,
    expiry: NaiveDate,
    strike: Decimal,
    right: Right,
) -> Option<i32> {
    let halves = strike_halves(strike)?;
    let r = match right {
        Right::Call => 0,
        Right::Put => 1,
    };
    Some(OPTION_CONID_BASE | (index as i32) << 25 | expiry_week(expiry) << 13 | halves << 1 | r)
}

/// The OCC option symbol: root padded to six, `YYMMDD`, `C`/`P`, strike × 1000
/// in eight digits, e.g. `AAPL  261218C00190000`.
pub fn occ_symbol(symbol: &str, expiry: NaiveDate, right: Right, strike: Decimal) -> String {
    let thousandths = (strike * Decimal::from(1000)).round();
    format!(
        "{:<6}{:02}{:02}{:02}{}{:08}",
        symbol,
        expiry.year() % 100,
        expiry.month(),
        expiry.day(),
        right.code(),
        thousandths
    )
}

/// A stock or ETF contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockContract {
    pub con_id: i32,
    pub symbol: String,
    /// Always `SMART`.
    pub exchange: String,
    pub primary_exchange: String,
    /// Always `USD`.
    pub currency: String,
    /// Same as the symbol.
    pub local_symbol: String,
    /// Same as the symbol (TWS uses the ticker as the stock's trading class).
    pub trading_class: String,
}

/// An equity option contract (American style, physically settled in reality;
/// the simulator settles expiring positions in cash at intrinsic value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionContract {
    pub con_id: i32,
    /// Underlying symbol.
    pub symbol: String,
    pub expiry: NaiveDate,
    pub strike: Decimal,
    pub right: Right,
    /// Always 100.
    pub multiplier: u32,
    /// Always `SMART`.
    pub exchange: String,
    /// Always `USD`.
    pub currency: String,
    /// OCC symbol, e.g. `AAPL  261218C00190000`.
    pub local_symbol: String,
    /// Same as the underlying symbol.
    pub trading_class: String,
    /// conId of the underlying stock.
    pub underlying_con_id: i32,
}

impl OptionContract {
    /// Expiry as `YYYYMMDD` (TWS's `lastTradeDateOrContractMonth`).
    pub fn expiry_yyyymmdd(&self) -> String {
        yyyymmdd(self.expiry)
    }
}

/// Any contract the market lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sec_type")]
pub enum Contract {
    #[serde(rename = "STK")]
    Stock(StockContract),
    #[serde(rename = "OPT")]
    Option(OptionContract),
}

impl Contract {
    pub fn con_id(&self) -> i32 {
        match self {
            Contract::Stock(s) => s.con_id,
            Contract::Option(o) => o.con_id,
        }
    }

    /// The (underlying) symbol.
    pub fn symbol(&self) -> &str {
        match self {
            Contract::Stock(s) => &s.symbol,
            Contract::Option(o) => &o.symbol,
        }
    }

    /// TWS security type: `STK` or `OPT`.
    pub fn sec_type(&self) -> &'static str {
        match self {
            Contract::Stock(_) => "STK",
            Contract::Option(_) => "OPT",
        }
    }

    /// Contract multiplier: 1 for stocks, 100 for options.
    pub fn multiplier(&self) -> Decimal {
        match self {
            Contract::Stock(_) => Decimal::ONE,
            Contract::Option(o) => Decimal::from(o.multiplier),
        }
    }

    pub fn local_symbol(&self) -> &str {
        match self {
            Contract::Stock(s) => &s.local_symbol,
            Contract::Option(o) => &o.local_symbol,
        }
    }

    pub fn as_option(&self) -> Option<&OptionContract> {
        match self {
            Contract::Option(o) => Some(o),
            Contract::Stock(_) => None,
        }
    }
}

/// The `ContractDetails` fields TWS fills for a contract (besides the
/// contract itself). Strings are exactly what goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractDetails {
    pub contract: Contract,
    /// `marketName`: the trading class.
    pub market_name: String,
    /// `minTick` as a decimal string (`"0.01"`); never empty.
    pub min_tick: String,
    /// `orderTypes`, comma separated.
    pub order_types: String,
    /// `validExchanges`, comma separated.
    pub valid_exchanges: String,
    pub price_magnifier: i32,
    /// conId of the underlying (the stock's own conId for a stock).
    pub under_con_id: i32,
    pub long_name: String,
    /// `contractMonth` (`YYYYMM`) for options, empty for stocks.
    pub contract_month: String,
    /// `timeZoneId`: `US/Eastern`.
    pub time_zone_id: String,
    /// `tradingHours` (`YYYYMMDD:HHMM-YYYYMMDD:HHMM;…` or `YYYYMMDD:CLOSED`).
    pub trading_hours: String,
    /// `liquidHours`, same form.
    pub liquid_hours: String,
    pub under_symbol: String,
    /// `STK` for both (an option's underlying is a stock).
    pub under_sec_type: String,
    /// `marketRuleIds`, comma separated (one per valid exchange).
    pub market_rule_ids: String,
    /// `realExpirationDate` (`YYYYMMDD`) for options, empty for stocks.
    pub real_expiration_date: String,
    /// `stockType`: `COMMON` or `ETF` (empty for options).
    pub stock_type: String,
    /// `minSize`, `sizeIncrement`, `suggestedSizeIncrement` (decimal strings).
    pub min_size: String,
    pub size_increment: String,
    pub suggested_size_increment: String,
}

/// Market rule id reported for contracts ticking 0.01 at every price.
pub const MARKET_RULE_PENNY: i32 = 26;
/// Market rule id reported for options ticking 0.01 below $3 and 0.05 above.
pub const MARKET_RULE_PENNY_PILOT: i32 = 32;

/// Minimum tick of an option of `spec` at `price`.
pub fn option_tick(spec: &UnderlyingSpec, price: Decimal) -> Decimal {
    if spec.penny_all || price < Decimal::from(3) {
        Decimal::new(1, 2)
    } else {
        Decimal::new(5, 2)
    }
}

/// Stock tick: 0.01.
pub fn stock_tick() -> Decimal {
    Decimal::new(1, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn occ_symbols_follow_the_standard_layout() {
        let s = occ_symbol("AAPL", d(2026, 12, 18), Right::Call, Decimal::from(190));
        assert_eq!(s, "AAPL  261218C00190000");
        let s = occ_symbol("SPY", d(2027, 1, 15), Right::Put, Decimal::new(6725, 1));
        assert_eq!(s, "SPY   270115P00672500");
    }

    #[test]
    fn con_ids_are_distinct_and_positive() {
        let mut seen = HashSet::new();
        for (i, _) in UNIVERSE.iter().enumerate() {
            assert!(seen.insert(stock_con_id(i)));
        }
        for i in [0usize, 9, 19] {
            for week in 0..30 {
                let expiry = d(2026, 11, 27) + chrono::Duration::weeks(week);
                for halves in 1..4000 {
                    let k = Decimal::from(halves) / Decimal::TWO;
                    for right in [Right::Call, Right::Put] {
                        let id = option_con_id(i, expiry, k, right).unwrap();
                        assert!(id > 0);
                        assert!(seen.insert(id), "collision at {i} {expiry} {k} {right}");
                    }
                }
            }
        }
    }

    #[test]
    fn unrepresentable_strikes_have_no_con_id() {
        let e = d(2026, 12, 18);
        assert_eq!(
            option_con_id(0, e, Decimal::new(1025, 2), Right::Call),
            None
        );
        assert_eq!(option_con_id(0, e, Decimal::ZERO, Right::Call), None);
        assert_eq!(option_con_id(0, e, Decimal::from(2048), Right::Call), None);
        assert!(option_con_id(0, e, Decimal::new(25, 1), Right::Call).is_some());
    }

    #[test]
    fn option_ticks_follow_penny_pilot() {
        let aapl = &UNIVERSE[universe_index("AAPL").unwrap()];
        let spy = &UNIVERSE[universe_index("spy").unwrap()];
        assert_eq!(option_tick(aapl, Decimal::new(299, 2)), Decimal::new(1, 2));
        assert_eq!(option_tick(aapl, Decimal::from(3)), Decimal::new(5, 2));
        assert_eq!(option_tick(spy, Decimal::from(12)), Decimal::new(1, 2));
    }
}
