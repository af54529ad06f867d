//! The engine's state as the tray shows it, read from the admin API's
//! `GET /status` body that the window polls and forwards: one of a few
//! states, the most urgent first (a kill switch outranks a dropped
//! gateway, which outranks a pause).

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineState {
    /// No engine yet (first-run screen, or starting).
    Starting,
    Running,
    Paused,
    KillSwitch,
    GatewayDown,
    /// The admin API does not answer.
    Unreachable,
}

impl EngineState {
    /// The state a `GET /status` body says; `Unreachable` for a body that
    /// is not one.
    pub fn from_status(status: &Value) -> Self {
        let engine = status.get("engine");
        let kill = engine
            .and_then(|e| e.get("kill_switch"))
            .and_then(Value::as_bool);
        let paused = engine
            .and_then(|e| e.get("state"))
            .and_then(Value::as_str)
            .map(|s| s == "paused");
        let connected = status
            .get("gateway")
            .and_then(|g| g.get("connected"))
            .and_then(Value::as_bool);
        match (kill, connected, paused) {
            (Some(true), _, _) => Self::KillSwitch,
            (Some(false), Some(false), _) => Self::GatewayDown,
            (Some(false), Some(true), Some(true)) => Self::Paused,
            (Some(false), Some(true), Some(false)) => Self::Running,
            _ => Self::Unreachable,
        }
    }

    /// Words for the tray's tooltip and its first menu line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::KillSwitch => "kill switch engaged",
            Self::GatewayDown => "gateway down",
            Self::Unreachable => "engine not answering",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn status(state: &str, kill: bool, connected: bool) -> Value {
        json!({"engine": {"state": state, "kill_switch": kill}, "gateway": {"connected": connected}})
    }

    #[test]
    fn the_most_urgent_state_wins() {
        assert_eq!(
            EngineState::from_status(&status("running", false, true)),
            EngineState::Running
        );
        assert_eq!(
            EngineState::from_status(&status("paused", false, true)),
            EngineState::Paused
        );
        assert_eq!(
            EngineState::from_status(&status("paused", false, false)),
            EngineState::GatewayDown
        );
        assert_eq!(
            EngineState::from_status(&status("paused", true, false)),
            EngineState::KillSwitch
        );
        assert_eq!(
            EngineState::from_status(&json!({"error": "x"})),
            EngineState::Unreachable
        );
    }
}
