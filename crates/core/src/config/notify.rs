//! `[notify]`: the messages vspread sends by itself (fills, closed trades,
//! the daily-loss halt, the gateway lost and back, the kill switch,
//! config applies) to webhooks: a generic JSON one, Slack, Discord, ntfy
//! and Telegram. The section is live: a change takes effect with the next
//! message.
//!
//! No secret is stored in `config.toml`: a target names the environment
//! variable or the file its secret (the webhook URL, or Telegram's bot
//! token) is read from. That the secret is there is checked by the engine
//! when a config is loaded, reloaded or applied (it needs the process's
//! environment); the rules here are the ones the file alone can break.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{ConfigError, ConfigErrorKind};
use super::model::Config;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Webhook targets, each with the events it hears. The URL or token is
    /// never written here: each target names the environment variable or
    /// file it is read from (secret_env or secret_file). Example:
    /// [[notify.targets]]
    /// name = "ops-slack"
    /// format = "slack"
    /// secret_env = "VSPREAD_SLACK_WEBHOOK"
    /// events = ["fills", "exits", "refusals", "gateway", "kill_switch"]
    #[schemars(length(max = 16))]
    pub targets: Vec<NotifyTarget>,
    /// Messages waiting per target; when a target's queue is full a new
    /// message for it is dropped (and counted), so delivery never holds up
    /// the engine.
    #[schemars(range(min = 1, max = 10000), extend("x-unit" = "messages"))]
    pub queue_capacity: i64,
    /// Tries per message, the first included, before it is given up (a
    /// server error, a timeout or a refused connection is tried again; any
    /// other answer is final).
    #[schemars(range(min = 1, max = 20))]
    pub max_attempts: i64,
    /// Wait before the first retry; each next one waits twice as long (up
    /// to retry_max_s), less a random part of up to half, so targets that
    /// failed together do not retry together.
    #[schemars(range(min = 0.01, max = 600.0), extend("x-unit" = "s"))]
    pub retry_initial_s: f64,
    /// Longest wait between two tries.
    #[schemars(range(min = 0.01, max = 3600.0), extend("x-unit" = "s"))]
    pub retry_max_s: f64,
    /// One try's time limit, from connecting to the answer.
    #[schemars(range(min = 0.1, max = 120.0), extend("x-unit" = "s"))]
    pub timeout_s: f64,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            queue_capacity: 256,
            max_attempts: 6,
            retry_initial_s: 1.0,
            retry_max_s: 60.0,
            timeout_s: 10.0,
        }
    }
}

/// The body a target's service accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyFormat {
    /// `{"source", "kind", "at", "title", "text", "data"}`, for any
    /// receiver of your own.
    Json,
    /// A Slack incoming webhook (`{"text": ...}`).
    Slack,
    /// A Discord webhook (`{"content": ...}`).
    Discord,
    /// An ntfy topic URL (the text as the body, Title, Priority and Tags
    /// headers).
    Ntfy,
    /// The Telegram Bot API's sendMessage, to chat_id; the secret is the
    /// bot token.
    Telegram,
}

/// What a target hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// Every fill of an entry or exit order.
    Fills,
    /// A spread closed, with its P&L and R.
    Exits,
    /// The daily-loss halt (once a New York day) and an IV circuit breaker
    /// tripping.
    Refusals,
    /// The gateway link lost, and back.
    Gateway,
    /// The kill switch engaged or released.
    KillSwitch,
    /// Config applies, rollbacks and file reloads, and refused reloads.
    Applies,
}

impl NotifyEvent {
    pub const ALL: [NotifyEvent; 6] = [
        NotifyEvent::Fills,
        NotifyEvent::Exits,
        NotifyEvent::Refusals,
        NotifyEvent::Gateway,
        NotifyEvent::KillSwitch,
        NotifyEvent::Applies,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NotifyEvent::Fills => "fills",
            NotifyEvent::Exits => "exits",
            NotifyEvent::Refusals => "refusals",
            NotifyEvent::Gateway => "gateway",
            NotifyEvent::KillSwitch => "kill_switch",
            NotifyEvent::Applies => "applies",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyTarget {
    /// The target's name in logs and metrics (the `target` label); unique.
    #[schemars(length(min = 1, max = 40), regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"))]
    pub name: String,
    /// The body shape its service accepts.
    pub format: NotifyFormat,
    /// Environment variable holding the secret: the webhook URL (json,
    /// slack, discord, ntfy) or the bot token (telegram). Set this or
    /// secret_file.
    #[schemars(length(max = 128), regex(pattern = r"^([A-Za-z_][A-Za-z0-9_]*)?$"))]
    pub secret_env: String,
    /// File whose first line is the secret (a mounted secret); relative
    /// paths are relative to the config file. Set this or secret_env.
    #[schemars(length(max = 4096))]
    pub secret_file: String,
    /// Telegram only: the chat to send to (its id, or @channel).
    #[schemars(length(max = 64))]
    pub chat_id: String,
    /// Telegram only: the Bot API's address (another for a local Bot API
    /// server).
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^https?://[^\s]+$"))]
    pub telegram_api: String,
    /// The events it hears.
    #[schemars(extend("uniqueItems" = true))]
    pub events: Vec<NotifyEvent>,
}

impl Default for NotifyTarget {
    fn default() -> Self {
        Self {
            name: String::new(),
            format: NotifyFormat::Json,
            secret_env: String::new(),
            secret_file: String::new(),
            chat_id: String::new(),
            telegram_api: "https://api.telegram.org".into(),
            events: NotifyEvent::ALL.to_vec(),
        }
    }
}

/// The `[notify]` rules the file alone can break: each target named, and
/// uniquely; one place for its secret; a chat for Telegram. Reported on
/// the target's key, with `notify.targets` as the other key.
pub(crate) fn check_rules(config: &Config) -> Vec<(ConfigError, &'static str)> {
    let mut out = Vec::new();
    let mut broken = |path: String, value: String, message: String| {
        out.push((
            ConfigError {
                path,
                kind: ConfigErrorKind::Rule,
                value: Some(value),
                message,
                allowed: None,
                location: None,
            },
            "notify.targets",
        ));
    };
    let targets = &config.notify.targets;
    for (i, t) in targets.iter().enumerate() {
        let at = |key: &str| format!("notify.targets[{i}].{key}");
        if t.name.is_empty() {
            broken(
                at("name"),
                "\"\"".into(),
                "every target needs a name (the `target` label of its metrics)".into(),
            );
        } else if targets[..i].iter().any(|o| o.name == t.name) {
            broken(
                at("name"),
                format!("\"{}\"", t.name),
                "another target has this name; names must be unique".into(),
            );
        }
        match (t.secret_env.is_empty(), t.secret_file.is_empty()) {
            (true, true) => broken(
                at("secret_env"),
                "\"\"".into(),
                "set secret_env or secret_file: where the webhook URL (or Telegram's bot token) is read from; it is never written in config.toml".into(),
            ),
            (false, false) => broken(
                at("secret_file"),
                format!("\"{}\"", t.secret_file),
                "set secret_env or secret_file, not both".into(),
            ),
            _ => {}
        }
        if t.format == NotifyFormat::Telegram && t.chat_id.trim().is_empty() {
            broken(
                at("chat_id"),
                "\"\"".into(),
                "a telegram target needs the chat to send to".into(),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ApplyClass, apply_class, default_file_text};

    #[test]
    fn a_target_reads_with_its_defaults_and_the_section_is_live() {
        let config = Config::from_toml_str(
            "[[notify.targets]]\nname = \"ops\"\nformat = \"slack\"\nsecret_env = \"SLACK_URL\"\n",
        )
        .unwrap();
        let t = &config.notify.targets[0];
        assert_eq!(t.format, NotifyFormat::Slack);
        assert_eq!(t.events, NotifyEvent::ALL);
        assert_eq!(config.notify.max_attempts, 6);
        assert_eq!(
            apply_class("notify.targets[0].secret_env"),
            ApplyClass::Live
        );
        assert_eq!(apply_class("notify.queue_capacity"), ApplyClass::Live);
        let text = default_file_text();
        assert!(text.contains("\n[notify]\n"), "{text}");
        assert!(
            text.contains("# Allowed: a list of tables.\ntargets = []\n"),
            "{text}"
        );
        assert_eq!(Config::from_toml_str(&text).unwrap(), Config::default());
    }

    #[test]
    fn every_bad_key_of_a_target_is_named_with_its_line() {
        let text = "\
[notify]
max_attempts = 0

[[notify.targets]]
name = \"ops\"
format = \"pager\"
events = [\"fills\", \"fills\"]

[[notify.targets]]
name = \"Ops Room\"
secret_env = \"1BAD\"
";
        let errors = Config::from_toml_str(text).unwrap_err().errors;
        let got: Vec<(&str, Option<usize>)> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.location.map(|l| l.line)))
            .collect();
        assert_eq!(
            got,
            [
                ("notify.max_attempts", Some(2)),
                ("notify.targets[0].format", Some(6)),
                ("notify.targets[0].events[1]", Some(7)),
                ("notify.targets[1].name", Some(10)),
                ("notify.targets[1].secret_env", Some(11)),
            ]
        );
    }

    #[test]
    fn names_unique_one_secret_each_and_a_chat_for_telegram() {
        let text = "\
[[notify.targets]]
name = \"a\"
secret_env = \"A\"

[[notify.targets]]
name = \"a\"
secret_file = \"a.url\"

[[notify.targets]]
format = \"discord\"

[[notify.targets]]
name = \"tg\"
format = \"telegram\"
secret_env = \"TOKEN\"
secret_file = \"/run/secrets/token\"
";
        let errors = Config::from_toml_str(text).unwrap_err().errors;
        let got: Vec<(&str, Option<usize>)> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.location.map(|l| l.line)))
            .collect();
        assert_eq!(
            got,
            [
                ("notify.targets[1].name", Some(6)),
                ("notify.targets[3].secret_file", Some(16)),
                ("notify.targets[2].name", None),
                ("notify.targets[2].secret_env", None),
                ("notify.targets[3].chat_id", None),
            ],
            "{errors:?}"
        );
        assert!(errors[3].message.contains("never written in config.toml"));
    }
}
