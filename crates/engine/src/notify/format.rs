//! A [`Message`] shaped as each service's incoming webhook (or Telegram's
//! sendMessage) accepts it: the URL to post to, the headers and the body.
//! Pure functions, so every shape is tested without a network.

use serde_json::json;
use vspread_core::config::NotifyFormat;

use super::message::{Message, Severity};

/// One HTTP POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub url: String,
    pub content_type: &'static str,
    /// Besides the content type.
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// Where a target sends and what it needs beside the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub format: NotifyFormat,
    /// The secret: the webhook URL, or Telegram's bot token.
    pub secret: String,
    /// Telegram: the chat.
    pub chat_id: String,
    /// Telegram: the Bot API's address.
    pub telegram_api: String,
}

/// Discord refuses a `content` over 2,000 characters; Telegram a text over
/// 4,096; Slack cuts a text past 40,000.
const DISCORD_MAX: usize = 2000;
const TELEGRAM_MAX: usize = 4096;

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack's mrkdwn reads `&`, `<` and `>` as markup.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// HTTP header values are ASCII without control characters.
fn header_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The POST that delivers `message` to `to`.
pub fn post(to: &Destination, message: &Message) -> Post {
    let json_post = |url: String, body: serde_json::Value| Post {
        url,
        content_type: "application/json",
        headers: Vec::new(),
        body: body.to_string(),
    };
    match to.format {
        NotifyFormat::Json => json_post(
            to.secret.clone(),
            json!({
                "source": "vspread",
                "kind": message.kind,
                "topic": message.topic.name(),
                "severity": message.severity.name(),
                "at": message.at.to_rfc3339(),
                "title": message.title,
                "text": message.text,
                "data": message.data,
            }),
        ),
        NotifyFormat::Slack => json_post(
            to.secret.clone(),
            json!({
                "text": format!(
                    "*{}*\n{}",
                    slack_escape(&message.title),
                    slack_escape(&message.text)
                ),
            }),
        ),
        NotifyFormat::Discord => json_post(
            to.secret.clone(),
            json!({
                "content": cut(&format!("**{}**\n{}", message.title, message.text), DISCORD_MAX),
                // A symbol or a reason never pings anyone.
                "allowed_mentions": { "parse": [] },
            }),
        ),
        NotifyFormat::Ntfy => Post {
            url: to.secret.clone(),
            content_type: "text/plain; charset=utf-8",
            headers: vec![
                ("Title", header_value(&message.title)),
                (
                    "Priority",
                    match message.severity {
                        Severity::Info => "default",
                        Severity::Warning => "high",
                        Severity::Critical => "urgent",
                    }
                    .to_string(),
                ),
                (
                    "Tags",
                    format!("vspread,{}", message.topic.name().replace('_', "-")),
                ),
            ],
            body: message.text.clone(),
        },
        NotifyFormat::Telegram => json_post(
            format!(
                "{}/bot{}/sendMessage",
                to.telegram_api.trim_end_matches('/'),
                to.secret
            ),
            json!({
                "chat_id": to.chat_id,
                "text": cut(&format!("{}\n{}", message.title, message.text), TELEGRAM_MAX),
                "disable_web_page_preview": true,
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use serde_json::Value;
    use vspread_core::config::NotifyEvent;

    fn message() -> Message {
        Message {
            topic: NotifyEvent::KillSwitch,
            kind: "control.kill_switch",
            severity: Severity::Critical,
            at: chrono::Utc
                .with_ymd_and_hms(2026, 11, 23, 15, 0, 0)
                .unwrap(),
            title: "Kill switch engaged by <ops> & co".into(),
            text: "kill switch engaged by ops; cancelling vs-1".into(),
            data: json!({ "who": "ops", "engaged": true, "cancelled": ["vs-1"] }),
        }
    }

    fn to(format: NotifyFormat) -> Destination {
        Destination {
            format,
            secret: "https://hooks.example/T0/B0/XYZ".into(),
            chat_id: "-100123".into(),
            telegram_api: "https://api.telegram.org/".into(),
        }
    }

    fn body(p: &Post) -> Value {
        serde_json::from_str(&p.body).unwrap()
    }

    #[test]
    fn json_carries_everything_with_the_events_data() {
        let p = post(&to(NotifyFormat::Json), &message());
        assert_eq!(p.url, "https://hooks.example/T0/B0/XYZ");
        assert_eq!(p.content_type, "application/json");
        assert_eq!(
            body(&p),
            json!({
                "source": "vspread",
                "kind": "control.kill_switch",
                "topic": "kill_switch",
                "severity": "critical",
                "at": "2026-11-23T15:00:00+00:00",
                "title": "Kill switch engaged by <ops> & co",
                "text": "kill switch engaged by ops; cancelling vs-1",
                "data": { "who": "ops", "engaged": true, "cancelled": ["vs-1"] },
            })
        );
    }

    #[test]
    fn slack_is_one_text_with_its_markup_escaped() {
        let p = post(&to(NotifyFormat::Slack), &message());
        assert_eq!(
            body(&p),
            json!({ "text": "*Kill switch engaged by &lt;ops&gt; &amp; co*\nkill switch engaged by ops; cancelling vs-1" })
        );
    }

    #[test]
    fn discord_is_content_that_pings_nobody_and_fits_its_limit() {
        let p = post(&to(NotifyFormat::Discord), &message());
        let b = body(&p);
        assert_eq!(
            b["content"],
            "**Kill switch engaged by <ops> & co**\nkill switch engaged by ops; cancelling vs-1"
        );
        assert_eq!(b["allowed_mentions"], json!({ "parse": [] }));
        let mut long = message();
        long.text = "x".repeat(5000);
        let b = body(&post(&to(NotifyFormat::Discord), &long));
        assert_eq!(b["content"].as_str().unwrap().chars().count(), 2000);
    }

    #[test]
    fn ntfy_is_the_text_with_title_priority_and_tags_headers() {
        let mut m = message();
        m.title = "Kill switch – engaged".into();
        let p = post(&to(NotifyFormat::Ntfy), &m);
        assert_eq!(p.url, "https://hooks.example/T0/B0/XYZ");
        assert_eq!(p.content_type, "text/plain; charset=utf-8");
        assert_eq!(p.body, "kill switch engaged by ops; cancelling vs-1");
        assert_eq!(
            p.headers,
            vec![
                ("Title", "Kill switch ? engaged".to_string()),
                ("Priority", "urgent".to_string()),
                ("Tags", "vspread,kill-switch".to_string()),
            ]
        );
    }

    #[test]
    fn telegram_sends_to_the_bots_send_message_with_the_chat() {
        let mut t = to(NotifyFormat::Telegram);
        t.secret = "123456:ABC-DEF".into();
        let p = post(&t, &message());
        assert_eq!(
            p.url,
            "https://api.telegram.org/bot123456:ABC-DEF/sendMessage"
        );
        assert_eq!(
            body(&p),
            json!({
                "chat_id": "-100123",
                "text": "Kill switch engaged by <ops> & co\nkill switch engaged by ops; cancelling vs-1",
                "disable_web_page_preview": true,
            })
        );
    }
}
