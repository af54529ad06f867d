//! Fault injection, for integration tests of the broker layer: what a
//! client sees when TWS drops it, restarts, rejects orders, fills them in
//! pieces or answers slowly; and [`Setup`], the TWS / IB Gateway settings
//! and account permissions a real installation can get wrong (read-only
//! API, missing market data or history permissions, no combo permission,
//! a skewed clock, an old server version, an untrusted address), which
//! `vspread doctor` detects.
//!
//! The request-side switches live here (forced partial fills are a switch
//! of the venue); [`crate::server::ServerHandle`] flips them at
//! run time, the `vspread sim` flags set them at start, and
//! [`ControlCommand`] is the one-line text form its control port reads
//! (`disconnect`, `restart 30`, `reject 2`, `partial 1`, `partial off`,
//! `delay 250`, `clear`, `status`). The [`Setup`] is fixed at start
//! ([`crate::server::SimSettings::setup`]).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use crate::wire::frame::SERVER_VERSION;

/// What market data a contract's subscription gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataLevel {
    /// Subscribed: real-time quotes.
    Realtime,
    /// Not subscribed, delayed data available: a live request is refused
    /// (354), a delayed one (`reqMarketDataType` 3 or 4) served as delayed
    /// ticks after notice 10167.
    Delayed,
    /// Not subscribed, no delayed data: 354 for a live request, 10168 for
    /// a delayed one.
    None,
}

impl DataLevel {
    pub fn parse(text: &str) -> Option<DataLevel> {
        match text.to_ascii_lowercase().as_str() {
            "realtime" | "real-time" | "live" => Some(DataLevel::Realtime),
            "delayed" => Some(DataLevel::Delayed),
            "none" => Some(DataLevel::None),
            _ => None,
        }
    }
}

/// Which contracts a market data rule covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Stock,
    Options,
}

/// The account's market data permissions: a level for everything, per
/// kind (stocks, options), per symbol and per symbol and kind; the most
/// specific rule applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MarketDataPermissions {
    rules: BTreeMap<(Option<String>, Option<Kind>), DataLevel>,
}

/// A `--market-data` rule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad market data rule {rule:?}: {why} (LEVEL, SCOPE=LEVEL; SCOPE is SYMBOL, SYMBOL:stock, SYMBOL:options, stock or options; LEVEL is realtime, delayed or none)"
)]
pub struct BadMarketDataRule {
    pub rule: String,
    pub why: &'static str,
}

impl MarketDataPermissions {
    /// Adds a rule: `LEVEL` (everything), `stock=LEVEL`, `options=LEVEL`,
    /// `SYMBOL=LEVEL` (its stock and options), `SYMBOL:stock=LEVEL` or
    /// `SYMBOL:options=LEVEL`. A later rule for the same scope replaces an
    /// earlier one.
    pub fn add(&mut self, rule: &str) -> Result<(), BadMarketDataRule> {
        let bad = |why| BadMarketDataRule {
            rule: rule.chars().take(80).collect(),
            why,
        };
        let (scope, level) = match rule.split_once('=') {
            Some((scope, level)) => (Some(scope.trim()), level.trim()),
            None => (None, rule.trim()),
        };
        let level = DataLevel::parse(level).ok_or_else(|| bad("unknown level"))?;
        let kind_of = |k: &str| match k.to_ascii_lowercase().as_str() {
            "stock" | "stocks" => Some(Kind::Stock),
            "option" | "options" => Some(Kind::Options),
            _ => None,
        };
        let key = match scope {
            None => (None, None),
            Some("") => return Err(bad("empty scope")),
            Some(scope) => match scope.split_once(':') {
                Some((symbol, kind)) => {
                    let kind = kind_of(kind).ok_or_else(|| bad("unknown kind after ':'"))?;
                    if symbol.is_empty() {
                        return Err(bad("empty symbol"));
                    }
                    (Some(symbol.to_ascii_uppercase()), Some(kind))
                }
                None => match kind_of(scope) {
                    Some(kind) => (None, Some(kind)),
                    None => (Some(scope.to_ascii_uppercase()), None),
                },
            },
        };
        self.rules.insert(key, level);
        Ok(())
    }

    /// The level for `symbol`'s stock (`option` false) or options.
    pub fn level(&self, symbol: &str, option: bool) -> DataLevel {
        let kind = if option { Kind::Options } else { Kind::Stock };
        let symbol = Some(symbol.to_ascii_uppercase());
        [
            (symbol.clone(), Some(kind)),
            (symbol, None),
            (None, Some(kind)),
            (None, None),
        ]
        .iter()
        .find_map(|k| self.rules.get(k).copied())
        .unwrap_or(DataLevel::Realtime)
    }

    /// Whether every contract gets real-time data.
    pub fn all_realtime(&self) -> bool {
        self.rules.values().all(|l| *l == DataLevel::Realtime)
    }
}

/// How the emulated TWS / IB Gateway is set up and what the account may
/// do: each field is one misconfiguration `vspread doctor` detects. The
/// default is a healthy setup.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    /// TWS's "Read-Only API" setting: every placeOrder (what-if too),
    /// cancelOrder and reqGlobalCancel is refused with error 321.
    pub read_only_api: bool,
    /// Market data subscriptions.
    pub market_data: MarketDataPermissions,
    /// No historical data permission: every reqHistoricalData gets 162.
    pub no_history: bool,
    /// No permission to trade combos: every BAG order and what-if gets 201.
    pub no_combo_permission: bool,
    /// Added to the time the gateway reports (`currentTime`, in
    /// milliseconds too, and the handshake's connection time): a gateway
    /// host whose clock is off.
    pub clock_skew: chrono::Duration,
    /// The highest API server version the gateway speaks (TWS 10.x's 226
    /// by default); a lower one emulates an old TWS / IB Gateway.
    pub server_version: u32,
    /// TWS's "Trusted IPs": when set, a connection from any other address
    /// is closed before the handshake is answered.
    pub trusted_ips: Option<Vec<IpAddr>>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            read_only_api: false,
            market_data: MarketDataPermissions::default(),
            no_history: false,
            no_combo_permission: false,
            clock_skew: chrono::Duration::zero(),
            server_version: SERVER_VERSION,
            trusted_ips: None,
        }
    }
}

impl Setup {
    /// Whether `peer` may connect.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.trusted_ips
            .as_ref()
            .is_none_or(|ips| ips.contains(&peer))
    }
}

/// Error 321's text for any order request while the API is read-only (as
/// TWS words it).
pub const READ_ONLY_API: &str =
    "Error validating request.-'bN' : cause - The API interface is currently in Read-Only mode.";

/// The simulator's error 201 text for a combo without combo permission.
pub const NO_COMBO_PERMISSION: &str = "Order rejected - reason:No trading permissions for combination (spread) orders on this account";

/// Switches read by the connections and the order handler.
#[derive(Debug, Default)]
pub struct Faults {
    /// Orders still to reject (error 201).
    reject_orders: AtomicU32,
    /// Milliseconds to wait before handling each request.
    delay_ms: AtomicU64,
    /// Clients disconnected because they stopped reading (their outbox
    /// filled).
    cut_off: AtomicU64,
}

impl Faults {
    /// Rejects the next `n` orders (in addition to any still pending).
    pub fn reject_next_orders(&self, n: u32) {
        self.reject_orders.fetch_add(n, Ordering::SeqCst);
    }

    /// Takes one pending rejection, if any.
    pub fn take_rejection(&self) -> bool {
        self.reject_orders
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Rejections still pending.
    pub fn pending_rejections(&self) -> u32 {
        self.reject_orders.load(Ordering::SeqCst)
    }

    /// Drops every pending rejection.
    pub fn clear_rejections(&self) {
        self.reject_orders.store(0, Ordering::SeqCst);
    }

    /// Counts a client cut off for not reading.
    pub fn count_cut_off(&self) {
        self.cut_off.fetch_add(1, Ordering::SeqCst);
    }

    /// Clients cut off for not reading so far.
    pub fn cut_off(&self) -> u64 {
        self.cut_off.load(Ordering::SeqCst)
    }

    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms.store(
            delay.as_millis().min(u64::MAX as u128) as u64,
            Ordering::SeqCst,
        );
    }

    pub fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))
    }
}

/// One command of the control port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCommand {
    /// Close every client connection now.
    Disconnect,
    /// Close every connection and refuse new ones for this long.
    Restart(Duration),
    /// Reject the next N orders.
    Reject(u32),
    /// Cap every fill at N combos; `None` ends forcing.
    Partial(Option<u32>),
    /// Wait this long before handling each request.
    Delay(Duration),
    /// End every request-side fault: pending rejections dropped, forced
    /// partial fills off, no delay (what a test does before it compares
    /// the books).
    Clear,
    /// Send IB error/notice CODE to every client (354, 10090, 10197 per
    /// market data line; 1100, 1101, 1102, 2104, 2106, 2158 once).
    Notice(i32),
    /// Report the switches and the number of clients.
    Status,
    /// Report every order, execution and position, and the account's cash,
    /// realised P&L and commissions, as one line of JSON: what a test
    /// compares a client's own records with.
    Ledger,
}

/// Why a control line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad control command {line:?}: {why}")]
pub struct BadCommand {
    pub line: String,
    pub why: &'static str,
}

impl ControlCommand {
    /// Parses one line, e.g. `restart 30` or `partial off`.
    pub fn parse(line: &str) -> Result<ControlCommand, BadCommand> {
        let bad = |why| BadCommand {
            line: line.chars().take(80).collect(),
            why,
        };
        let mut words = line.split_whitespace();
        let verb = words.next().ok_or_else(|| bad("empty line"))?;
        let arg = words.next();
        if words.next().is_some() {
            return Err(bad("too many words"));
        }
        let number = |what| -> Result<u64, BadCommand> {
            arg.ok_or_else(|| bad(what))?
                .parse::<u64>()
                .map_err(|_| bad(what))
        };
        let none = |c: ControlCommand| {
            if arg.is_some() {
                Err(bad("takes no argument"))
            } else {
                Ok(c)
            }
        };
        match verb.to_ascii_lowercase().as_str() {
            "disconnect" => none(ControlCommand::Disconnect),
            "clear" => none(ControlCommand::Clear),
            "notice" => Ok(ControlCommand::Notice(
                i32::try_from(number("notice needs an IB code")?)
                    .map_err(|_| bad("code too large"))?,
            )),
            "status" => none(ControlCommand::Status),
            "ledger" => none(ControlCommand::Ledger),
            "restart" => Ok(ControlCommand::Restart(Duration::from_secs(number(
                "restart needs seconds",
            )?))),
            "reject" => Ok(ControlCommand::Reject(
                u32::try_from(number("reject needs a count")?)
                    .map_err(|_| bad("count too large"))?,
            )),
            "delay" => Ok(ControlCommand::Delay(Duration::from_millis(number(
                "delay needs milliseconds",
            )?))),
            "partial" => match arg {
                Some("off") => Ok(ControlCommand::Partial(None)),
                _ => {
                    let n = number("partial needs a count or off")?;
                    if n == 0 {
                        return Err(bad("partial needs a count of at least 1"));
                    }
                    Ok(ControlCommand::Partial(Some(
                        u32::try_from(n).map_err(|_| bad("count too large"))?,
                    )))
                }
            },
            _ => Err(bad(
                "unknown command (disconnect, restart S, reject N, partial N|off, delay MS, notice CODE, clear, status, ledger)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_bad_ones_say_why() {
        assert_eq!(
            ControlCommand::parse("disconnect"),
            Ok(ControlCommand::Disconnect)
        );
        assert_eq!(ControlCommand::parse("clear"), Ok(ControlCommand::Clear));
        assert_eq!(
            ControlCommand::parse("notice 1101"),
            Ok(ControlCommand::Notice(1101))
        );
        assert!(ControlCommand::parse("notice").is_err());
        assert_eq!(
            ControlCommand::parse(" restart 30 "),
            Ok(ControlCommand::Restart(Duration::from_secs(30)))
        );
        assert_eq!(
            ControlCommand::parse("REJECT 2"),
            Ok(ControlCommand::Reject(2))
        );
        assert_eq!(
            ControlCommand::parse("partial 1"),
            Ok(ControlCommand::Partial(Some(1)))
        );
        assert_eq!(
            ControlCommand::parse("partial off"),
            Ok(ControlCommand::Partial(None))
        );
        assert_eq!(
            ControlCommand::parse("delay 250"),
            Ok(ControlCommand::Delay(Duration::from_millis(250)))
        );
        for (line, why) in [
            ("", "empty line"),
            ("restart", "restart needs seconds"),
            ("restart x", "restart needs seconds"),
            ("partial 0", "partial needs a count of at least 1"),
            ("disconnect now", "takes no argument"),
            ("reject 1 2", "too many words"),
        ] {
            assert_eq!(ControlCommand::parse(line).unwrap_err().why, why, "{line}");
        }
        assert!(ControlCommand::parse("explode").is_err());
    }

    #[test]
    fn market_data_rules_apply_most_specific_first() {
        let mut p = MarketDataPermissions::default();
        assert_eq!(p.level("SPY", true), DataLevel::Realtime);
        assert!(p.all_realtime());
        p.add("delayed").unwrap();
        p.add("options=none").unwrap();
        p.add("aapl=realtime").unwrap();
        p.add("MSFT:options=delayed").unwrap();
        assert_eq!(p.level("SPY", false), DataLevel::Delayed);
        assert_eq!(p.level("SPY", true), DataLevel::None);
        assert_eq!(p.level("AAPL", false), DataLevel::Realtime);
        assert_eq!(p.level("AAPL", true), DataLevel::Realtime);
        assert_eq!(p.level("MSFT", true), DataLevel::Delayed);
        assert_eq!(p.level("MSFT", false), DataLevel::Delayed);
        assert!(!p.all_realtime());
        for bad in [
            "",
            "fast",
            "=none",
            "SPY:bonds=none",
            ":options=none",
            "SPY=slow",
        ] {
            assert!(p.add(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_default_setup_is_healthy_and_trusts_everyone() {
        let s = Setup::default();
        assert!(!s.read_only_api && !s.no_history && !s.no_combo_permission);
        assert_eq!(s.server_version, SERVER_VERSION);
        assert!(s.trusts("10.1.2.3".parse().unwrap()));
        let only = Setup {
            trusted_ips: Some(vec!["10.9.9.9".parse().unwrap()]),
            ..Setup::default()
        };
        assert!(!only.trusts("127.0.0.1".parse().unwrap()));
        assert!(only.trusts("10.9.9.9".parse().unwrap()));
    }

    #[test]
    fn rejections_are_counted_down() {
        let f = Faults::default();
        assert!(!f.take_rejection());
        f.reject_next_orders(2);
        assert!(f.take_rejection());
        assert_eq!(f.pending_rejections(), 1);
        assert!(f.take_rejection());
        assert!(!f.take_rejection());
        f.reject_next_orders(5);
        f.clear_rejections();
        assert!(!f.take_rejection());
    }
}
