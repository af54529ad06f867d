//! How each key takes effect in a running engine, as its schema says
//! (`x-apply`): the next decision cycle's snapshot (`live`, the default), a
//! reconnect of the broker to the gateway that the apply performs
//! (`reconnect`), or only after a restart (`restart`). The apply's answer,
//! the UI's diff and `vspread config diff` name the class of each key
//! changed, so nothing is reported applied that is not.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value as Json;

use super::schema::config_schema;

/// How a key's new value takes effect in a running engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplyClass {
    /// From the next decision cycle's snapshot; working orders keep the
    /// values they were issued with.
    Live,
    /// The broker reconnects to the gateway with it, as part of the apply.
    Reconnect,
    /// Read at start: saved now, in force after a restart.
    Restart,
}

impl ApplyClass {
    pub fn name(self) -> &'static str {
        match self {
            ApplyClass::Live => "live",
            ApplyClass::Reconnect => "reconnect",
            ApplyClass::Restart => "restart",
        }
    }
}

/// The class of the key at dotted `path` (a section's keys, or a list
/// element's `path[i]`, take the key's class).
pub fn apply_class(path: &str) -> ApplyClass {
    let key = path.split('[').next().unwrap_or(path);
    let mut node = config_schema();
    for part in key.split('.') {
        let Some(next) = node
            .get("properties")
            .and_then(|p| p.get(part))
            .or_else(|| resolve(node).and_then(|n| n.get("properties")?.get(part)))
        else {
            return ApplyClass::Live;
        };
        node = next;
    }
    match node.get("x-apply").and_then(Json::as_str) {
        Some("reconnect") => ApplyClass::Reconnect,
        Some("restart") => ApplyClass::Restart,
        _ => ApplyClass::Live,
    }
}

/// The schema a `$ref` node points to, within the config schema.
fn resolve(node: &Json) -> Option<&'static Json> {
    let reference = node.get("$ref")?.as_str()?;
    let name = reference.rsplit('/').next()?;
    config_schema().get("$defs")?.get(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_says_how_it_takes_effect() {
        assert_eq!(apply_class("exits.stop_loss_atr_mult"), ApplyClass::Live);
        assert_eq!(apply_class("execution.max_slippage_pct"), ApplyClass::Live);
        assert_eq!(apply_class("pacing.max_messages_per_sec"), ApplyClass::Live);
        assert_eq!(apply_class("logging.level"), ApplyClass::Live);
        assert_eq!(apply_class("ibkr.host"), ApplyClass::Reconnect);
        assert_eq!(apply_class("ibkr.port"), ApplyClass::Reconnect);
        assert_eq!(apply_class("ibkr.client_id"), ApplyClass::Reconnect);
        assert_eq!(apply_class("server.listen"), ApplyClass::Restart);
        assert_eq!(apply_class("storage.data_dir"), ApplyClass::Restart);
        assert_eq!(apply_class("trading.mode"), ApplyClass::Restart);
        assert_eq!(apply_class("trading.universe[2]"), ApplyClass::Live);
        assert_eq!(apply_class("no.such.key"), ApplyClass::Live);
    }
}
