//! Which engine events become native notifications, and the record of the
//! notifications sent. The window forwards every live event of the
//! engine's stream (the same stream its dashboard shows) as the JSON the
//! admin API documents (`kind`, `data`, `message`); [`Notifier`] turns the
//! few that a trader wants to hear about without looking into a
//! [`Notice`], and remembers what it sent so the app (and its test) can
//! show it.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::Value;

/// The kinds of notification, each switchable in the app's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    GatewayLost,
    GatewayBack,
    OrderFilled,
    PositionClosed,
    DailyLossRefusal,
    KillSwitchEngaged,
    ApplyDone,
    ApplyRefused,
}

/// One notification: what it is about and what it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
}

/// A notification handed to the system's notification service.
#[derive(Debug, Clone, Serialize)]
pub struct SentNotice {
    #[serde(flatten)]
    pub notice: Notice,
    /// The engine event's sequence number it came from.
    pub seq: Option<u64>,
    /// Whether the notification service took it (else why not).
    pub delivered: Result<(), String>,
}

/// How many sent notices the record keeps (the oldest go first).
const KEEP: usize = 200;

/// Turns events into notices and records what was sent.
#[derive(Debug, Default)]
pub struct Notifier {
    /// A `gateway.lost` was seen since the last `gateway.ready`: the next
    /// ready is news ("back"); the first connection is not.
    lost: Mutex<bool>,
    sent: Mutex<Vec<SentNotice>>,
}

fn text(data: &Value, key: &str) -> String {
    match data.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "?".to_owned(),
        Some(other) => other.to_string(),
    }
}

impl Notifier {
    /// The notice an event raises, if any.
    pub fn notice_for(&self, event: &Value) -> Option<Notice> {
        let kind = event.get("kind")?.as_str()?;
        let data = event.get("data").unwrap_or(&Value::Null);
        let notice = |kind, title: String, body: String| Some(Notice { kind, title, body });
        match kind {
            "gateway.lost" => {
                *self.lost.lock().expect("notifier lock") = true;
                notice(
                    NoticeKind::GatewayLost,
                    "Gateway lost".into(),
                    format!("{}: {}", text(data, "address"), text(data, "reason")),
                )
            }
            "gateway.ready" => {
                let was_lost = std::mem::take(&mut *self.lost.lock().expect("notifier lock"));
                let reconnect = data.get("connects").and_then(Value::as_u64).unwrap_or(1) > 1;
                if !(was_lost || reconnect) {
                    return None;
                }
                notice(
                    NoticeKind::GatewayBack,
                    "Gateway back".into(),
                    format!("{} answers again", text(data, "address")),
                )
            }
            "order.filled" => notice(
                NoticeKind::OrderFilled,
                format!("Order filled: {}", text(data, "symbol")),
                format!(
                    "{} {} @ {} ({} of {} filled), {}",
                    text(data, "purpose"),
                    text(data, "quantity"),
                    text(data, "price"),
                    text(data, "filled"),
                    text(data, "ordered"),
                    text(data, "order_ref"),
                ),
            ),
            "trade.closed" => notice(
                NoticeKind::PositionClosed,
                format!("Position closed: {}", text(data, "symbol")),
                format!(
                    "P&L {} ({} R) after {} commissions, {}",
                    text(data, "realised"),
                    data.get("r_multiple")
                        .and_then(Value::as_f64)
                        .map_or_else(|| "?".to_owned(), |r| format!("{r:.2}")),
                    text(data, "commissions"),
                    text(data, "reason"),
                ),
            ),
            "decision.refused" => {
                let refusal = data.get("refusal")?;
                if refusal.get("rule")?.as_str()? != "daily_loss" {
                    return None;
                }
                notice(
                    NoticeKind::DailyLossRefusal,
                    format!("Entry refused: {}", text(data, "symbol")),
                    format!(
                        "daily loss {} reached the limit {}",
                        text(refusal, "loss"),
                        text(refusal, "limit")
                    ),
                )
            }
            "control.kill_switch" => {
                if data.get("engaged").and_then(Value::as_bool) != Some(true) {
                    return None;
                }
                let cancelled = data
                    .get("cancelled")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                notice(
                    NoticeKind::KillSwitchEngaged,
                    "Kill switch engaged".into(),
                    format!(
                        "by {}; {cancelled} working orders cancelled",
                        text(data, "who")
                    ),
                )
            }
            "config.applied" | "config.rolled_back" | "config.reloaded" => {
                let changes = data
                    .get("changes")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
                let how = match kind {
                    "config.applied" => format!("applied by {}", text(data, "who")),
                    "config.rolled_back" => format!("rolled back by {}", text(data, "who")),
                    _ => "reloaded from the file".to_owned(),
                };
                notice(
                    NoticeKind::ApplyDone,
                    "Config applied".into(),
                    format!(
                        "version {} {how}, {changes} keys changed",
                        text(data, "version")
                    ),
                )
            }
            "config.apply_refused" => notice(
                NoticeKind::ApplyRefused,
                "Config refused".into(),
                format!(
                    "{} by {} refused: {}",
                    text(data, "action"),
                    text(data, "who"),
                    text(data, "message")
                ),
            ),
            "config.reload_failed" => notice(
                NoticeKind::ApplyRefused,
                "Config refused".into(),
                text(data, "message"),
            ),
            _ => None,
        }
    }

    /// Records a notice as sent (or not delivered).
    pub fn record(&self, notice: Notice, seq: Option<u64>, delivered: Result<(), String>) {
        let mut sent = self.sent.lock().expect("notifier lock");
        if sent.len() == KEEP {
            sent.remove(0);
        }
        sent.push(SentNotice {
            notice,
            seq,
            delivered,
        });
    }

    /// The notices sent so far, oldest first.
    pub fn sent(&self) -> Vec<SentNotice> {
        self.sent.lock().expect("notifier lock").clone()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(kind: &str, data: Value) -> Value {
        json!({"seq": 7, "at": "2026-11-23T15:00:00Z", "message": "m", "kind": kind, "data": data})
    }

    #[test]
    fn fills_and_closed_trades_are_news() {
        let n = Notifier::default();
        let fill = n
            .notice_for(&event(
                "order.filled",
                json!({"symbol": "SPY", "order_ref": "e-1", "purpose": "entry", "quantity": "2",
                       "price": "1.25", "filled": "2", "ordered": 2}),
            ))
            .unwrap();
        assert_eq!(fill.kind, NoticeKind::OrderFilled);
        assert_eq!(fill.title, "Order filled: SPY");
        assert!(fill.body.contains("@ 1.25"), "{}", fill.body);
        let closed = n
            .notice_for(&event(
                "trade.closed",
                json!({"order_ref": "e-1", "symbol": "SPY", "reason": "profit_target",
                       "realised": "-41.30", "risk": "100", "r_multiple": -0.413, "commissions": "2.60"}),
            ))
            .unwrap();
        assert_eq!(closed.kind, NoticeKind::PositionClosed);
        assert!(
            closed.body.starts_with("P&L -41.30 (-0.41 R)"),
            "{}",
            closed.body
        );
    }

    #[test]
    fn the_first_connection_is_not_news_a_reconnection_is() {
        let n = Notifier::default();
        let ready = |connects| {
            event(
                "gateway.ready",
                json!({"address": "a:1", "connects": connects}),
            )
        };
        assert_eq!(n.notice_for(&ready(1)), None);
        let lost = n
            .notice_for(&event(
                "gateway.lost",
                json!({"address": "a:1", "reason": "eof"}),
            ))
            .unwrap();
        assert_eq!(lost.kind, NoticeKind::GatewayLost);
        assert_eq!(
            n.notice_for(&ready(2)).unwrap().kind,
            NoticeKind::GatewayBack
        );
    }

    #[test]
    fn only_the_daily_loss_refusal_and_an_engaged_kill_switch_are_news() {
        let n = Notifier::default();
        let refused = |rule| {
            event(
                "decision.refused",
                json!({"symbol": "QQQ", "refusal": {"rule": rule, "loss": "510", "limit": "500"}}),
            )
        };
        assert_eq!(n.notice_for(&refused("max_positions")), None);
        let daily = n.notice_for(&refused("daily_loss")).unwrap();
        assert_eq!(daily.kind, NoticeKind::DailyLossRefusal);
        assert!(daily.body.contains("510") && daily.body.contains("500"));
        let kill = |engaged| {
            event(
                "control.kill_switch",
                json!({"who": "admin", "engaged": engaged, "cancelled": ["e-1", "e-2"]}),
            )
        };
        assert_eq!(n.notice_for(&kill(false)), None);
        assert!(
            n.notice_for(&kill(true))
                .unwrap()
                .body
                .contains("2 working orders")
        );
    }

    #[test]
    fn applies_done_and_refused() {
        let n = Notifier::default();
        let done = n
            .notice_for(&event(
                "config.applied",
                json!({"who": "admin", "changes": [{}, {}], "version": "v9"}),
            ))
            .unwrap();
        assert_eq!(done.kind, NoticeKind::ApplyDone);
        assert!(done.body.contains("v9") && done.body.contains("2 keys"));
        let refused = n
            .notice_for(&event(
                "config.reload_failed",
                json!({"message": "bad key"}),
            ))
            .unwrap();
        assert_eq!(refused.kind, NoticeKind::ApplyRefused);
        let apply_refused = n
            .notice_for(&event(
                "config.apply_refused",
                json!({"who": "admin:ui@127.0.0.1", "action": "apply", "reason": "invalid",
                       "message": "risk.max_positions = 0: must be at least 1", "errors": []}),
            ))
            .unwrap();
        assert_eq!(apply_refused.kind, NoticeKind::ApplyRefused);
        assert!(
            apply_refused.body.contains("admin:ui@127.0.0.1")
                && apply_refused.body.contains("risk.max_positions"),
            "{apply_refused:?}"
        );
        assert_eq!(n.notice_for(&event("scan.completed", json!({}))), None);
        assert_eq!(n.notice_for(&json!("not an event")), None);
    }

    #[test]
    fn the_record_keeps_the_newest() {
        let n = Notifier::default();
        let notice = Notice {
            kind: NoticeKind::ApplyDone,
            title: "t".into(),
            body: "b".into(),
        };
        for seq in 0..(KEEP as u64 + 5) {
            n.record(notice.clone(), Some(seq), Ok(()));
        }
        let sent = n.sent();
        assert_eq!(sent.len(), KEEP);
        assert_eq!(sent[0].seq, Some(5));
    }
}
