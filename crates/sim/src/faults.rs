//! Fault injection, for integration tests of the broker layer: what a
//! client sees when TWS drops it, restarts, rejects orders, fills them in
//! pieces or answers slowly.
//!
//! The request-side switches live here (forced partial fills are a switch
//! of the venue); [`crate::server::ServerHandle`] flips them at
//! run time, the `vspread sim` flags set them at start, and
//! [`ControlCommand`] is the one-line text form its control port reads
//! (`disconnect`, `restart 30`, `reject 2`, `partial 1`, `partial off`,
//! `delay 250`, `status`).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Switches read by the connections and the order handler.
#[derive(Debug, Default)]
pub struct Faults {
    /// Orders still to reject (error 201).
    reject_orders: AtomicU32,
    /// Milliseconds to wait before handling each request.
    delay_ms: AtomicU64,
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
                "unknown command (disconnect, restart S, reject N, partial N|off, delay MS, status)",
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
    fn rejections_are_counted_down() {
        let f = Faults::default();
        assert!(!f.take_rejection());
        f.reject_next_orders(2);
        assert!(f.take_rejection());
        assert_eq!(f.pending_rejections(), 1);
        assert!(f.take_rejection());
        assert!(!f.take_rejection());
    }
}
