//! Which engine events become notifications, and what they say: a pure
//! function of the event (and, for the daily-loss halt, of whether it was
//! already told today), so every message is unit-tested without a network.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value as Json;
use vspread_core::OrderPurpose;
use vspread_core::config::NotifyEvent;

use crate::events::{EngineEvent, Event};
use crate::risk::Refusal;

/// How much a message matters (ntfy's priority, the JSON body's
/// `severity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One notification, before it is shaped for a service.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What a target must hear to be sent it.
    pub topic: NotifyEvent,
    /// The engine event's kind (`order.filled`, ...).
    pub kind: &'static str,
    pub severity: Severity,
    /// When it happened, on the engine's clock.
    pub at: DateTime<Utc>,
    /// One line: what happened.
    pub title: String,
    /// The event's own words.
    pub text: String,
    /// The event's numbers, as the API shows them.
    pub data: Json,
}

/// What the message builder remembers between events: the day the
/// daily-loss halt was last told (it refuses every symbol every cycle).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    halt_told_on: Option<NaiveDate>,
}

fn purpose(p: OrderPurpose) -> &'static str {
    match p {
        OrderPurpose::Entry => "entry",
        OrderPurpose::Exit => "exit",
        OrderPurpose::Manual => "manual entry",
    }
}

/// The notification `event` makes, if any.
pub fn message(event: &Event, memory: &mut Memory) -> Option<Message> {
    use EngineEvent as E;
    let (topic, severity, title) = match &event.event {
        E::OrderFilled(f) => (
            NotifyEvent::Fills,
            Severity::Info,
            format!(
                "{} {} filled {} at {} ({} of {})",
                f.symbol,
                purpose(f.purpose),
                f.quantity.normalize(),
                f.price.normalize(),
                f.filled.normalize(),
                f.ordered
            ),
        ),
        E::TradeClosed(t) => (
            NotifyEvent::Exits,
            if t.realised.is_sign_negative() {
                Severity::Warning
            } else {
                Severity::Info
            },
            format!(
                "{} closed by {}: P&L {} ({:.2} R)",
                t.symbol,
                t.reason,
                t.realised.round_dp(2),
                t.r_multiple
            ),
        ),
        E::DecisionRefused(r) => {
            let Refusal::DailyLoss { loss, limit } = &r.refusal else {
                return None;
            };
            let today = vspread_core::expiry::eastern_date(event.at);
            if memory.halt_told_on == Some(today) {
                return None;
            }
            memory.halt_told_on = Some(today);
            (
                NotifyEvent::Refusals,
                Severity::Critical,
                format!(
                    "Daily loss {} reached the limit {}: new entries halted",
                    loss.round_dp(2),
                    limit.round_dp(2)
                ),
            )
        }
        E::BreakerTripped(b) => (
            NotifyEvent::Refusals,
            Severity::Warning,
            format!(
                "{}: IV circuit breaker tripped at {:.1}%",
                b.symbol,
                b.iv * 100.0
            ),
        ),
        E::GatewayLost(g) => (
            NotifyEvent::Gateway,
            Severity::Critical,
            format!("Gateway {} lost", g.address),
        ),
        // The first connection is the start, not a return.
        E::GatewayReady(g) if g.connects > 1 => (
            NotifyEvent::Gateway,
            Severity::Info,
            format!("Gateway {} back", g.address),
        ),
        E::KillSwitch(k) => (
            NotifyEvent::KillSwitch,
            if k.engaged {
                Severity::Critical
            } else {
                Severity::Warning
            },
            format!(
                "Kill switch {} by {}",
                if k.engaged { "engaged" } else { "released" },
                k.who
            ),
        ),
        // The kill switch's own record in the file is told as the switch.
        E::ConfigApplied(a) if a.changes.iter().all(|c| c.path == "risk.kill_switch") => {
            return None;
        }
        E::ConfigApplied(a) => (
            NotifyEvent::Applies,
            Severity::Info,
            format!("Config applied by {}", a.who),
        ),
        E::ConfigRolledBack(a) => (
            NotifyEvent::Applies,
            Severity::Info,
            format!("Config rolled back by {}", a.who),
        ),
        E::ConfigApplyRefused(r) => (
            NotifyEvent::Applies,
            Severity::Warning,
            format!("Config {} by {} refused ({})", r.action, r.who, r.reason),
        ),
        E::ConfigReloaded(_) => (
            NotifyEvent::Applies,
            Severity::Info,
            "Config reloaded from the file".to_string(),
        ),
        E::ConfigReloadFailed(_) => (
            NotifyEvent::Applies,
            Severity::Warning,
            "Config file change refused; the running config stays".to_string(),
        ),
        _ => return None,
    };
    Some(Message {
        topic,
        kind: event.kind(),
        severity,
        at: event.at,
        title,
        text: event.message.clone(),
        data: event.event.data(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{
        DecisionRefused, GatewayLost, GatewayReady, KillSwitchSet, OrderFilled, SignalNone,
        TradeClosed,
    };
    use chrono::TimeZone as _;
    use rust_decimal::Decimal;

    fn event(at: DateTime<Utc>, message: &str, event: EngineEvent) -> Event {
        Event {
            seq: 1,
            at,
            message: message.into(),
            event,
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn monday(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, h, 0, 0).unwrap()
    }

    #[test]
    fn fills_and_exits_say_what_and_how_much() {
        let mut m = Memory::default();
        let filled = message(
            &event(
                monday(15),
                "QQQ: vs-1 filled 1 at 2.1 (1 of 2)",
                EngineEvent::OrderFilled(OrderFilled {
                    symbol: "QQQ".into(),
                    order_ref: "vs-1".into(),
                    purpose: OrderPurpose::Entry,
                    quantity: d("1"),
                    price: d("2.10"),
                    filled: d("1"),
                    ordered: 2,
                }),
            ),
            &mut m,
        )
        .unwrap();
        assert_eq!(filled.topic, NotifyEvent::Fills);
        assert_eq!(filled.title, "QQQ entry filled 1 at 2.1 (1 of 2)");
        assert_eq!(filled.kind, "order.filled");
        assert_eq!(filled.data["order_ref"], "vs-1");

        let closed = message(
            &event(
                monday(16),
                "QQQ: vs-1 closed",
                EngineEvent::TradeClosed(TradeClosed {
                    order_ref: "vs-1".into(),
                    symbol: "QQQ".into(),
                    reason: "atr_stop".into(),
                    realised: d("-120.456"),
                    risk: d("400"),
                    r_multiple: -0.301,
                    commissions: d("5.2"),
                }),
            ),
            &mut m,
        )
        .unwrap();
        assert_eq!(closed.topic, NotifyEvent::Exits);
        assert_eq!(closed.severity, Severity::Warning, "a loss");
        assert_eq!(
            closed.title,
            "QQQ closed by atr_stop: P&L -120.46 (-0.30 R)"
        );
    }

    #[test]
    fn the_daily_loss_halt_is_told_once_a_new_york_day_and_other_refusals_not() {
        let mut m = Memory::default();
        let refused = |at, refusal| {
            event(
                at,
                "refused",
                EngineEvent::DecisionRefused(DecisionRefused {
                    symbol: "QQQ".into(),
                    refusal,
                }),
            )
        };
        let halt = Refusal::DailyLoss {
            loss: d("1000.5"),
            limit: d("1000"),
        };
        let first = message(&refused(monday(15), halt.clone()), &mut m).unwrap();
        assert_eq!(first.severity, Severity::Critical);
        assert_eq!(
            first.title,
            "Daily loss 1000.5 reached the limit 1000: new entries halted"
        );
        assert_eq!(message(&refused(monday(19), halt.clone()), &mut m), None);
        // 02:00 UTC Tuesday is still Monday in New York.
        let tuesday_2 = Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap();
        assert_eq!(message(&refused(tuesday_2, halt.clone()), &mut m), None);
        let tuesday_15 = Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap();
        assert!(message(&refused(tuesday_15, halt), &mut m).is_some());
        let full = Refusal::MaxPositions { open: 5, limit: 5 };
        assert_eq!(message(&refused(tuesday_15, full), &mut m), None);
    }

    #[test]
    fn the_gateway_back_is_a_return_not_the_first_connection() {
        let mut m = Memory::default();
        let ready = |connects| {
            event(
                monday(15),
                "ready",
                EngineEvent::GatewayReady(GatewayReady {
                    address: "127.0.0.1:4002".into(),
                    server_version: Some(226),
                    connects,
                }),
            )
        };
        assert_eq!(message(&ready(1), &mut m), None);
        assert_eq!(
            message(&ready(2), &mut m).unwrap().title,
            "Gateway 127.0.0.1:4002 back"
        );
        let lost = message(
            &event(
                monday(15),
                "gateway 127.0.0.1:4002 lost: eof",
                EngineEvent::GatewayLost(GatewayLost {
                    address: "127.0.0.1:4002".into(),
                    reason: "eof".into(),
                }),
            ),
            &mut m,
        )
        .unwrap();
        assert_eq!(
            (lost.topic, lost.severity),
            (NotifyEvent::Gateway, Severity::Critical)
        );
        assert_eq!(lost.text, "gateway 127.0.0.1:4002 lost: eof");
    }

    #[test]
    fn an_apply_is_told_but_not_the_kill_switchs_record_of_itself() {
        use vspread_core::config::{ApplyClass, KeyChange};
        let mut m = Memory::default();
        let applied = |path: &str| {
            event(
                monday(15),
                "ops changed it",
                EngineEvent::ConfigApplied(crate::events::ConfigApplied {
                    who: "ops".into(),
                    changes: vec![KeyChange {
                        path: path.into(),
                        old: serde_json::json!(false),
                        new: serde_json::json!(true),
                        applies: ApplyClass::Live,
                    }],
                    backup_id: None,
                    version: "v".into(),
                    interruption_ms: 1.0,
                }),
            )
        };
        assert_eq!(
            message(&applied("exits.exit_dte"), &mut m).unwrap().title,
            "Config applied by ops"
        );
        assert_eq!(message(&applied("risk.kill_switch"), &mut m), None);
    }

    #[test]
    fn the_kill_switch_is_told_and_chatter_is_not() {
        let mut m = Memory::default();
        let kill = message(
            &event(
                monday(15),
                "kill switch engaged by ops",
                EngineEvent::KillSwitch(KillSwitchSet {
                    who: "ops".into(),
                    engaged: true,
                    cancelled: vec![],
                }),
            ),
            &mut m,
        )
        .unwrap();
        assert_eq!(kill.title, "Kill switch engaged by ops");
        assert_eq!(kill.topic, NotifyEvent::KillSwitch);
        let none = event(
            monday(15),
            "no signal",
            EngineEvent::SignalNone(SignalNone {
                symbol: "QQQ".into(),
                evaluations: vec![],
            }),
        );
        assert_eq!(message(&none, &mut m), None);
    }
}
